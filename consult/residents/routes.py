"""Residents' routes: thin views over the services."""

from __future__ import annotations

import io

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlmodel import SQLModel, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, public
from consult.db import get_session
from consult.errors import csrf_message, render_error
from consult.i18n import large_text
from consult.limits import GUESS_LIMIT, SUBMIT_LIMIT, failed, limiter
from consult.models import (
    Ballot,
    Channel,
    Compound,
    Household,
    MeetingStatus,
    Survey,
    SurveyMode,
    Tenure,
)
from consult.residents import bp, form_cache
from consult.residents import satisfaction as rating_pages
from consult.residents.form_cache import rendered_forms
from consult.residents.forms import (
    AnsweringHomes,
    SurveyForm,
    answering_household,
    new_submission_token,
    picker_options,
)
from consult.security import csrf
from consult.services import ballots as ballot_service
from consult.services import (
    codes,
    consent_votes,
    phases,
    places,
    plans,
    publications,
    satisfaction,
    surveys,
    works,
)
from consult.services.meetings import compound_meetings
from consult.urls import public_url

Page = str | tuple[str, int] | BaseResponse


def _progress(compound: Compound, survey: Survey | None) -> dict[str, int]:
    session = get_session()
    total = places.household_count(session, compound)
    answered = surveys.answered_count(session, survey) if survey else 0
    percent = round(100 * answered / total) if total else 0
    return {"answered": answered, "total": total, "percent": percent}


@bp.get("/")
@public
def index() -> Page:
    session = get_session()
    compounds = session.exec(select(Compound).order_by(Compound.code)).all()
    return render_template("residents/index.html", compounds=compounds)


@bp.get("/favicon.ico")
@public
def favicon() -> Page:
    return redirect(url_for("static", filename="img/favicon.svg"), 301)


@bp.get("/c/<code>")
@public
def landing(code: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    district, survey, publication = publications.overview(session, compound)
    today = surveys.local_today()
    plan = plans.plan_of(session, compound)
    published_plan = plan if plan is not None and plan.published is not None else None
    rating = satisfaction.current(session, compound)
    return render_template(
        "residents/landing.html",
        compound=compound,
        phase=str(phases.current_phase(compound)),
        meetings=[
            m
            for m in compound_meetings(session, compound)
            if m.status in (MeetingStatus.IN_PROGRESS, MeetingStatus.PUBLISHED)
        ],
        district=district,
        survey=survey,
        closed=surveys.why_closed(survey),
        progress=_progress(compound, survey),
        publication=publication,
        steps=phases.timeline(session, compound),
        plan=published_plan,
        notice_open=plans.notice_open(compound, published_plan, today),
        votes=consent_votes.votes_of(session, compound, drafts=False),
        works_begun=works.has_begun(compound),
        rating=rating,
        rating_closed=satisfaction.why_not_answering(compound, rating, today),
    )


@bp.route("/c/<code>/survey", methods=["GET", "POST"])
@public
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
def survey(code: str) -> Page:
    since = form_cache.generation()  # before anything is read
    if request.method == "GET":
        kept = _recently_checked_form(code)
        if kept is not None:
            return _form_response(kept, 200)
    # The compound, its survey and what the survey offers: one statement.
    found = surveys.compound_and_survey(get_session(), code)
    if found is None:
        abort(404)
    return _survey_page(found.compound, since=since, found=found)


@bp.route("/h/<code>", methods=["GET", "POST"])
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed)
@csrf.exempt  # type: ignore[untyped-decorator]  # checked inside the rate limit below
def by_code(code: str) -> Page:
    if request.method == "POST":
        try:
            csrf.protect()
        except CSRFError:
            return render_error(400, csrf_message())
    household = codes.household_by_code(get_session(), current_app.config["SECRET_KEY"], code)
    if household is None:
        return render_template("residents/code_unknown.html", code=code[:20]), 404
    compound = get_session().get(Compound, household.compound_id)
    assert compound is not None
    if rating_pages.takes_answers(compound):  # after the works the code asks how they went
        return rating_pages.satisfaction_page(
            compound, household=household, household_code=codes.normalize_code(code)
        )
    survey = surveys.current_survey(get_session(), compound)
    if survey is not None and survey.mode == SurveyMode.OPEN:
        return render_template(
            "residents/open_link_only.html",
            compound=compound,
            start=url_for("residents.survey", code=compound.code),
        )
    return _survey_page(compound, household=household, household_code=codes.normalize_code(code))


