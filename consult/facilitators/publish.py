"""Publishing the results (公示): the facilitator freezes a version residents read."""

from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.facilitators.forms import PublishForm
from consult.models import Compound, Publication, Role, Survey
from consult.services import audit, publications, surveys
from consult.services.ballots import commit_with_retry

Page = str | tuple[str, int] | BaseResponse


@bp.route("/c/<code>/publish", methods=["GET", "POST"])
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def publish(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place)
    today = surveys.local_today()
    minimum = current_app.config["PUBLIC_MIN_COUNT"]
    history = publications.versions(session, place)
    form = PublishForm()
    refused = False
    if not form.is_submitted():
        form.contact.data = history[0].contact if history else ""
        form.comments_until.data = publications.default_comments_until(
            today, current_app.config["PUBLIC_NOTICE_DAYS"]
        )
    if survey is not None and form.validate_on_submit():
        if form.comments_until.data < today:
            form.comments_until.errors = [_("The last day for objections cannot be in the past.")]
        else:
            try:
                # Two clicks at once collide on the version number: the second runs again.
                publication = commit_with_retry(
                    session,
                    lambda: _publish(session, place, survey, form, today, minimum),
                )
            except publications.NotEnoughAnswers:
                refused = True
                flash(
                    _(
                        "Nothing to publish yet: at least %(n)d households must have answered.",
                        n=minimum,
                    ),
                    "error",
                )
            else:
                flash(
                    _("Published: residents now see version %(v)d.", v=publication.version), "info"
                )
                return redirect(url_for("facilitators.publish", code=code), 303)
    preview = (
        publications.snapshot(session, place, survey, today, minimum=minimum) if survey else None
    )
    return render_template(
        "facilitators/publish.html",
        compound=place,
        survey=survey,
        preview=preview,
        history=history,
        form=form,
    ), (400 if form.errors or refused else 200)


def _publish(
    session: Session,
    place: Compound,
    survey: Survey,
    form: PublishForm,
    today: date,
    minimum: int,
) -> Publication:
    publication = publications.publish(
        session,
        place,
        survey,
        current_user,
        contact=form.contact.data,
        comments_until=form.comments_until.data,
        today=today,
        minimum=minimum,
    )
    audit.record(
        session,
        current_user,
        "results.publish",
        f"compound:{place.code}",
        version=publication.version,
    )
    return publication
