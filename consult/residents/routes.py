"""Residents' routes: thin views over the services."""

from __future__ import annotations

import io

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlmodel import select
from werkzeug.wrappers import Response as BaseResponse

from consult.db import get_session
from consult.errors import csrf_message, render_error
from consult.models import Ballot, Compound, Survey, Tenure
from consult.residents import bp
from consult.residents.forms import SurveyForm
from consult.services import ballots as ballot_service
from consult.services import places, surveys
from consult.services.results import public_results

Page = str | tuple[str, int] | BaseResponse


def _compound_or_404(code: str) -> Compound:
    compound = places.compound_by_code(get_session(), code)
    if compound is None:
        abort(404)
    return compound


def _progress(compound: Compound, survey: Survey | None) -> dict[str, int]:
    session = get_session()
    total = places.household_count(session, compound)
    answered = surveys.answered_count(session, survey) if survey else 0
    percent = round(100 * answered / total) if total else 0
    return {"answered": answered, "total": total, "percent": percent}


def survey_url(compound: Compound) -> str:
    """Return the absolute address the compound's QR code opens."""
    base = current_app.config.get("PUBLIC_URL")
    path = url_for("residents.landing", code=compound.code)
    return (
        base.rstrip("/") + path
        if base
        else url_for("residents.landing", code=compound.code, _external=True)
    )


@bp.get("/")
def index() -> Page:
    session = get_session()
    compounds = session.exec(select(Compound).order_by(Compound.code)).all()
    return render_template("residents/index.html", compounds=compounds)


@bp.get("/favicon.ico")
def favicon() -> Page:
    return redirect(url_for("static", filename="img/favicon.svg"), 301)


@bp.get("/c/<code>")
def landing(code: str) -> Page:
    compound = _compound_or_404(code)
    survey = surveys.current_survey(get_session(), compound)
    return render_template(
        "residents/landing.html",
        compound=compound,
        district=places.district_of(get_session(), compound),
        survey=survey,
        closed=surveys.why_closed(survey),
        progress=_progress(compound, survey),
    )


@bp.route("/c/<code>/survey", methods=["GET", "POST"])
def survey(code: str) -> Page:
    return _survey_page(code)


@bp.errorhandler(CSRFError)
def csrf_expired(error: CSRFError) -> Page:
    """Keep a resident's answers when the form's token had expired: show them to send again."""
    if request.endpoint == "residents.survey" and request.view_args:
        return _survey_page(request.view_args["code"], token_expired=True)
    return render_error(400, csrf_message())


def _survey_page(code: str, token_expired: bool = False) -> Page:
    session = get_session()
    compound = _compound_or_404(code)
    survey = surveys.current_survey(session, compound)
    closed = surveys.why_closed(survey)
    if closed or survey is None:
        status = 400 if request.method == "POST" else 200
        return render_template(
            "residents/closed.html", compound=compound, survey=survey, closed=closed
        ), status
    items = surveys.offered_items(session, survey)
    form = SurveyForm(
        layout=places.layout(session, compound),
        items=items,
        rank_depth=survey.rank_depth,
        comment_max=current_app.config["COMMENT_MAX_LENGTH"],
        compound_code=compound.code,
    )
    status = 200
    if token_expired:
        status = 400
    elif request.method == "POST":
        if form.validate():
            return _store(compound, survey, form)
        status = 400
    return render_template(
        "residents/survey.html",
        compound=compound,
        survey=survey,
        form=form,
        items=items,
        layout_map={b.number: {u.number: u.rooms for u in b.units} for b in form.layout},
        progress=_progress(compound, survey),
        token_expired=token_expired,
    ), status


def _store(compound: Compound, survey: Survey, form: SurveyForm) -> Page:
    session = get_session()
    household = places.find_household(
        session, compound, form.building.data, form.unit.data, form.room.data
    )
    if household is None:  # validated above; a household removed meanwhile
        form.room.errors = [_("This unit has no such room.")]
        return render_error(400)
    answers = ballot_service.Answers(
        approve=list(form.approve.data),
        priorities=list(form.priority.data),
        elderly=form.elderly.data,
        children=form.children.data,
        mobility=form.mobility.data,
        tenure=Tenure(form.tenure.data) if form.tenure.data else None,
        comment=(form.comment.data or "").strip(),
    )
    key = form.submission_key
    assert key is not None
    submitted = ballot_service.commit_with_retry(
        session,
        lambda: ballot_service.submit_ballot(
            session, survey=survey, household=household, answers=answers, submission_key=key
        ),
    )
    flash(str(submitted.outcome), "outcome")
    return redirect(
        url_for("residents.thanks", code=compound.code, receipt=submitted.ballot.receipt), 303
    )


@bp.get("/c/<code>/thanks/<receipt>")
def thanks(code: str, receipt: str) -> Page:
    session = get_session()
    compound = _compound_or_404(code)
    ballot = session.exec(select(Ballot).where(Ballot.receipt == receipt.upper())).first()
    survey = session.get(Survey, ballot.survey_id) if ballot else None
    if ballot is None or survey is None or survey.compound_id != compound.id:
        abort(404)
    return render_template(
        "residents/thanks.html",
        compound=compound,
        receipt=ballot_service.format_receipt(ballot.receipt),
        progress=_progress(compound, survey),
    )


@bp.get("/c/<code>/results")
def results(code: str) -> Page:
    session = get_session()
    compound = _compound_or_404(code)
    survey = surveys.current_survey(session, compound)
    return render_template(
        "residents/results.html",
        compound=compound,
        survey=survey,
        results=public_results(session, compound, survey) if survey else None,
        progress=_progress(compound, survey),
    )


def _qr(compound: Compound) -> segno.QRCode:
    return segno.make(survey_url(compound), error="m")


@bp.get("/c/<code>/qr.svg")
def qr_svg(code: str) -> Page:
    buffer = io.BytesIO()
    _qr(_compound_or_404(code)).save(buffer, kind="svg", scale=8, border=2, xmldecl=False)
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers=_cache_day())


@bp.get("/c/<code>/qr.png")
def qr_png(code: str) -> Page:
    buffer = io.BytesIO()
    _qr(_compound_or_404(code)).save(buffer, kind="png", scale=10, border=2)
    return Response(buffer.getvalue(), mimetype="image/png", headers=_cache_day())


@bp.get("/c/<code>/poster")
def poster(code: str) -> Page:
    session = get_session()
    compound = _compound_or_404(code)
    survey = surveys.current_survey(session, compound)
    return render_template(
        "residents/poster.html",
        compound=compound,
        survey=survey,
        url=survey_url(compound),
    )


def _cache_day() -> dict[str, str]:
    return {"Cache-Control": "public, max-age=86400"}
