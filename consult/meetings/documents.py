"""A meeting's papers: the action plan, the notice with its QR code, the minutes."""

from __future__ import annotations

import io

import segno
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, public, requires
from consult.db import get_session
from consult.meetings import bp
from consult.meetings.routes import PREFIX, RUN, Page, _meeting
from consult.models import ActionItem, ActionStatus, CatalogItem, Compound, Meeting
from consult.services import accounts, audit, surveys
from consult.services import meetings as service
from consult.services.surveys import local_today
from consult.urls import public_url


@bp.post("/f/c/<code>/actions/<int(max=2147483647):action_id>")
@requires(*RUN, compound="run")
def action_status(code: str, action_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    action = session.get(ActionItem, action_id)
    meeting = session.get(Meeting, action.meeting_id) if action else None
    if action is None or meeting is None or meeting.compound_id != place.id:
        abort(404)
    try:
        action.status = ActionStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    session.add(action)
    audit.record(
        session,
        current_user,
        "action.status",
        f"action:{code}/{action.id}",
        status=str(action.status),
    )
    session.commit()
    return redirect(
        request.form.get("back") == "plan"
        and url_for("meetings.action_plan", code=code)
        or url_for("meetings.console", code=code, meeting_id=meeting.id) + "#actions",
        303,
    )


@bp.get("/f/c/<code>/actions")
@requires(compound="read")
def action_plan(code: str) -> Page:
    place = current_compound(code)
    return render_template(
        "meetings/actions.html",
        compound=place,
        plan=service.action_plan(get_session(), place, local_today()),
        can_run=accounts.can_run(get_session(), current_user, place),
    )


@bp.get(PREFIX + "/<int(max=2147483647):meeting_id>/notice")
@requires(compound="read")
def notice(code: str, meeting_id: int) -> Page:
    session = get_session()
    place, meeting = _meeting(code, meeting_id)
    url = public_url(url_for("meetings.resident", meeting_code=meeting.code))
    return render_template(
        "meetings/notice.html",
        compound=place,
        meeting=meeting,
        items=service.agenda(session, meeting),
        url=url,
        names={i.id: i for i in _catalog(place)},
        invited=service.invited_parties(meeting),
    )


@bp.get(PREFIX + "/<int(max=2147483647):meeting_id>/minutes")
@requires(compound="read")
def minutes(code: str, meeting_id: int) -> Page:
    place, meeting = _meeting(code, meeting_id)
    return render_minutes(place, meeting)


def render_minutes(place: Compound, meeting: Meeting) -> str:
    """Render the printable minutes (also the residents' published page)."""
    session = get_session()
    return render_template(
        "meetings/minutes.html",
        compound=place,
        meeting=meeting,
        items=service.agenda(session, meeting),
        names={i.id: i for i in _catalog(place)},
        attendance=service.attendance_by_party(session, meeting),
        actions=session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting.id)).all(),
        today=local_today(),
    )


def _catalog(place: Compound) -> list[CatalogItem]:
    survey = surveys.current_survey(get_session(), place)
    return surveys.offered_items(get_session(), survey) if survey else []


@bp.get("/m/<meeting_code>/qr.svg")
@public
def meeting_qr(meeting_code: str) -> Page:
    meeting = service.meeting_by_code(get_session(), meeting_code)
    if meeting is None:
        abort(404)
    buffer = io.BytesIO()
    segno.make(public_url(url_for("meetings.resident", meeting_code=meeting.code)), error="m").save(
        buffer, kind="svg", scale=8, border=2, xmldecl=False
    )
    return BaseResponse(buffer.getvalue(), mimetype="image/svg+xml")
