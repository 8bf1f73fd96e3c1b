"""From stored ballots to the tally engine's input, and its menu back."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

import consult.tally as engine
from consult.models import (
    AgendaItem,
    Ballot,
    BallotItem,
    Building,
    CatalogItem,
    Compound,
    Household,
    Meeting,
    Survey,
    SurveyItem,
    SurveyMode,
    Unit,
)
from consult.services.city_columns import COUNTED_MEETINGS

BALLOTS_FORMAT = "consult.ballots/1"
#: The ranking methods the engine offers.
METHODS = ("approval", "borda", "schulze")


#: Meetings' counted hands: ((code, date, ((item, for, against, abstain), ...)), ...).
Meetings = tuple[tuple[str, str, tuple[tuple[str, int, int, int], ...]], ...]


@dataclass(frozen=True)
class BallotsRead:
    """Everything a survey's ballots document is made of, as read from the database.

    Plain values only, so two reads compare equal exactly when they would give the
    same document: a read is the key of anything derived from the document.
    """

    code: str
    name: str
    budget: int | None
    households: int
    rank_depth: int
    #: The offered items in form order: (id, category, name_zh, name_en, cost).
    items: tuple[tuple[str, str, str, str, int | None], ...]
    #: The current ballots by household label, column by column: (elderly, children,
    #: channels, verified, labels, buildings, choices). A ballot's choices are its stored
    #: approvals as a JSON array of [item, rank or null] pairs, in no set order.
    ballots: tuple[tuple[Any, ...], ...]
    #: The meetings' counted hands: (id, date, ((item, for, against, abstain), ...)).
    meetings: Meetings


class json_pairs(FunctionElement[str]):  # noqa: N801 (an SQL function's name)
    """Aggregate (item, rank) pairs into the text of a JSON array of [item, rank] arrays."""

    type = sa.String()
    name = "json_pairs"
    inherit_cache = True


@compiles(json_pairs)
def _json_pairs(element: json_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    item, rank = (compiler.process(clause, **kw) for clause in element.clauses)
    # In one order, so that the same approvals always read as the same text (the key
    # of the kept menu section).
    return f"CAST(json_agg(json_build_array({item}, {rank}) ORDER BY {item}) AS TEXT)"


@compiles(json_pairs, "sqlite")
def _json_pairs_sqlite(element: json_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    item, rank = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"json_group_array(json_array({item}, {rank}))"


#: The survey's offered items, in form order.
_OFFERED = (
    sa.select(
        col(CatalogItem.id),
        col(CatalogItem.category),
        col(CatalogItem.name_zh),
        col(CatalogItem.name_en),
        col(CatalogItem.cost),
    )
    .join(SurveyItem, col(SurveyItem.item_id) == CatalogItem.id)
    .where(col(SurveyItem.survey_id) == sa.bindparam("survey"))
    .order_by(col(SurveyItem.position))
)
#: The survey's current ballots by household label, one row each, its approvals folded
#: into one JSON text: a large compound's thousands of approvals cost the database
#: little, and Python no row each.
_BALLOTS = (
    sa.select(
        col(Ballot.elderly),
        col(Ballot.children),
        col(Ballot.channel),
        col(Ballot.verified),
        col(Household.label),
        col(Building.number),
        sa.select(json_pairs(col(BallotItem.item_id), col(BallotItem.rank)))
        .where(col(BallotItem.ballot_id) == Ballot.id)
        .scalar_subquery(),
    )
    .join(Household, col(Household.id) == Ballot.household_id)
    .join(Unit, col(Unit.id) == Household.unit_id)
    .join(Building, col(Building.id) == Unit.building_id)
    .where(col(Ballot.survey_id) == sa.bindparam("survey"), col(Ballot.is_current))
    .order_by(col(Household.label))
)
#: The compound's households.
_HOUSEHOLDS = (
    sa.select(func.count())
    .select_from(Household)
    .where(col(Household.compound_id) == sa.bindparam("compound"))
)
#: The compound's counted hands, meeting by meeting in date order, the agenda in order.
_HANDS = (
    sa.select(
        col(Meeting.id),
        col(Meeting.code),
        col(Meeting.starts_at),
        col(AgendaItem.item_id),
        col(AgendaItem.hands_for),
        col(AgendaItem.hands_against),
        col(AgendaItem.hands_abstain),
    )
    .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
    .where(
        col(Meeting.compound_id) == sa.bindparam("compound"),
        col(Meeting.status).in_(COUNTED_MEETINGS),
        col(AgendaItem.hands_for).is_not(None),
    )
    .order_by(col(Meeting.starts_at), col(Meeting.id), col(AgendaItem.position), col(AgendaItem.id))
)


def read_ballots(session: Session, compound: Compound, survey: Survey) -> BallotsRead:
    """Read what the survey's ballots document is made of (columns, not ORM entities)."""
    connection = session.connection()
    offered = connection.execute(_OFFERED, {"survey": survey.id}).all()
    return BallotsRead(
        code=compound.code,
        name=compound.name,
        budget=compound.budget,
        households=int(connection.execute(_HOUSEHOLDS, {"compound": compound.id}).scalar_one()),
        rank_depth=survey.rank_depth,
        items=tuple(
            (item_id, str(category), zh, en, cost) for item_id, category, zh, en, cost in offered
        ),
        ballots=_columns(7, connection.execute(_BALLOTS, {"survey": survey.id}).all()),
        meetings=_meetings(connection, compound, {row[0] for row in offered}),
    )


