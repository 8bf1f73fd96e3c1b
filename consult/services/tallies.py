"""From stored ballots to the tally engine's input, and its menu back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

import consult.tally as engine
from consult.models import (
    Ballot,
    BallotItem,
    Building,
    Compound,
    Household,
    Survey,
    SurveyMode,
    Unit,
)
from consult.services.meetings import meetings_input
from consult.services.places import household_count
from consult.services.surveys import offered_items

BALLOTS_FORMAT = "consult.ballots/1"
#: The ranking methods the engine offers.
METHODS = ("approval", "borda", "schulze")


def ballots_document(session: Session, compound: Compound, survey: Survey) -> dict[str, Any]:
    """Return the survey's current ballots as a consult.ballots/1 document."""
    items = offered_items(session, survey)
    # Columns, not ORM entities: a large compound has hundreds of ballots.
    rows = session.execute(
        sa.select(
            col(Ballot.id),
            col(Ballot.elderly),
            col(Ballot.children),
            col(Ballot.channel),
            col(Ballot.verified),
            col(Household.label),
            col(Building.number),
        )
        .join(Household, col(Household.id) == Ballot.household_id)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .where(col(Ballot.survey_id) == survey.id, col(Ballot.is_current))
        .order_by(col(Household.label))
    ).all()
    approved: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for ballot_id, item_id, rank in session.execute(
        sa.select(col(BallotItem.ballot_id), col(BallotItem.item_id), col(BallotItem.rank))
        .join(Ballot, col(Ballot.id) == BallotItem.ballot_id)
        .where(col(Ballot.survey_id) == survey.id, col(Ballot.is_current))
    ).all():
        approved[ballot_id].append((item_id, rank))
    offered = {item.id for item in items}
    ballots = [
        ballot_entry(label, building, approved.get(ballot_id, ()), offered, *flags)
        for ballot_id, *flags, label, building in rows
    ]
    return {
        "format": BALLOTS_FORMAT,
        "compound": {
            "code": compound.code,
            "name": compound.name,
            "households": household_count(session, compound),
        },
        "rank_depth": survey.rank_depth,
        **({"budget": compound.budget} if compound.budget is not None else {}),
        "items": [
            {
                "id": item.id,
                "category": str(item.category),
                "name_zh": item.name_zh,
                "name_en": item.name_en,
                **({"cost": item.cost} if item.cost is not None else {}),
            }
            for item in items
        ],
        "ballots": ballots,
        "meetings": meetings_input(session, compound, offered),
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
