"""The facilitator's meeting pages: plan, run, record, publish."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlmodel import select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.labels import explained
from consult.meetings import bp
from consult.meetings.forms import ActionForm, AttendeesForm, ItemRecordForm, MeetingForm
from consult.models import (
    ActionItem,
    AgendaItem,
    Compound,
    Meeting,
    MeetingStatus,
    Party,
    Role,
)
from consult.services import accounts, audit, surveys
from consult.services import meeting_votes as votes
from consult.services import meetings as service
from consult.services.surveys import LOCAL_TZ, local_today
from consult.services.tallies import compound_menu

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)
PREFIX = "/f/c/<code>/meetings"


def _meeting(code: str, meeting_id: int) -> tuple[Compound, Meeting]:
    place = current_compound(code)
    meeting = get_session().get(Meeting, meeting_id)
    if meeting is None or meeting.compound_id != place.id:
        abort(404)
    return place, meeting


def _entry(meeting: Meeting, agenda_id: int) -> AgendaItem:
    entry = get_session().get(AgendaItem, agenda_id)
    if entry is None or entry.meeting_id != meeting.id:
        abort(404)
    return entry


def _back(code: str, meeting: Meeting, anchor: str = "") -> BaseResponse:
    target = url_for("meetings.console", code=code, meeting_id=meeting.id)
    return redirect(target + (f"#{anchor}" if anchor else ""), 303)


def _refused(error: service.MeetingError, code: str, meeting: Meeting) -> BaseResponse:
    get_session().rollback()
    flash(explained("meeting_error", error.reason), "error")
    return _back(code, meeting)


def _flash_errors(form: FlaskForm) -> None:
    """Show a refused form's messages on the page it goes back to."""
    for messages in form.errors.values():
        for message in messages:
            flash(str(message), "error")


def _starts_at(form: MeetingForm) -> datetime:
    return datetime.combine(form.day.data, form.time.data, tzinfo=LOCAL_TZ)


def _invited() -> list[Party]:
    chosen = set(request.form.getlist("invited"))
    return [party for party in Party if party in chosen]


@bp.get(PREFIX)
@requires(compound="read")
def meetings(code: str) -> Page:
    place = current_compound(code)
    return render_template(
        "meetings/list.html",
        compound=place,
        meetings=service.compound_meetings(get_session(), place),
    )


