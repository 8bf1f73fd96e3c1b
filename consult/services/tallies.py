"""From stored ballots to the tally engine's input, and its menu back."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, select

import consult.tally as engine
from consult.models import Ballot, BallotItem, Building, Compound, Household, Survey, Unit
from consult.services.places import household_count
from consult.services.surveys import offered_items

BALLOTS_FORMAT = "consult.ballots/1"


def ballots_document(session: Session, compound: Compound, survey: Survey) -> dict[str, Any]:
    """Return the survey's current ballots as a consult.ballots/1 document."""
    items = offered_items(session, survey)
    rows = session.exec(
        select(Ballot, Household.label, Building.number)
        .join(Household, Household.id == Ballot.household_id)
        .join(Unit, Unit.id == Household.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .where(Ballot.survey_id == survey.id, Ballot.is_current)
        .order_by(Household.label)
    ).all()
    ballot_ids = [ballot.id for ballot, _, _ in rows]
    approved: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    if ballot_ids:
        for ballot_item in session.exec(
            select(BallotItem).where(BallotItem.ballot_id.in_(ballot_ids))  # type: ignore[union-attr]
        ).all():
            approved[ballot_item.ballot_id].append((ballot_item.item_id, ballot_item.rank))
    ballots = []
    for ballot, label, building in rows:
        chosen = approved[ballot.id]  # type: ignore[index]
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
    }


def compound_menu(
    session: Session,
    compound: Compound,
    survey: Survey,
    *,
    method: str = "approval",
    verified_only: bool = False,
) -> dict[str, Any]:
    """Tally the survey's current ballots into the compound's ranked menu."""
    document = ballots_document(session, compound, survey)
    return engine.tally(document, method=method, verified_only=verified_only)