@bp.get("/h")
@public
def enter_code() -> Page:
    typed = codes.normalize_code(request.args.get("code", ""))
    if typed:
        return redirect(url_for("residents.by_code", code=typed), 303)
    return render_template("residents/enter_code.html")


@bp.errorhandler(CSRFError)
def csrf_expired(error: CSRFError) -> Page:
    """Keep a resident's answers when the form's token had expired: show them to send again."""
    args = request.view_args or {}
    session = get_session()
    if request.endpoint == "residents.survey":
        compound = places.compound_by_code(session, args.get("code", ""))
        if compound is not None:
            return _survey_page(compound, token_expired=True)
    return render_error(400, csrf_message())


def _survey_page(
    compound: Compound,
    *,
    household: Household | None = None,
    household_code: str | None = None,
    token_expired: bool = False,
    since: int | None = None,
    found: surveys.CompoundSurvey | None = None,
) -> Page:
    """Show the survey, or store a valid answer (by open link, or by household code).

    `since`: the generation of kept-page data taken before the compound was read; with
    it, the open link's empty form is noted as checked (see form_cache).
    `found`: the compound's current survey and the ids it offers, read with the compound.
    """
    session = get_session()
    survey = found.survey if found is not None else surveys.current_survey(session, compound)
    closed = surveys.why_closed(survey)
    # A resident's mistake on a form opened with a household code is no guess at a code:
    # 422, which the code-guessing limit does not count (it counts 400, 401 and 404).
    status = (422 if household is not None else 400) if request.method == "POST" else 200
    if closed or survey is None:
        return render_template(
            "residents/closed.html", compound=compound, survey=survey, closed=closed
        ), status
    if household is None and survey.mode == SurveyMode.CODES:
        return render_template("residents/codes_only.html", compound=compound), status
    # A submission checks the ticked items against the ids read with the survey; the
    # items themselves are read only when the form is shown.
    checking = request.method == "POST" and not token_expired and found is not None
    items = () if checking else surveys.offered_menu(session, survey)
    # The open link's empty form is the same page for every phone: kept once rendered.
    blank = (
        request.method == "GET"
        and household is None
        and not token_expired
        and not flask_session.get("_flashes")
    )
    page_key = _form_key(compound, survey, items) if blank else None
    if page_key is not None:
        if since is not None:
            rendered_forms().checked(_open_link(compound.code), page_key, since)
        page = rendered_forms().fill(page_key, generate_csrf(), new_submission_token(compound.code))
        if page is not None:
            return _form_response(page, status)
    previous = ballot_service.current_ballot(session, survey, household) if household else None
    form = SurveyForm(
        homes=AnsweringHomes(session, compound) if household is None else None,
        items=items,
        offered=found.offered if checking and found is not None else None,
        rank_depth=survey.rank_depth,
        comment_max=current_app.config["COMMENT_MAX_LENGTH"],
        compound_code=compound.code,
        household_label=household.label if household else None,
        data=_prefill(previous) if previous and request.method == "GET" else None,
    )
    if request.method == "POST" and not token_expired and form.validate():
        stored = _store(compound, survey, form, household)
        if stored is not None:
            return stored
    if checking:  # the form is shown again, with its messages
        items = form.items = surveys.offered_menu(session, survey)
    # The pickers need the whole layout only when the form is shown.
    layout = places.layout(session, compound) if household is None else []
    page = render_template(
        "residents/survey.html",
        compound=compound,
        survey=survey,
        form=form,
        items=items,
        labels=_labels(items),
        options=picker_options(layout),
        layout_map={b.number: {u.number: u.rooms for u in b.units} for b in layout},
        token_expired=token_expired,
        household=household,
        household_code=household_code,
        previous=previous,
        action=url_for("residents.by_code", code=household_code)
        if household_code
        else url_for("residents.survey", code=compound.code),
    )
    if page_key is not None:
        rendered_forms().keep(page_key, page, generate_csrf(), form.token.data or "")
    return _form_response(page, status)


