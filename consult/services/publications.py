"""Publishing a compound's results (公示): a frozen, public version residents read.

The facilitator publishes; the figures are tallied then and stored, so residents
read what was published (with its date and version), never the live count. An
updated version supersedes the last; earlier versions stay readable.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from consult.models import (
    Account,
    Compound,
    District,
    Meeting,
    MeetingStatus,
    Publication,
    Survey,
    SurveyPhase,
)
from consult.models._base import row_id, utcnow
from consult.services.meetings import action_plan
from consult.services.results import PUBLIC_MIN_COUNT, public_results
from consult.services.surveys import current_survey_id, local_time

#: Days residents have to object or comment, by default (a common notice period).
NOTICE_DAYS = 7


class NotEnoughAnswers(ValueError):
    """Too few households have answered for any figure to be published."""


def snapshot(
    session: Session,
    compound: Compound,
    survey: Survey,
    today: date,
    *,
    minimum: int = PUBLIC_MIN_COUNT,
) -> dict[str, Any]:
    """Return the public figures of the compound as they stand: results, minutes, action plan."""
    results = public_results(session, compound, survey, minimum=minimum)
    minutes = session.exec(
        select(Meeting.code, Meeting.title, Meeting.starts_at)
        .where(Meeting.compound_id == compound.id, Meeting.status == MeetingStatus.PUBLISHED)
        .order_by(col(Meeting.starts_at))
    ).all()
    return {
        "results": {
            **asdict(results),
            "items": [
                {**asdict(item), "interval": list(item.interval) if item.interval else None}
                for item in results.items
            ],
        },
        "minutes": [
            {"code": code, "title": title, "date": local_time(starts_at).date().isoformat()}
            for code, title, starts_at in minutes
        ],
        "actions": [
            {
                "what": planned.action.what,
                "owner": str(planned.action.owner),
                "due_on": planned.action.due_on.isoformat() if planned.action.due_on else None,
                "status": str(planned.action.status),
                "meeting": planned.meeting.title,
            }
            for planned in action_plan(session, compound, today)
            # Only what published minutes agreed: a meeting in preparation is not public.
            if planned.meeting.status == MeetingStatus.PUBLISHED
        ],
    }


def publish(
    session: Session,
    compound: Compound,
    survey: Survey,
    account: Account | None,
    *,
    contact: str,
    comments_until: date | None,
    today: date,
    minimum: int = PUBLIC_MIN_COUNT,
) -> Publication:
    """Publish the compound's results as they stand now, as a new version; flush.

    Raises NotEnoughAnswers while fewer than `minimum` households have answered:
    there would be nothing to show.
    """
    content = snapshot(session, compound, survey, today, minimum=minimum)
    if not content["results"]["shown"]:
        raise NotEnoughAnswers(minimum)
    latest = session.exec(
        select(func.max(Publication.version)).where(Publication.compound_id == compound.id)
    ).one()
    publication = Publication(
        compound_id=row_id(compound.id),
        survey_id=row_id(survey.id),
        version=(latest or 0) + 1,
        published_at=utcnow(),
        published_by=account.id if account else None,
        contact=contact.strip()[:1000],
        comments_until=comments_until,
        content=content,
    )
    session.add(publication)
    session.flush()
    return publication


def default_comments_until(today: date, days: int = NOTICE_DAYS) -> date:
    """Return the last day of a notice period starting today."""
    return today + timedelta(days=days)


def versions(session: Session, compound: Compound) -> list[Publication]:
    """Return the compound's publications, latest first."""
    return list(
        session.exec(
            select(Publication)
            .where(Publication.compound_id == compound.id)
            .order_by(col(Publication.version).desc())
        ).all()
    )


def published(
    session: Session, compound: Compound, version: int | None = None
) -> Publication | None:
    """Return the compound's latest publication, or the given version; None if there is none."""
    if version is None:  # every page of a compound asks this one: built once
        return session.exec(_LATEST, params={"compound": compound.id}).first()
    query = select(Publication).where(
        Publication.compound_id == compound.id, Publication.version == version
    )
    return session.exec(query).first()


_LATEST = (
    select(Publication)
    .where(col(Publication.compound_id) == bindparam("compound"))
    .order_by(col(Publication.version).desc())
    .limit(1)
)


class Overview(NamedTuple):
    """What a compound's staff page shows above its figures."""

    district: District
    survey: Survey | None
    publication: Publication | None


_LATEST_ONE = aliased(Publication, name="latest_publication")
#: The compound's district, current survey (as `current_survey`) and latest publication
#: (as `published`), in one statement: each alone costs the ORM as much as all three.
_OVERVIEW = (
    select(District, Survey, Publication)
    .select_from(District)
    .where(col(District.id) == bindparam("district"))
    .outerjoin(
        Survey, col(Survey.id) == current_survey_id(bindparam("compound"), bindparam("phase"))
    )
    .outerjoin(
        Publication,
        col(Publication.id)
        == sql_select(col(_LATEST_ONE.id))
        .where(col(_LATEST_ONE.compound_id) == bindparam("compound"))
        .order_by(col(_LATEST_ONE.version).desc())
        .limit(1)
        .scalar_subquery(),
    )
)


def overview(
    session: Session, compound: Compound, phase: SurveyPhase = SurveyPhase.NEEDS
) -> Overview:
    """Return the compound's district, current survey of the phase and latest publication."""
    district, survey, publication = session.exec(
        _OVERVIEW,
        params={"district": compound.district_id, "compound": compound.id, "phase": phase},
    ).one()
    return Overview(district, survey, publication)
