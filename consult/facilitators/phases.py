"""The renovation cycle of a compound: its phase and the phases' dates."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.i18n import format_day
from consult.labels import name_of
from consult.models import PHASES, Phase, Role
from consult.services import accounts, audit, phases, plans, surveys

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)


def _day(text: str) -> date | None:
    """Read an ISO date; None when empty; raises ValueError when unreadable."""
    text = text.strip()
    return date.fromisoformat(text) if text else None


@bp.get("/c/<code>/phases")
@requires(compound="read")
def compound_phases(code: str) -> Page:
    return _page(code, {})


@bp.post("/c/<code>/phases")
@requires(*RUN, compound="run")
def phase_dates(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    errors: dict[str, str] = {}
    dates: dict[Phase, tuple[date | None, date | None]] = {}
    for phase in PHASES:
        try:
            starts = _day(request.form.get(f"starts-{phase}", ""))
            ends = _day(request.form.get(f"ends-{phase}", ""))
        except ValueError:
            errors[phase] = _("Type the dates as 2026-12-01.")
            continue
        if starts and ends and ends < starts:
            errors[phase] = _("A phase cannot end before it starts.")
        dates[phase] = (starts, ends)
    if errors:
        flash(_("Some dates are wrong; nothing was saved."), "error")
        return _page(code, errors)
    phases.set_dates(session, place, dates)
    audit.record(session, current_user, "phases.dates", f"compound:{code}")
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("facilitators.compound_phases", code=code), 303)


def _page(code: str, errors: dict[str, str]) -> Page:
    session = get_session()
    place = current_compound(code)
    return render_template(
        "facilitators/phases.html",
        compound=place,
        steps=phases.timeline(session, place),
        current=phases.current_phase(place),
        following=phases.next_phase(place),
        phases=PHASES,
        can_run=accounts.can_run(session, current_user, place),
        errors=errors,
        form=request.form if errors else None,
    ), (400 if errors else 200)


@bp.post("/c/<code>/phases/move")
@requires(*RUN, compound="run")
def move_phase(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    try:
        phase = Phase(request.form.get("phase", ""))
    except ValueError:
        flash(_("Choose a phase."), "error")
        return redirect(url_for("facilitators.compound_phases", code=code), 303)
    left = phases.current_phase(place)
    today = surveys.local_today()
    plan = plans.plan_of(session, place)
    why = plans.why_not_move(session, place, plan, phase, today)
    if why == "no_plan":
        flash(
            _(
                "Publish the renovation plan first (on the plan page): publishing it opens "
                "the public notice, and the owners' vote and the works follow the notice."
            ),
            "error",
        )
        return redirect(url_for("facilitators.compound_phases", code=code), 303)
    if why == "unpublished_changes":
        flash(
            _(
                "The plan was changed after it was published. Publish it again (residents "
                "get a new notice period) or undo the changes before moving on."
            ),
            "error",
        )
        return redirect(url_for("facilitators.compound_phases", code=code), 303)
    if why == "notice_running" and plan is not None and plan.notice_until is not None:
        # The notice is residents' time to object: it is not cut short.
        flash(
            _(
                "The public notice runs until %(date)s: residents may comment until then. "
                "The compound moves on after it ends.",
                date=format_day(plan.notice_until),
            ),
            "error",
        )
        return redirect(url_for("facilitators.compound_phases", code=code), 303)
    phases.move_to(session, place, phase, today)
    audit.record(
        session, current_user, "phases.move", f"compound:{code}", left=str(left), to=str(phase)
    )
    session.commit()
    flash(_("The compound is now in the phase: %(phase)s.", phase=name_of("cycle", phase)), "info")
    return redirect(url_for("facilitators.compound_phases", code=code), 303)