def _open_link(code: str) -> tuple[str, str, bool]:
    """The open link's form as a phone asks for it: compound, language, text size."""
    return code, str(get_locale()), large_text()


def _recently_checked_form(code: str) -> str | None:
    """Return the open link's kept form if this worker checked it a moment ago, else None."""
    if flask_session.get("_flashes"):
        return None
    forms = rendered_forms()
    max_age = int(current_app.config["SURVEY_FORM_FRESH_MS"] or 0) / 1000
    page_key = forms.recent(_open_link(code), max_age)
    if page_key is None:
        return None
    return forms.fill(page_key, generate_csrf(), new_submission_token(code))


def _form_key(
    compound: Compound, survey: Survey, items: tuple[surveys.MenuItem, ...]
) -> tuple[object, ...]:
    """Return everything the open link's empty form shows, as the key it is kept under."""
    return (
        _columns(compound),
        _columns(survey),
        items,
        places.layout_stamp(get_session(), compound),
        *_open_link(compound.code),
        current_app.config["COMMENT_MAX_LENGTH"],
    )


def _columns(row: SQLModel) -> tuple[object, ...]:
    """Return a row's column values (what a page may show of it)."""
    return tuple(getattr(row, column.key) for column in row.__table__.columns)  # type: ignore[attr-defined]


def _form_response(page: str, status: int) -> BaseResponse:
    response = make_response(page, status)
    # Back after sending must fetch a fresh form (and key), not resend the old one.
    response.headers["Cache-Control"] = "no-store"
    return response


def _labels(items: tuple[surveys.MenuItem, ...]) -> dict[str, str]:
    """Return the items' names in the page's language (looked up once, not per picker)."""
    english = str(get_locale()).startswith("en")
    return {item.id: item.name_en if english else item.name_zh for item in items}


def _prefill(ballot: Ballot) -> dict[str, object]:
    answers = ballot_service.answers_of(get_session(), ballot)
    return {
        "approve": answers.approve,
        "priority": answers.priorities,
        "elderly": answers.elderly,
        "children": answers.children,
        "mobility": answers.mobility,
        "tenure": str(answers.tenure) if answers.tenure else "",
        "comment": answers.comment,
    }


def _store(
    compound: Compound, survey: Survey, form: SurveyForm, household: Household | None
) -> Page | None:
    """Store the answer and redirect to the thank-you page; None with a form error."""
    session = get_session()
    verified = household is not None
    household = answering_household(form, household, survey)
    if household is None:
        return None
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
    target = household
    try:
        submitted = ballot_service.commit_with_retry(
            session,
            lambda: ballot_service.submit_ballot(
                session,
                survey=survey,
                household=target,
                answers=answers,
                submission_key=key,
                channel=Channel.INVITE if verified else Channel.QR,
                verified=verified,
            ),
        )
    except ballot_service.VerifiedAnswerExists:
        session.rollback()
        form.room.errors = [
            _(
                "This household has already answered with its household code. To change "
                "the answer, open the survey with the code on your slip."
            )
        ]
        return None
    flash(str(submitted.outcome), "outcome")
    return redirect(
        url_for("residents.thanks", code=compound.code, receipt=submitted.ballot.receipt), 303
    )


