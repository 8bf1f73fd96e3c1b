"""Surveys: which one a compound runs now, whether it takes answers, what it offers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
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


def current_survey(
    session: Session, compound: Compound, phase: SurveyPhase = SurveyPhase.NEEDS
) -> Survey | None:
    """Return the compound's latest survey of the phase that is not a draft."""
    return session.exec(
        select(Survey)
        .where(
            Survey.compound_id == compound.id,
            Survey.phase == phase,
            Survey.status != SurveyStatus.DRAFT,
        )
        .order_by(col(Survey.id).desc())
    ).first()


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
