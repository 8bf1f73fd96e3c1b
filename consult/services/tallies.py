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
from sqlalchemy.sql.visitors import InternalTraversal
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
    #: The current ballots as one JSON text, by household label: [[elderly, children,
    #: channel, verified, label, building, choices], ...], a ballot's choices its stored
    #: approvals as [[item, rank or null], ...] in no set order (or null: none). One
    #: text, made by the database: a large compound's reading is cheap to fetch, key
    #: and compare, and parsed only when a document is made of it.
    ballots: str
    #: The meetings' counted hands: (id, date, ((item, for, against, abstain), ...)).
    meetings: Meetings


class json_pairs(FunctionElement[Any]):  # noqa: N801 (an SQL function's name)
    """Aggregate (item, rank) pairs into a JSON array of [item, rank] arrays."""

    name = "json_pairs"
    inherit_cache = True


@compiles(json_pairs)
def _json_pairs(element: json_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    item, rank = (compiler.process(clause, **kw) for clause in element.clauses)
    # In one order, so that the same approvals always read as the same text (the key
    # of the kept menu section).
    return f"json_agg(json_build_array({item}, {rank}) ORDER BY {item})"


@compiles(json_pairs, "sqlite")
def _json_pairs_sqlite(element: json_pairs, compiler: SQLCompiler, **kw: Any) -> str:
    item, rank = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"json_group_array(json_array({item}, {rank}))"


class json_rows(FunctionElement[str]):  # noqa: N801 (an SQL function's name)
    """Aggregate rows into the text of a JSON array of arrays, one a row of `values`
    (the last of them JSON: it goes in as a value, not as a string), in the order of
    `order_by` (PostgreSQL; SQLite keeps the order of its input, ordered alike)."""

    type = sa.String()
    name = "json_rows"
    inherit_cache = True
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("width", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, values: Sequence[Any], order_by: Sequence[Any]) -> None:
        self.width = len(values)
        super().__init__(*values, *order_by)


def _json_values(element: json_rows, compiler: SQLCompiler, kw: dict[str, Any]) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(json_rows)
def _json_rows(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    clauses = _json_values(element, compiler, kw)
    values, order = ", ".join(clauses[: element.width]), ", ".join(clauses[element.width :])
    return f"CAST(json_agg(json_build_array({values}) ORDER BY {order}) AS TEXT)"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    *columns, last = _json_values(element, compiler, kw)[: element.width]
    # A subquery's JSON comes out as text: json() makes it a value again.
    values = ", ".join([*columns, f"json({last})"])
    return f"json_group_array(json_array({values}))"


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
#: into one JSON array...
_BALLOT_ROWS = (
    sa.select(
        col(Ballot.elderly),
        col(Ballot.children),
        col(Ballot.channel),
        col(Ballot.verified),
        col(Household.label),
        col(Building.number),
        sa.select(json_pairs(col(BallotItem.item_id), col(BallotItem.rank)))
        .where(col(BallotItem.ballot_id) == Ballot.id)
        .scalar_subquery()
        .label("choices"),
        col(Household.id).label("household"),
    )
    .join(Household, col(Household.id) == Ballot.household_id)
    .join(Unit, col(Unit.id) == Household.unit_id)
    .join(Building, col(Building.id) == Unit.building_id)
    .where(col(Ballot.survey_id) == sa.bindparam("survey"), col(Ballot.is_current))
    # Labels are unique in practice but not by rule (a building named "1-2"): the id
    # settles ties, so that the same ballots always read as the same text.
    .order_by(col(Household.label), col(Household.id))
    .subquery("current_ballot")
)
#: ...and all of them into one JSON text: a large compound's thousands of approvals
#: cost the database little, and Python no row each (see BallotsRead.ballots).
_BALLOTS = sa.select(
    json_rows(
        [column for column in _BALLOT_ROWS.c if column.key != "household"],
        order_by=[_BALLOT_ROWS.c.label, _BALLOT_ROWS.c.household],
    )
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
        # Not IN: an IN list is expanded (the statement rendered again) on every run.
        sa.or_(*(col(Meeting.status) == status for status in COUNTED_MEETINGS)),
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
        # None: no ballots (PostgreSQL's json_agg of no rows).
        ballots=connection.execute(_BALLOTS, {"survey": survey.id}).scalar_one() or "[]",
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


def ballots_document(session: Session, compound: Compound, survey: Survey) -> dict[str, Any]:
    """Return the survey's current ballots as a consult.ballots/1 document."""
    return document_of(read_ballots(session, compound, survey))


def document_of(read: BallotsRead) -> dict[str, Any]:
    """Return the consult.ballots/1 document of a read."""
    offered = {item[0] for item in read.items}
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
            # SQLite's JSON has 0 and 1 for booleans; choices are null for none (PostgreSQL).
            ballot_entry(
                label,
                building,
                choices or (),
                offered,
                bool(elderly),
                bool(children),
                channel,
                bool(verified),
            )
            for elderly, children, channel, verified, label, building, choices in json.loads(
                read.ballots
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