@bp.get("/c/<code>/thanks/<receipt>")
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed)
def thanks(code: str, receipt: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    ballot = ballot_service.ballot_by_receipt(session, receipt)
    survey = session.get(Survey, ballot.survey_id) if ballot else None
    if ballot is None or survey is None or survey.compound_id != compound.id:
        abort(404)
    return render_template(
        "residents/thanks.html",
        compound=compound,
        receipt=ballot_service.format_receipt(ballot.receipt),
        raw_receipt=ballot.receipt,
        progress=_progress(compound, survey),
    )


@bp.get("/r")
@public
def enter_receipt() -> Page:
    typed = ballot_service.normalize_receipt(request.args.get("receipt", ""))
    if typed:
        return redirect(url_for("residents.my_answer", receipt=typed[:16]), 303)
    return render_template("residents/enter_receipt.html")


@bp.get("/r/<receipt>")
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed)
def my_answer(receipt: str) -> Page:
    session = get_session()
    ballot = ballot_service.ballot_by_receipt(session, receipt)
    if ballot is None:
        return render_template("residents/receipt_unknown.html"), 404
    survey = session.get(Survey, ballot.survey_id)
    household = session.get(Household, ballot.household_id)
    assert survey is not None and household is not None
    compound = session.get(Compound, survey.compound_id)
    names = {item.id: item for item in surveys.offered_items(session, survey)}
    return render_template(
        "residents/my_answer.html",
        ballot=ballot,
        compound=compound,
        household=household,
        answers=ballot_service.answers_of(session, ballot),
        names=names,
        receipt=ballot_service.format_receipt(ballot.receipt),
        open=surveys.why_closed(survey) is None,
    )


@bp.post("/r/<receipt>/withdraw")
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed)
def withdraw(receipt: str) -> Page:
    session = get_session()
    ballot = ballot_service.ballot_by_receipt(session, receipt)
    if ballot is None:
        return render_template("residents/receipt_unknown.html"), 404
    survey = session.get(Survey, ballot.survey_id)
    if survey is None or surveys.why_closed(survey) is not None:
        return render_error(400, _("The survey has closed; answers can no longer be withdrawn."))
    if ballot_service.withdraw_ballot(session, ballot):
        session.commit()
        flash(_("Your answer is withdrawn and no longer counted."), "info")
    return redirect(url_for("residents.my_answer", receipt=ballot.receipt), 303)


@bp.get("/c/<code>/results")
@public
def results(code: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    survey = surveys.current_survey(session, compound)
    version = request.args.get("v", "")
    if version and not (version.isascii() and version.isdecimal() and len(version) < 6):
        abort(404)
    publication = publications.published(session, compound, int(version) if version else None)
    if version and publication is None:
        abort(404)
    latest = (
        publication
        if publication is None or not version
        else publications.published(session, compound)
    )
    return render_template(
        "residents/results.html",
        compound=compound,
        survey=survey,
        publication=publication,
        latest=latest,
        published=publication.content if publication else None,
        progress=_progress(compound, survey),
    )


def _qr(compound: Compound) -> segno.QRCode:
    return segno.make(public_url(url_for("residents.landing", code=compound.code)), error="m")


@bp.get("/c/<code>/qr.svg")
@public
def qr_svg(code: str) -> Page:
    buffer = io.BytesIO()
    _qr(current_compound(code)).save(buffer, kind="svg", scale=8, border=2, xmldecl=False)
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers=_cache_day())


@bp.get("/c/<code>/qr.png")
@public
def qr_png(code: str) -> Page:
    buffer = io.BytesIO()
    _qr(current_compound(code)).save(buffer, kind="png", scale=10, border=2)
    return Response(buffer.getvalue(), mimetype="image/png", headers=_cache_day())


@bp.get("/c/<code>/poster")
@public
def poster(code: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    survey = surveys.current_survey(session, compound)
    return render_template(
        "residents/poster.html",
        compound=compound,
        survey=survey,
        url=public_url(url_for("residents.landing", code=compound.code)),
    )


def _cache_day() -> dict[str, str]:
    return {"Cache-Control": "public, max-age=86400"}
