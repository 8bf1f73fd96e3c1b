"""Every compound's menu at once: the city's ballots read by a few set-based queries.

`compound_menu` reads one compound with several queries; a city of hundreds of
compounds pays them hundreds of times. Here each table is read once for the whole
city (the current needs survey of every compound, its items, its current ballots
and their approvals, household counts and counted hands), the `consult.ballots/1`
documents are built exactly as `ballots_document` builds them, and the tally
engine counts them together (`tally_many`). The menus equal `compound_menu`'s.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

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
    MeetingStatus,
    Survey,
    SurveyItem,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
    Unit,
)
from consult.models._base import row_id
from consult.services.tallies import BALLOTS_FORMAT, ballot_entry

COUNTED_MEETINGS = (MeetingStatus.CLOSED, MeetingStatus.PUBLISHED)


def current_surveys() -> Any:
    """Return a subquery of every compound's current needs survey id (as `current_survey`)."""
    return (
        select(func.max(Survey.id))
        .where(Survey.phase == SurveyPhase.NEEDS, Survey.status != SurveyStatus.DRAFT)
        .group_by(col(Survey.compound_id))
        .scalar_subquery()
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the rows and documents pile up.

    Hundreds of thousands of fresh tuples, lists and dicts with no cycles: passes
    triggered by their allocation free nothing and cost more than the reading.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def city_documents(session: Session) -> dict[str, tuple[dict[str, Any], bool]]:
    """Return each compound's ballots document and whether only verified ballots count.

    Keyed by compound code, for the compounds with a current needs survey; each
    document equals `ballots_document` of the compound and its current survey.
    """
    with _collector_paused():
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

    meetings = _city_meetings(session)
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
            "meetings": _meetings_input(
                meetings.get(compound.id or 0, []), offered.get(sid, set())
            ),
        }
        documents[compound.code] = (document, survey.mode == SurveyMode.CODES)
    return documents


Votes = list[dict[str, Any]]


def _city_meetings(session: Session) -> dict[int, list[tuple[str, str, Votes]]]:
    """Return each compound's counted meetings in order: code, date and all counted hands."""
    hands: dict[int, Votes] = defaultdict(list)
    for meeting_id, item_id, yes, no, abstain in session.execute(
        sa.select(
            col(AgendaItem.meeting_id),
            col(AgendaItem.item_id),
            col(AgendaItem.hands_for),
            col(AgendaItem.hands_against),
            col(AgendaItem.hands_abstain),
        )
        .join(Meeting, col(Meeting.id) == AgendaItem.meeting_id)
        .where(col(Meeting.status).in_(COUNTED_MEETINGS), col(AgendaItem.hands_for).is_not(None))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position), col(AgendaItem.id))
    ):
        hands[meeting_id].append(
            {"item": item_id, "for": yes or 0, "against": no or 0, "abstain": abstain or 0}
        )
    meetings: dict[int, list[tuple[str, str, Votes]]] = defaultdict(list)
    for compound_id, meeting_id, code, starts_at in session.exec(
        select(Meeting.compound_id, Meeting.id, Meeting.code, Meeting.starts_at)
        .where(col(Meeting.status).in_(COUNTED_MEETINGS))
        .order_by(col(Meeting.compound_id), col(Meeting.starts_at), col(Meeting.id))
    ).all():
        meetings[compound_id].append(
            (code, starts_at.date().isoformat(), hands.get(meeting_id or 0, []))
        )
    return meetings


def _meetings_input(
    meetings: list[tuple[str, str, Votes]], offered: set[str]
) -> list[dict[str, Any]]:
    """Return the tally's `meetings` as `meetings_input` does: hands on offered items."""
    result = []
    for code, day, hands in meetings:
        votes = [vote for vote in hands if vote["item"] in offered]
        if votes:
            result.append({"id": code, "date": day, "votes": votes})
    return result


def city_menus(session: Session, *, method: str = "approval") -> dict[str, dict[str, Any]]:
    """Return every compound's menu (keyed by code) as `compound_menu` returns it.

    Only compounds with a current needs survey have one; a survey answered with
    household codes only counts verified ballots, as in `compound_menu`.
    """
    documents = city_documents(session)
    menus: dict[str, dict[str, Any]] = {}
    for verified_only in (False, True):
        codes = [code for code, (_, only) in documents.items() if only is verified_only]
        if codes:
            tallied = engine.tally_many(
                [documents[code][0] for code in codes],
                method=method,
                verified_only=verified_only,
            )
            menus.update(zip(codes, tallied, strict=True))
    return {code: menus[code] for code in documents}
