"""The satisfaction survey (问效): opening it and reading its results beside the needs."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import DateField, Field, StringField
from wtforms.validators import Optional, ValidationError

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.models import Phase, Role, SurveyMode
from consult.services import accounts, audit, phases, surveys
from consult.services import satisfaction as service
from consult.services import satisfaction_results as figures
from consult.urls import public_url

Page = str | tuple[str, int] | BaseResponse


class OpenSatisfactionForm(FlaskForm):  # type: ignore[misc]
    """How households reach the satisfaction survey, and its last day."""

    mode = StringField(_l("Households answer"))
    closes_on = DateField(_l("Last day for answers"), validators=[Optional()])

    def validate_mode(self, field: Field) -> None:
        if field.data not in {str(mode) for mode in SurveyMode}:
            raise ValidationError(_l("Choose how households reach the survey."))

    def validate_closes_on(self, field: Field) -> None:
        if field.data and field.data < surveys.local_today():
            raise ValidationError(_l("The last day cannot be in the past."))


@bp.get("/c/<code>/satisfaction")
@requires(compound="read")
def satisfaction(code: str) -> Page:
    form = OpenSatisfactionForm()
    survey = service.current(get_session(), current_compound(code))
    form.mode.data = str(survey.mode) if survey else str(SurveyMode.BOTH)
    form.closes_on.data = survey.closes_on if survey else None
    return _page(code, form)


@bp.post("/c/<code>/satisfaction")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def satisfaction_run(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    action = request.form.get("action", "")
    form = OpenSatisfactionForm()
    if phases.current_phase(place) != Phase.EVALUATION and action != "close":
        flash(
            _("The satisfaction survey belongs to the phase “Asking results”: nothing changed."),
            "error",
        )
        return redirect(url_for("facilitators.satisfaction", code=code), 303)
    if action == "open":
        if not form.validate():
            return _page(code, form, 400)
        survey = service.open_survey(
            session,
            place,
            mode=SurveyMode(form.mode.data),
            closes_on=form.closes_on.data,
            today=surveys.local_today(),
        )
        audit.record(
            session,
            current_user,
            "satisfaction.open",
            f"compound:{code}",
            mode=str(survey.mode),
            closes_on=survey.closes_on,
        )
        message = _("The satisfaction survey is open.")
    elif action == "close":
        try:
            service.close_survey(session, place)
        except service.SatisfactionError:
            flash(_("The satisfaction survey is not open: nothing changed."), "error")
            return redirect(url_for("facilitators.satisfaction", code=code), 303)
        audit.record(session, current_user, "satisfaction.close", f"compound:{code}")
        message = _("The satisfaction survey is closed.")
    else:
        flash(_("Nothing changed."), "error")
        return redirect(url_for("facilitators.satisfaction", code=code), 303)
    session.commit()
    flash(message, "info")
    return redirect(url_for("facilitators.satisfaction", code=code), 303)


def _page(code: str, form: OpenSatisfactionForm, status: int = 200) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = service.current(session, place)
    results = comparison = None
    if survey is not None:
        results = figures.results(session, place, survey)
        comparison = figures.compare(session, place, results, survey)
    return render_template(
        "facilitators/satisfaction.html",
        compound=place,
        survey=survey,
        phase=phases.current_phase(place),
        in_phase=phases.current_phase(place) == Phase.EVALUATION,
        closed=service.why_not_answering(place, survey, surveys.local_today()),
        items=service.rated_items(session, place),
        results=results,
        comparison=comparison,
        form=form,
        modes=list(SurveyMode),
        can_run=accounts.can_run(session, current_user, place),
        minimum=current_app.config["PUBLIC_MIN_COUNT"],
        link=public_url(url_for("residents.satisfaction", code=place.code)),
    ), status
