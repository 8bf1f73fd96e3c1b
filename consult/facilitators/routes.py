"""Facilitators' routes (planners may read what concerns their compounds)."""

from __future__ import annotations

import segno
from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.models import Compound, Household, Role, SurveyMode
from consult.services import accounts, audit, codes, places, publications, surveys
from consult.services.ballots import commit_with_retry
from consult.services.tallies import METHODS, compound_menu, menu_options
from consult.urls import public_url

Page = str | tuple[str, int] | BaseResponse


@bp.get("/")
@requires()
def home() -> Page:
    if current_user.role == Role.PLANNER:  # the city page lists their compounds, compared
        return redirect(url_for("planners.city"))
    session = get_session()
    compounds = accounts.visible_compounds(session, current_user)
    rows = []
    for compound in compounds:
        survey = surveys.current_survey(session, compound)
        rows.append(
            {
                "compound": compound,
                "households": places.household_count(session, compound),
                "answered": surveys.answered_count(session, survey) if survey else 0,
                "survey": survey,
            }
        )
    return render_template("facilitators/home.html", rows=rows)


@bp.get("/c/<code>")
@requires(compound="read")
def compound(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    district, survey, _publication = publications.overview(session, place)
    with_code = session.exec(
        select(func.count())
        .select_from(Household)
        .where(Household.compound_id == place.id, col(Household.code_hash).is_not(None))
    ).one()
    return render_template(
        "facilitators/compound.html",
        compound=place,
        district=district,
        survey=survey,
        households=places.household_count(session, place),
        answered=surveys.answered_count(session, survey) if survey else 0,
        with_code=with_code,
        can_run=accounts.can_run(session, current_user, place),
        modes=list(SurveyMode),
    )


@bp.get("/c/<code>/menu")
@requires(compound="read")
def menu(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place)
    if survey is None:
        abort(404)
    method, verified_only = menu_options(
        survey, request.args.get("method", ""), request.args.get("verified", "")
    )
    result = compound_menu(session, place, survey, method=method, verified_only=verified_only)
    names = {item.id: item for item in surveys.offered_items(session, survey)}
    return render_template(
        "facilitators/menu.html",
        compound=place,
        survey=survey,
        menu=result,
        names=names,
        method=method,
        methods=METHODS,
        verified_only=verified_only,
    )


@bp.post("/c/<code>/survey/mode")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def survey_mode(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place)
    try:
        mode = SurveyMode(request.form.get("mode", ""))
    except ValueError:
        flash(_("Choose how households reach the survey."), "error")
        return redirect(url_for("facilitators.compound", code=code), 303)
    if survey is None:
        abort(404)
    survey.mode = mode
    session.add(survey)
    audit.record(session, current_user, "survey.mode", f"compound:{code}", mode=str(mode))
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("facilitators.compound", code=code), 303)


@bp.get("/c/<code>/codes")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def household_codes(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    rows = session.exec(
        select(Household.id, Household.label, Household.code_issued_at)
        .where(Household.compound_id == place.id)
        .order_by(col(Household.label))
    ).all()
    return render_template("facilitators/codes.html", compound=place, rows=rows)


@bp.post("/c/<code>/codes/issue")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def issue_codes(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    only_missing = request.form.get("all") != "1"
    secret = current_app.config["SECRET_KEY"]
    issued = commit_with_retry(
        session,
        lambda: _issue_and_record(session, place, only_missing=only_missing, secret=secret),
    )
    if not issued:
        flash(_("Every household already has a code."), "info")
        return redirect(url_for("facilitators.household_codes", code=code), 303)
    return _slips(place, issued)


@bp.post("/c/<code>/codes/<int(max=2147483647):household_id>/reissue")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def reissue_code(code: str, household_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    household = session.get(Household, household_id)
    if household is None or household.compound_id != place.id:
        abort(404)
    secret = current_app.config["SECRET_KEY"]
    issued = commit_with_retry(
        session,
        lambda: _issue_and_record(
            session, place, only_missing=False, secret=secret, household_ids=[household_id]
        ),
    )
    return _slips(place, issued)


@bp.post("/c/<code>/codes/<int(max=2147483647):household_id>/revoke")
@requires(Role.ADMIN, Role.FACILITATOR, compound="run")
def revoke_code(code: str, household_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    household = session.get(Household, household_id)
    if household is None or household.compound_id != place.id:
        abort(404)
    codes.revoke_code(session, household)
    audit.record(session, current_user, "codes.revoke", f"household:{code}/{household.label}")
    session.commit()
    flash(_("The code of %(label)s no longer works.", label=household.label), "info")
    return redirect(url_for("facilitators.household_codes", code=code), 303)


def _issue_and_record(
    session: Session,
    place: Compound,
    *,
    only_missing: bool,
    secret: str,
    household_ids: list[int] | None = None,
) -> list[codes.IssuedCode]:
    issued = codes.issue_codes(
        session, secret, place, only_missing=only_missing, household_ids=household_ids
    )
    audit.record(
        session,
        current_user,
        "codes.issue",
        f"compound:{place.code}",
        households=len(issued),
        replaced=not only_missing,
    )
    return issued


def _slips(place: Compound, issued: list[codes.IssuedCode]) -> Page:
    """Render the printable slips: the only time the codes exist in plain text."""
    slips = [
        {
            "label": code.label,
            "code": codes.format_code(code.code),
            "qr": segno.make(
                public_url(url_for("residents.by_code", code=code.code)), error="m"
            ).svg_data_uri(scale=3, border=1),
        }
        for code in issued
    ]
    response = make_response(
        render_template(
            "facilitators/slips.html",
            compound=place,
            slips=slips,
            entry_url=public_url(url_for("residents.enter_code")),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response
