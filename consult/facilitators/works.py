"""Works in progress: each plan item's status, percentage, dated notes and photos."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.errors import render_error
from consult.facilitators import bp
from consult.labels import name_of
from consult.models import Compound, Role, WorkStatus
from consult.services import accounts, audit, photos, works
from consult.services.ballots import commit_with_retry
from consult.services.phases import current_phase
from consult.services.surveys import local_today

Page = str | tuple[str, int] | BaseResponse
NOTE_ENDPOINT = "facilitators.works_note"


def refusal(reason: str) -> str:
    """Explain a refused note or photo."""
    messages = {
        "future_date": _("A note cannot be dated in the future."),
        "bad_date": _("Type the date as 2026-12-01."),
        "bad_percent": _("Give the percentage as a whole number from 0 to 100."),
        "bad_status": _("Choose a status."),
        "drop_needs_text": _("Say why the item is dropped."),
        "text_too_long": _("Keep the note under %(n)d characters.", n=works.TEXT_MAX),
        "too_many_photos": _("At most %(n)d photos with one note.", n=works.PHOTOS_PER_NOTE),
        "not_an_image": _("Photos must be JPEG or PNG pictures; one of them is not."),
        "too_many_pixels": _("One of the photos has too many pixels; send a smaller one."),
    }
    return str(messages.get(reason, reason))


@bp.url_value_preprocessor
def _allow_photos(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form: a note's photos may exceed the app's limit.
    if endpoint == NOTE_ENDPOINT:
        request.max_content_length = current_app.config["PHOTO_MAX_UPLOAD"]


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    if request.endpoint != NOTE_ENDPOINT:
        return render_error(413)
    limit = current_app.config["PHOTO_MAX_UPLOAD"] / (1024 * 1024)
    return render_error(
        413,
        _(
            "The photos were larger than %(size)s MB together. Nothing was saved: "
            "go back and send fewer or smaller photos.",
            size=f"{limit:.1f}".removesuffix(".0"),
        ),
    )


@bp.get("/c/<code>/works", endpoint="works")
@requires(compound="read")
def works_page(code: str) -> Page:
    return _page(current_compound(code))


@bp.post("/c/<code>/works/<int(max=2147483647):plan_item_id>")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def works_note(code: str, plan_item_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    back = redirect(url_for("facilitators.works", code=code), 303)
    if not works.takes_notes(place):
        flash(_not_now(place), "error")
        return back
    item = works.work_item(session, place, plan_item_id)
    if item is None:
        flash(_("That item is not part of the works of the published plan."), "error")
        return back
    key = request.form.get("key", "")[:64] or None
    if key and works.note_by_key(session, key) is not None:
        flash(_("Saved."), "info")  # a second tap, or a retry after a dropped connection
        return back
    today = local_today()
    try:
        fields = _read_form(today)
        photos = _read_photos()
        works.check_note(today=today, **fields)
    except works.WorksError as error:
        return _page(place, {"item": plan_item_id, "message": refusal(error.reason)})

    def store() -> int:
        if key and works.note_by_key(session, key) is not None:
            return 0
        works.add_note(
            session,
            item,
            current_user,
            photos=photos,
            today=today,
            submission_key=key,
            **fields,
        )
        audit.record(
            session,
            current_user,
            "works.note",
            f"compound:{code}",
            item=plan_item_id,
            noted_on=fields["noted_on"],
            status=str(fields["status"]),
            percent=item.percent,
            photos=len(photos),
        )
        return 1

    commit_with_retry(session, store)
    flash(_("Saved."), "info")
    return redirect(url_for("facilitators.works", code=code, _anchor=f"item-{item.id}"), 303)


def _read_form(today: date) -> dict[str, Any]:
    """Read a note's fields; raise WorksError for one that cannot be read."""
    try:
        noted_on = date.fromisoformat(request.form.get("noted_on", "").strip())
    except ValueError:
        raise works.WorksError("bad_date") from None
    try:
        status = WorkStatus(request.form.get("status", ""))
    except ValueError:
        raise works.WorksError("bad_status") from None
    typed = request.form.get("percent", "").strip().removesuffix("%").strip() or "0"
    if not (typed.isascii() and typed.isdecimal()) or len(typed) > 3:
        raise works.WorksError("bad_percent")
    text = request.form.get("text", "").replace("\r\n", "\n")
    return {"noted_on": noted_on, "status": status, "percent": int(typed), "text": text}


def _read_photos() -> list[photos.Photo]:
    """Re-encode the photos sent with a note (none is fine); raise WorksError."""
    sent = [f for f in request.files.getlist("photos") if f.filename]
    if len(sent) > works.PHOTOS_PER_NOTE:
        raise works.WorksError("too_many_photos")
    side = current_app.config["PHOTO_MAX_SIDE"]
    try:
        return [photos.process_photo(f.read(), max_side=side) for f in sent]
    except photos.PhotoError as error:
        raise works.WorksError(error.reason) from error


def _not_now(place: Compound) -> str:
    if not works.has_begun(place):
        return str(
            _(
                "The works have not started: the compound is in the phase “%(phase)s”. "
                "Nothing was saved.",
                phase=name_of("cycle", current_phase(place)),
            )
        )
    return str(_("The works are closed: progress notes can no longer be added. Nothing was saved."))


def _page(place: Compound, error: dict[str, Any] | None = None) -> Page:
    session = get_session()
    today = local_today()
    items = works.works_items(session, place)
    notes = works.notes_of(session, items)
    photos = works.photos_of(session, (n.id for ns in notes.values() for n in ns if n.id))
    response = make_response(
        render_template(
            "facilitators/works.html",
            compound=place,
            items=items,
            notes=notes,
            photos=photos,
            scopes=works.scope_labels(session, items),
            late={item.id for item in items if works.is_late(item, today)},
            begun=works.has_begun(place),
            open_for_notes=works.takes_notes(place),
            can_run=accounts.can_run(session, current_user, place),
            statuses=[(str(s), name_of("works", s)) for s in WorkStatus],
            status_names={str(s): name_of("works", s) for s in WorkStatus},
            today=today,
            key=uuid.uuid4().hex,
            error=error,
            form=request.form if error else None,
        ),
        400 if error else 200,
    )
    # Each form carries a fresh key: a page restored by Back must not reuse the last one
    # (a second note with it would be taken for the first, sent again).
    response.headers["Cache-Control"] = "no-store"
    return response