@bp.route(PREFIX + "/new", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def new_meeting(code: str) -> Page:
    place = current_compound(code)
    form = MeetingForm()
    if form.validate_on_submit():
        session = get_session()
        meeting = service.create_meeting(
            session,
            place,
            title=form.title.data,
            starts_at=_starts_at(form),
            place=form.place.data or "",
            invited=_invited(),
        )
        audit.record(session, current_user, "meeting.create", f"meeting:{code}/{meeting.code}")
        session.commit()
        return _back(code, meeting)
    invited = [str(p) for p in Party] if request.method == "GET" else _invited()
    return render_template(
        "meetings/edit.html", compound=place, form=form, meeting=None, invited=invited
    ), 400 if form.errors else 200


@bp.route(PREFIX + "/<int(max=2147483647):meeting_id>/edit", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def edit_meeting(code: str, meeting_id: int) -> Page:
    place, meeting = _meeting(code, meeting_id)
    local = meeting.starts_at.astimezone(LOCAL_TZ)
    form = MeetingForm(
        data={
            "title": meeting.title,
            "day": local.date(),
            "time": local.time(),
            "place": meeting.place,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            service.update_meeting(
                meeting,
                title=form.title.data,
                starts_at=_starts_at(form),
                place=form.place.data or "",
                invited=_invited(),
            )
        except service.MeetingError as error:
            return _refused(error, code, meeting)
        get_session().add(meeting)
        get_session().commit()
        return _back(code, meeting)
    invited = (
        [str(p) for p in service.invited_parties(meeting)]
        if request.method == "GET"
        else _invited()
    )
    return render_template(
        "meetings/edit.html", compound=place, form=form, meeting=meeting, invited=invited
    ), 400 if form.errors else 200


@bp.get(PREFIX + "/<int(max=2147483647):meeting_id>")
@requires(compound="read")
def console(code: str, meeting_id: int) -> Page:
    session = get_session()
    place, meeting = _meeting(code, meeting_id)
    survey = surveys.current_survey(session, place)
    items = service.agenda(session, meeting)
    support = {}
    if survey is not None:
        menu = compound_menu(session, place, survey)
        support = {entry["id"]: entry for entry in menu["items"]}
    catalog = surveys.offered_items(session, survey) if survey else []
    actions = session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting.id)).all()
    return render_template(
        "meetings/console.html",
        compound=place,
        meeting=meeting,
        items=items,
        names={item.id: item for item in catalog},
        catalog=catalog,
        support=support,
        votes={entry.id: votes.vote_counts(session, entry) for entry in items},
        pending={
            entry.id: votes.pending_changes(session, meeting, entry, survey) for entry in items
        },
        attendance=service.attendance_by_party(session, meeting),
        actions=actions,
        parties=list(Party),
        can_run=accounts.can_run(session, current_user, place),
        invited=service.invited_parties(meeting),
        today=local_today(),
        record_form=ItemRecordForm(),
    )


@bp.get(PREFIX + "/<int(max=2147483647):meeting_id>/live.json")
@requires(compound="read")
def live(code: str, meeting_id: int) -> Page:
    session = get_session()
    _place, meeting = _meeting(code, meeting_id)
    return jsonify(
        status=str(meeting.status),
        attendance=sum(service.attendance_by_party(session, meeting).values()),
        votes={
            str(entry.id): {"state": str(entry.vote), **votes.vote_counts(session, entry)}
            for entry in service.agenda(session, meeting)
        },
    )


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/agenda")
@requires(*RUN, compound="run")
def add_agenda(code: str, meeting_id: int) -> Page:
    session = get_session()
    place, meeting = _meeting(code, meeting_id)
    survey = surveys.current_survey(session, place)
    item_id = request.form.get("item_id", "")
    offered = {item.id for item in surveys.offered_items(session, survey)} if survey else set()
    if item_id and item_id not in offered:
        flash(explained("meeting_error", "unknown_item"), "error")
        return _back(code, meeting, "agenda")
    try:
        service.add_agenda_item(
            session, meeting, item_id=item_id or None, topic=request.form.get("topic", "")[:200]
        )
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    return _back(code, meeting, "agenda")


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/agenda/<int(max=2147483647):agenda_id>")
@requires(*RUN, compound="run")
def change_agenda(code: str, meeting_id: int, agenda_id: int) -> Page:
    session = get_session()
    _place, meeting = _meeting(code, meeting_id)
    entry = _entry(meeting, agenda_id)
    action = request.form.get("action", "")
    try:
        if action in ("up", "down"):
            service.move_agenda_item(session, meeting, entry, -1 if action == "up" else 1)
        elif action == "remove":
            service.remove_agenda_item(session, meeting, entry)
        elif action == "topic":
            service.edit_agenda_topic(meeting, entry, request.form.get("topic", "")[:200])
            session.add(entry)
        else:
            abort(400)
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    return _back(code, meeting, "agenda")


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/status")
@requires(*RUN, compound="run")
def change_status(code: str, meeting_id: int) -> Page:
    session = get_session()
    place, meeting = _meeting(code, meeting_id)
    try:
        status = MeetingStatus(request.form.get("status", ""))
        service.set_status(session, meeting, status, surveys.current_survey(session, place))
    except ValueError as error:
        if isinstance(error, service.MeetingError):
            return _refused(error, code, meeting)
        abort(400)
    audit.record(session, current_user, f"meeting.{status}", f"meeting:{code}/{meeting.code}")
    session.commit()
    return _back(code, meeting)


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/attendees")
@requires(*RUN, compound="run")
def add_attendees(code: str, meeting_id: int) -> Page:
    session = get_session()
    _place, meeting = _meeting(code, meeting_id)
    form = AttendeesForm()
    if not form.validate():
        _flash_errors(form)
        return _back(code, meeting, "attendance")
    try:
        service.add_attendees(session, meeting, Party(form.party.data), int(form.count.data))
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    return _back(code, meeting, "attendance")


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/agenda/<int(max=2147483647):agenda_id>/record")
@requires(*RUN, compound="run")
def record(code: str, meeting_id: int, agenda_id: int) -> Page:
    session = get_session()
    _place, meeting = _meeting(code, meeting_id)
    entry = _entry(meeting, agenda_id)
    form = ItemRecordForm()
    if not form.validate():
        _flash_errors(form)
        return _back(code, meeting, f"item-{entry.id}")
    try:
        service.record_item(
            session,
            meeting,
            entry,
            hands=(form.hands_for.data, form.hands_against.data, form.hands_abstain.data),
            notes=form.notes.data or "",
            decision=form.decision.data or "",
        )
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    flash(_("Saved."), "info")
    return _back(code, meeting, f"item-{entry.id}")


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/agenda/<int(max=2147483647):agenda_id>/vote")
@requires(*RUN, compound="run")
def phone_vote(code: str, meeting_id: int, agenda_id: int) -> Page:
    session = get_session()
    place, meeting = _meeting(code, meeting_id)
    entry = _entry(meeting, agenda_id)
    survey = surveys.current_survey(session, place)
    try:
        action = request.form.get("action", "")
        if action == "open":
            votes.open_vote(session, meeting, entry)
        elif action == "close":
            votes.close_vote(session, meeting, entry, survey)
        elif action == "apply" and survey is not None:
            changed = votes.apply_votes(session, meeting, entry, survey)
            audit.record(
                session,
                current_user,
                "meeting.apply",
                f"meeting:{code}/{meeting.code}",
                agenda_item=entry.id,
                ballots=changed,
            )
            flash(_("%(n)d households' answers changed by their votes.", n=changed), "info")
        else:
            abort(400)
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    return _back(code, meeting, f"item-{entry.id}")


@bp.post(PREFIX + "/<int(max=2147483647):meeting_id>/actions")
@requires(*RUN, compound="run")
def add_action(code: str, meeting_id: int) -> Page:
    session = get_session()
    _place, meeting = _meeting(code, meeting_id)
    form = ActionForm()
    if not form.validate():
        _flash_errors(form)
        return _back(code, meeting, "actions")
    source = form.agenda_item.data or ""
    agenda_id = (
        int(source) if source.isascii() and source.isdecimal() and len(source) < 10 else None
    )
    if agenda_id is not None:
        _entry(meeting, agenda_id)
    try:
        service.add_action(
            session,
            meeting,
            what=form.what.data,
            owner=Party(form.owner.data),
            due_on=form.due_on.data,
            agenda_item_id=agenda_id,
        )
    except service.MeetingError as error:
        return _refused(error, code, meeting)
    session.commit()
    return _back(code, meeting, "actions")
