"""Every compound's menu at once: the city's ballots read by a few set-based queries.

`compound_menu` reads one compound with several queries; a city of hundreds of
compounds pays them hundreds of times. Here each table is read once for the whole
city (the current needs survey of every compound, its items, its current ballots
and their approvals, household counts and counted hands), the `consult.ballots/1`
documents are built exactly as `ballots_document` builds them, and the tally
engine counts them together (`tally_many`). The menus equal `compound_menu`'s.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

import consult.tally as engine
from consult.models import (
    Ballot,
    BallotItem,
    Building,
    CatalogItem,
    Compound,
    Household,
    Survey,
    SurveyItem,
    SurveyMode,
    Unit,
)
from consult.models._base import row_id
from consult.services.city_columns import (
    COUNTED_MEETINGS,
    city_arrays,
    city_meetings,
    current_surveys,
    meetings_input,
)
from consult.services.tallies import BALLOTS_FORMAT, ballot_entry
from consult.tally import collector_paused

__all__ = ["COUNTED_MEETINGS", "city_documents", "city_menus", "city_tally", "current_surveys"]


def city_documents(session: Session) -> dict[str, tuple[dict[str, Any], bool]]:
    """Return each compound's ballots document and whether only verified ballots count.

    Keyed by compound code, for the compounds with a current needs survey; each
    document equals `ballots_document` of the compound and its current survey.
    """
    with collector_paused():
        return _city_documents(session)


def _city_documents(session: Session) -> dict[str, tuple[dict[str, Any], bool]]:
    current = current_surveys()
    surveys = session.exec(
        select(Survey, Compound)
        .join(Compound, col(Compound.id) == Survey.compound_id)
        .where(col(Survey.id).in_(current))
    ).all()
    households = dict(
        session.exec(
            select(Household.compound_id, func.count()).group_by(col(Household.compound_id))
        ).all()
    )

    items: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for survey_id, item_id, category, name_zh, name_en, cost in session.execute(
        sa.select(
            col(SurveyItem.survey_id),
            col(CatalogItem.id),
            col(CatalogItem.category),
            col(CatalogItem.name_zh),
            col(CatalogItem.name_en),
            col(CatalogItem.cost),
        )
        .join(CatalogItem, col(CatalogItem.id) == SurveyItem.item_id)
        .where(col(SurveyItem.survey_id).in_(current))
        .order_by(col(SurveyItem.survey_id), col(SurveyItem.position))
    ).all():
        item = {"id": item_id, "category": str(category), "name_zh": name_zh, "name_en": name_en}
        if cost is not None:
            item["cost"] = cost
        items[survey_id].append(item)
    offered = {sid: {item["id"] for item in listed} for sid, listed in items.items()}

    approved: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    connection = session.connection()
    for ballot_id, item_id, rank in connection.execute(
        select(BallotItem.ballot_id, BallotItem.item_id, BallotItem.rank)
        .join(Ballot, col(Ballot.id) == BallotItem.ballot_id)
        .where(col(Ballot.is_current), col(Ballot.survey_id).in_(current))
    ).all():
        approved[ballot_id].append((item_id, rank))

    ballots: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (
        survey_id,
        ballot_id,
        elderly,
        children,
        channel,
        verified,
        label,
        building,
    ) in connection.execute(
        sa.select(
            col(Ballot.survey_id),
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
        .where(col(Ballot.is_current), col(Ballot.survey_id).in_(current))
        .order_by(col(Ballot.survey_id), col(Household.label))
    ).all():
        ballots[survey_id].append(
            ballot_entry(
                label,
                building,
                approved.get(row_id(ballot_id), ()),
                offered.get(survey_id, set()),
                elderly,
                children,
                channel,
                verified,
            )
        )

    meetings = city_meetings(session)
    documents: dict[str, tuple[dict[str, Any], bool]] = {}
    for survey, compound in surveys:
        sid = survey.id or 0
        document = {
            "format": BALLOTS_FORMAT,
            "compound": {
                "code": compound.code,
                "name": compound.name,
                "households": int(households.get(compound.id or 0, 0)),
            },
            "rank_depth": survey.rank_depth,
            **({"budget": compound.budget} if compound.budget is not None else {}),
            "items": items.get(sid, []),
            "ballots": ballots.get(sid, []),
            "meetings": meetings_input(meetings.get(compound.id or 0, []), offered.get(sid, set())),
        }
        documents[compound.code] = (document, survey.mode == SurveyMode.CODES)
    return documents


def city_menus(session: Session, *, method: str = "approval") -> dict[str, dict[str, Any]]:
    """Return every compound's menu (keyed by code) as `compound_menu` returns it.

    Only compounds with a current needs survey have one; a survey answered with
    household codes only counts verified ballots, as in `compound_menu`.
    """
    with collector_paused():
        return city_tally(session, method=method).all_menus()


def city_tally(
    session: Session, *, method: str = "approval", compound_ids: Collection[int] | None = None
) -> engine.CityMenus:
    """Return every compound's menu as arrays, read from the database as columns of numbers.

    The result maps each compound with a current needs survey (by code) to the
    menu `compound_menu` returns, built when asked for; every figure of every
    compound is counted here at once. No ballot becomes a dict: the ballots and
    their approvals are read as rows of numbers and handed to the engine as
    arrays (`engine.tally_arrays`), which checks them as it checks documents.
    """
    with collector_paused():
        return _city_tally(session, method, compound_ids)


def _city_tally(
    session: Session, method: str, compound_ids: Collection[int] | None
) -> engine.CityMenus:
    parts = [
        engine.tally_arrays(arrays, method=method, verified_only=verified_only)
        for arrays, verified_only in city_arrays(session, compound_ids)
    ]
    return engine.CityMenus(parts, codes=sorted(code for part in parts for code in part.codes))
