"""From stored ballots to the tally engine's input, and its menu back."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, select

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
from consult.models._base import row_id
from consult.services.meetings import meetings_input
from consult.services.places import household_count
from consult.services.surveys import offered_items

BALLOTS_FORMAT = "consult.ballots/1"
#: The ranking methods the engine offers.
METHODS = ("approval", "borda", "schulze")


def ballots_document(session: Session, compound: Compound, survey: Survey) -> dict[str, Any]:
    """Return the survey's current ballots as a consult.ballots/1 document."""
    items = offered_items(session, survey)
    rows = session.exec(
        select(Ballot, Household.label, Building.number)
        .join(Household, col(Household.id) == Ballot.household_id)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .where(Ballot.survey_id == survey.id, Ballot.is_current)
        .order_by(col(Household.label))
    ).all()
    approved: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for ballot_id, item_id, rank in session.exec(
        select(BallotItem.ballot_id, BallotItem.item_id, BallotItem.rank)
        .join(Ballot, col(Ballot.id) == BallotItem.ballot_id)
        .where(Ballot.survey_id == survey.id, Ballot.is_current)
    ).all():
        approved[ballot_id].append((item_id, rank))
    offered = {item.id for item in items}
    ballots = []
    for ballot, label, building in rows:
        # An item the survey no longer offers is not counted (the ballot keeps it as history).
        chosen = [(item, rank) for item, rank in approved[row_id(ballot.id)] if item in offered]
        ranked = sorted((rank, item) for item, rank in chosen if rank is not None)
        ballots.append(
            {
                "household": label,
                "building": building,
                "approve": sorted(item for item, _ in chosen),
                "rank": [item for _, item in ranked],
                "elderly": ballot.elderly,
                "children": ballot.children,
                "channel": str(ballot.channel),
                "verified": ballot.verified,
            }
        )
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
