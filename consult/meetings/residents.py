"""The residents' side of a meeting: its page, signing in, voting from a phone, the minutes."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from consult.access import public
from consult.db import get_session
from consult.labels import explained
from consult.limits import GUESS_LIMIT, failed, limiter
from consult.meetings import bp
from consult.meetings.documents import render_minutes
from consult.models import Choice, Compound, Household, Meeting, MeetingStatus
from consult.residents.forms import picker_options
from consult.services import codes, places, surveys
from consult.services import meeting_votes as votes
from consult.services import meetings as service

Page = str | tuple[str, int] | BaseResponse
SESSION_KEY = "meeting_households"


def _meeting_or_404(meeting_code: str) -> tuple[Compound, Meeting]:
    meeting = service.meeting_by_code(get_session(), meeting_code)
    compound = get_session().get(Compound, meeting.compound_id) if meeting else None
    if meeting is None or compound is None:
        abort(404)
    return compound, meeting


def _signed_in(meeting: Meeting) -> Household | None:
    household_id = session.get(SESSION_KEY, {}).get(str(meeting.id))
    return get_session().get(Household, household_id) if isinstance(household_id, int) else None


@bp.get("/m/<meeting_code>")
@public
def resident(meeting_code: str) -> str:
    db = get_session()
    compound, meeting = _meeting_or_404(meeting_code)
    household = _signed_in(meeting)
    items = service.agenda(db, meeting)
    mine = votes.household_votes(db, meeting, household) if household else {}
    layout = places.layout(db, compound)
    return render_template(
        "meetings/resident.html",
        compound=compound,
        meeting=meeting,
        items=items,
        names=_names(compound),
        household=household,
        mine=mine,
        options=picker_options(layout),
        layout_map={b.number: {u.number: u.rooms for u in b.units} for b in layout},
        open_states=(MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS),
    )


def _names(compound: Compound) -> dict[str, object]:
    survey = surveys.current_survey(get_session(), compound)
    return {i.id: i for i in surveys.offered_items(get_session(), survey)} if survey else {}


@bp.post("/m/<meeting_code>/signin")
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed)
def signin(meeting_code: str) -> Page:
    db = get_session()
    compound, meeting = _meeting_or_404(meeting_code)
    typed = codes.normalize_code(request.form.get("household_code", ""))
    verified = bool(typed)
    if typed:
        household = codes.household_by_code(db, current_app.config["SECRET_KEY"], typed)
        if household is not None and household.compound_id != compound.id:
            household = None
    else:
        household = places.find_household(
            db,
            compound,
            request.form.get("building", ""),
            request.form.get("unit", ""),
            request.form.get("room", ""),
        )
    if household is None:
        flash(
            _(
                "No household of this compound matches. Check the building, unit and room, "
                "or the code on your slip."
            ),
            "error",
        )
        return resident(meeting_code), 400
    already = session.get(SESSION_KEY, {}).get(str(meeting.id))
    if already is not None and already != household.id:
        flash(
            _("This phone is signed in for another household: one phone, one household."), "error"
        )
        return resident(meeting_code), 400
    survey = surveys.current_survey(db, compound)
    try:
        service.sign_in(
            db, meeting, household, verified=verified, mode=survey.mode if survey else None
        )
    except service.MeetingError as error:
        db.rollback()
        flash(explained("meeting_error", error.reason), "error")
        return resident(meeting_code), 400
    db.commit()
    signed = dict(session.get(SESSION_KEY, {}))
    signed[str(meeting.id)] = household.id
    session[SESSION_KEY] = signed
    flash(_("Signed in: %(label)s. Welcome!", label=household.label), "info")
    return redirect(url_for("meetings.resident", meeting_code=meeting.code), 303)


@bp.post("/m/<meeting_code>/vote/<int(max=2147483647):agenda_id>")
@public
def vote(meeting_code: str, agenda_id: int) -> Page:
    db = get_session()
    _compound, meeting = _meeting_or_404(meeting_code)
    household = _signed_in(meeting)
    entry = next((e for e in service.agenda(db, meeting) if e.id == agenda_id), None)
    if entry is None:
        abort(404)
    back = redirect(
        url_for("meetings.resident", meeting_code=meeting.code) + f"#item-{entry.id}", 303
    )
    try:
        choice = Choice(request.form.get("choice", ""))
    except ValueError:
        flash(_("Choose for, against or abstain."), "error")
        return back
    if household is None:
        flash(explained("meeting_error", "not_signed_in"), "error")
        return back
    try:
        votes.cast_vote(db, meeting, entry, household, choice)
    except service.MeetingError as error:
        db.rollback()
        flash(explained("meeting_error", error.reason), "error")
        return back
    db.commit()
    flash(_("Your vote is counted."), "info")
    return back


@bp.get("/m/<meeting_code>/minutes")
@public
def published_minutes(meeting_code: str) -> Page:
    compound, meeting = _meeting_or_404(meeting_code)
    if meeting.status != MeetingStatus.PUBLISHED:
        abort(404)
    return render_minutes(compound, meeting)