def _meetings(connection: Connection, compound: Compound, offered: set[str]) -> Meetings:
    """Return the compound's counted hands on offered items, in one query: closed and
    published meetings by date, each one's agenda in order, those with no such hands
    left out."""
    order: list[tuple[Any, str, str]] = []
    votes: dict[Any, list[tuple[str, int, int, int]]] = {}
    for meeting_id, code, starts_at, item_id, hands_for, against, abstain in connection.execute(
        _HANDS, {"compound": compound.id}
    ):
        if meeting_id not in votes:
            order.append((meeting_id, code, starts_at.date().isoformat()))
            votes[meeting_id] = []
        if item_id in offered:
            votes[meeting_id].append((item_id, hands_for or 0, against or 0, abstain or 0))
    return tuple((code, day, tuple(votes[key])) for key, code, day in order if votes[key])


def _columns(width: int, rows: Sequence[Any]) -> tuple[tuple[Any, ...], ...]:
    """Return rows as columns: plain tuples, cheap to keep and to compare."""
    return tuple(zip(*rows, strict=True)) if rows else ((),) * width


def ballots_document(session: Session, compound: Compound, survey: Survey) -> dict[str, Any]:
    """Return the survey's current ballots as a consult.ballots/1 document."""
    return document_of(read_ballots(session, compound, survey))


def document_of(read: BallotsRead) -> dict[str, Any]:
    """Return the consult.ballots/1 document of a read."""
    offered = {item[0] for item in read.items}
    # Every ballot's [item, rank] pairs parsed in one go (None: a ballot without approvals).
    approvals = json.loads("[" + ",".join(pairs or "[]" for pairs in read.ballots[6]) + "]")
    return {
        "format": BALLOTS_FORMAT,
        "compound": {"code": read.code, "name": read.name, "households": read.households},
        "rank_depth": read.rank_depth,
        **({"budget": read.budget} if read.budget is not None else {}),
        "items": [
            {
                "id": item_id,
                "category": category,
                "name_zh": zh,
                "name_en": en,
                **({"cost": cost} if cost is not None else {}),
            }
            for item_id, category, zh, en, cost in read.items
        ],
        "ballots": [
            ballot_entry(label, building, pairs, offered, *flags)
            for *flags, label, building, _choices, pairs in zip(
                *read.ballots, approvals, strict=True
            )
        ],
        "meetings": [
            {
                "id": meeting_id,
                "date": day,
                "votes": [
                    {"item": item, "for": hands_for, "against": against, "abstain": abstain}
                    for item, hands_for, against, abstain in votes
                ],
            }
            for meeting_id, day, votes in read.meetings
        ],
    }


def ballot_entry(
    label: str,
    building: str,
    approvals: Iterable[tuple[str, int | None]],
    offered: Container[str],
    elderly: bool,
    children: bool,
    channel: object,
    verified: bool,
) -> dict[str, Any]:
    """Return one ballot of a `consult.ballots/1` document from its stored approvals.

    An item the survey no longer offers is not counted (the ballot keeps it as history),
    and the ranks close up over it.
    """
    chosen = [pair for pair in approvals if pair[0] in offered]
    ranked = sorted([(rank, item) for item, rank in chosen if rank is not None])
    return {
        "household": label,
        "building": building,
        "approve": sorted([item for item, _ in chosen]),
        "rank": [item for _, item in ranked],
        "elderly": elderly,
        "children": children,
        "channel": str(channel),
        "verified": verified,
    }


def menu_options(survey: Survey, method: str, verified: str) -> tuple[str, bool]:
    """Read a menu page's ranking method (approval if unknown) and verified-only choice.

    A survey answered with household codes always counts verified ballots only.
    """
    return (
        method if method in METHODS else "approval",
        verified == "1" or survey.mode == SurveyMode.CODES,
    )


def compound_menu(
    session: Session,
    compound: Compound,
    survey: Survey,
    *,
    method: str = "approval",
    verified_only: bool | None = None,
) -> dict[str, Any]:
    """Tally the survey's current ballots into the compound's ranked menu.

    A survey answered with household codes only counts verified ballots unless told
    otherwise (answers given by open link before the switch do not count).
    """
    if verified_only is None:
        verified_only = survey.mode == SurveyMode.CODES
    document = ballots_document(session, compound, survey)
    return engine.tally(document, method=method, verified_only=verified_only)
