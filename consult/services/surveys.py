"""Surveys: which one a compound runs now, whether it takes answers, what it offers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import Session, col, select

from consult.catalog import catalog_by_id
from consult.models import (
    Ballot,
    CatalogItem,
    Compound,
    Survey,
    SurveyItem,
    SurveyPhase,
    SurveyStatus,
)
from consult.models._base import row_id

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_time(moment: datetime) -> datetime:
    """Return a stored UTC time as the compounds' local wall-clock time, without a zone."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TZ).replace(tzinfo=None)


def local_today() -> date:
    """Return today's date where the compounds are."""
    return datetime.now(LOCAL_TZ).date()


#: Built once: every resident's request asks it.
_CURRENT_SURVEY = (
    select(Survey)
    .where(
        col(Survey.compound_id) == bindparam("compound"),
        col(Survey.phase) == bindparam("phase"),
        col(Survey.status) != SurveyStatus.DRAFT,
    )
    .order_by(col(Survey.id).desc())
    .limit(1)
)


def current_survey(
    session: Session, compound: Compound, phase: SurveyPhase = SurveyPhase.NEEDS
) -> Survey | None:
    """Return the compound's latest survey of the phase that is not a draft."""
    return session.exec(_CURRENT_SURVEY, params={"compound": compound.id, "phase": phase}).first()


def current_survey_id(compound: Any, phase: Any) -> ScalarSelect[Any]:
    """Return the id of the compound's current survey of the phase (as `current_survey`
    finds it) as a scalar subquery, for statements that read it with other things."""
    latest = aliased(Survey, name="latest")
    return (
        sql_select(col(latest.id))
        .where(
            col(latest.compound_id) == compound,
            col(latest.phase) == phase,
            col(latest.status) != SurveyStatus.DRAFT,
        )
        .order_by(col(latest.id).desc())
        .limit(1)
        .scalar_subquery()
    )


#: A compound by its code, its current survey of a phase (as `current_survey`) and the
#: ids of the items that survey offers, in one statement: what a submission checks first.
_ID_SEPARATOR = "\x1f"  # never in an item id
_LATEST_SURVEY_ID = current_survey_id(col(Compound.id), bindparam("phase")).correlate(Compound)
_OFFERED_IDS = (
    sql_select(func.aggregate_strings(col(SurveyItem.item_id), _ID_SEPARATOR))
    .where(col(SurveyItem.survey_id) == col(Survey.id))
    .correlate(Survey)
    .scalar_subquery()
)
_COMPOUND_AND_SURVEY = (
    select(Compound, Survey, _OFFERED_IDS)
    .outerjoin(Survey, col(Survey.id) == _LATEST_SURVEY_ID)
    .where(col(Compound.code) == bindparam("code"))
)


class CompoundSurvey(NamedTuple):
    """A compound, its current survey (or None) and the ids of the items it offers."""

    compound: Compound
    survey: Survey | None
    offered: frozenset[str]


def compound_and_survey(
    session: Session, code: str, phase: SurveyPhase = SurveyPhase.NEEDS
) -> CompoundSurvey | None:
    """Return the compound with this code, its current survey of the phase (as
    `current_survey` finds it) and the ids the survey offers (as `offered_menu` reads
    them), all read by one statement; None when no compound has the code."""
    row = session.exec(_COMPOUND_AND_SURVEY, params={"code": code, "phase": phase}).first()
    if row is None:
        return None
    compound, survey, ids = row
    offered = frozenset(ids.split(_ID_SEPARATOR)) if survey is not None and ids else frozenset()
    return CompoundSurvey(compound, survey, offered)


def why_closed(survey: Survey | None, today: date | None = None) -> str | None:
    """Return why the survey takes no answers ("none", "not_yet", "closed"), or None."""
    today = today or local_today()
    if survey is None:
        return "none"
    if survey.status == SurveyStatus.CLOSED:
        return "closed"
    if survey.opens_on is not None and today < survey.opens_on:
        return "not_yet"
    if survey.closes_on is not None and today > survey.closes_on:
        return "closed"
    return None


def offered_items(session: Session, survey: Survey) -> list[CatalogItem]:
    """Return the items the survey offers, in form order."""
    return list(
        session.exec(
            select(CatalogItem)
            .join(SurveyItem, col(SurveyItem.item_id) == CatalogItem.id)
            .where(SurveyItem.survey_id == survey.id)
            .order_by(col(SurveyItem.position))
        ).all()
    )


class MenuItem(NamedTuple):
    """An offered item as the residents' form shows it: plain values, kept and compared."""

    id: str
    category: str
    position: int
    name_zh: str
    name_en: str
    elderly_children: bool
    accessibility: bool


#: The offered items' columns the residents' form shows, built once (read on every view).
_MENU = (
    sql_select(
        col(CatalogItem.id),
        col(CatalogItem.category),
        col(CatalogItem.position),
        col(CatalogItem.name_zh),
        col(CatalogItem.name_en),
        col(CatalogItem.elderly_children),
        col(CatalogItem.accessibility),
    )
    .join(SurveyItem, col(SurveyItem.item_id) == CatalogItem.id)
    .where(col(SurveyItem.survey_id) == bindparam("survey"))
    .order_by(col(SurveyItem.position))
)


def offered_menu(session: Session, survey: Survey) -> tuple[MenuItem, ...]:
    """Return the items the survey offers, in form order, as plain values (no ORM rows).

    What the residents' form needs of each item, read as columns: cheaper than
    `offered_items`, and the tuple tells whether the menu changed since it was last read.
    """
    rows = session.connection().execute(_MENU, {"survey": survey.id}).all()
    return tuple(map(MenuItem._make, rows))


def answered_count(session: Session, survey: Survey) -> int:
    """Count the households whose answer currently counts."""
    count = session.exec(
        select(func.count())
        .select_from(Ballot)
        .where(Ballot.survey_id == survey.id, Ballot.is_current)
    ).one()
    return int(count)


def offer_items(session: Session, survey: Survey, items: list[CatalogItem]) -> None:
    """Make the survey offer exactly these items, in this order; flush."""
    wanted = {item.id: position for position, item in enumerate(items)}
    existing = {
        row.item_id: row
        for row in session.exec(select(SurveyItem).where(SurveyItem.survey_id == survey.id)).all()
    }
    for item_id, row in existing.items():
        if item_id in wanted:
            row.position = wanted[item_id]
            session.add(row)
        else:
            session.delete(row)
    for item in items:
        if item.id not in existing:
            session.add(
                SurveyItem(survey_id=row_id(survey.id), item_id=item.id, position=wanted[item.id])
            )
    session.flush()


def offer_whole_catalog(session: Session, survey: Survey) -> None:
    """Offer every standard catalogue item in the survey, in catalogue order."""
    for entry in catalog_by_id().values():
        session.add(
            SurveyItem(survey_id=row_id(survey.id), item_id=entry.id, position=entry.position)
        )
    session.flush()
