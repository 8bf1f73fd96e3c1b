"""The satisfaction survey (问效) as residents answer it, and its results in plain words."""

from __future__ import annotations

from typing import Any

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response as BaseResponse
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from consult.access import current_compound, public
from consult.db import get_session
from consult.limits import SUBMIT_LIMIT, limiter
from consult.models import Channel, Compound, Household, PlanItem, Survey, SurveyMode
from consult.models._base import row_id
from consult.residents import bp
from consult.residents.forms import (
    HomeForm,
    answering_household,
    picker_options,
)
from consult.services import places, surveys
from consult.services import satisfaction as service
from consult.services import satisfaction_results as figures
from consult.services.ballots import VerifiedAnswerExists, commit_with_retry

Page = str | tuple[str, int] | BaseResponse


def _score(text: str | None) -> int | None:
    """Read a 1-5 rating; None when not given; raises ValidationError when not on the scale."""
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdecimal()) or int(text) not in service.SCALE:
        raise ValidationError(_l("Choose one of the five answers."))
    return int(text)


class SatisfactionForm(HomeForm):
    """The satisfaction survey of one compound: who (as on the needs survey), the ratings."""

    overall = StringField(_l("Overall"))
    # Not "process": a form's own method has that name.
    construction = StringField(_l("The construction"))
    management = StringField(_l("Upkeep since"))

    def __init__(self, *args: Any, items: list[PlanItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        #: Plan item id -> the score given (checked), or as sent (shown again).
        self.item_scores: dict[int, int] = {}
        self.item_errors: dict[int, str] = {}

    def validate_overall(self, field: Field) -> None:
        if _score(field.data) is None:
            raise ValidationError(_l("Please say how satisfied you are overall."))

    def validate_construction(self, field: Field) -> None:
        _score(field.data)

    def validate_management(self, field: Field) -> None:
        _score(field.data)

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for item in self.items:
            key = row_id(item.id)
            try:
                given = _score(request.form.get(f"item-{key}"))
            except ValidationError as error:
                self.item_errors[key] = str(error)
                valid = False
                continue
            if given is not None:
                self.item_scores[key] = given
        return valid

    def ratings(self) -> service.Ratings:
        """Return the validated answer."""
        overall = _score(self.overall.data)
        assert overall is not None
        return service.Ratings(
            overall=overall,
            process=_score(self.construction.data),
            management=_score(self.management.data),
            items=dict(self.item_scores),
            comment=(self.comment.data or "").strip(),
        )


@bp.route("/c/<code>/satisfaction", methods=["GET", "POST"])
@public
@limiter.limit(SUBMIT_LIMIT, methods=["POST"])
def satisfaction(code: str) -> Page:
    return satisfaction_page(current_compound(code))


def takes_answers(compound: Compound) -> bool:
    """Whether the compound's satisfaction survey takes answers today (for the code link)."""
    survey = service.current(get_session(), compound)
    return service.why_not_answering(compound, survey, surveys.local_today()) is None


def satisfaction_page(
    compound: Compound, *, household: Household | None = None, household_code: str | None = None
) -> Page:
    """Show the satisfaction survey, or store a valid answer (by open link or household code)."""
    session = get_session()
    survey = service.current(session, compound)
    closed = service.why_not_answering(compound, survey, surveys.local_today())
    # A resident's mistake on a form opened with a household code is no guess at a code:
    # 422, which the code-guessing limit does not count (it counts 400, 401 and 404).
    status = (422 if household is not None else 400) if request.method == "POST" else 200
    if closed or survey is None:
        return render_template(
            "residents/satisfaction_closed.html", compound=compound, survey=survey, closed=closed
        ), status
    if household is None and survey.mode == SurveyMode.CODES:
        return render_template("residents/codes_only.html", compound=compound), status
    if household is not None and survey.mode == SurveyMode.OPEN:
        return render_template(
            "residents/open_link_only.html",
            compound=compound,
            start=url_for("residents.satisfaction", code=compound.code),
        ), status
    items = service.rated_items(session, compound)
    previous = service.answer_of(session, survey, household) if household else None
    form = SatisfactionForm(
        homes=places.Homes(session, compound) if household is None else None,
        items=items,
        comment_max=current_app.config["COMMENT_MAX_LENGTH"],
        compound_code=compound.code,
        data=_prefill(previous) if previous and request.method == "GET" else None,
    )
    if previous is not None and request.method == "GET":
        form.item_scores = service.scores_of(session, previous)
    if request.method == "POST":
        if form.validate():
            stored = _store(compound, survey, form, household)
            if stored is not None:
                return stored
        else:  # show what was sent, checked or not
            form.item_scores = _sent_scores(items)
    layout = places.layout(session, compound) if household is None else []
    response = make_response(
        render_template(
            "residents/satisfaction.html",
            compound=compound,
            survey=survey,
            form=form,
            items=items,
            household=household,
            previous=previous,
            options=picker_options(layout),
            layout_map={b.number: {u.number: u.rooms for u in b.units} for b in layout},
            action=url_for("residents.by_code", code=household_code)
            if household_code
            else url_for("residents.satisfaction", code=compound.code),
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _prefill(answer: Any) -> dict[str, object]:
    return {
        "overall": str(answer.overall or ""),
        "construction": str(answer.process or ""),
        "management": str(answer.management or ""),
        "comment": answer.comment,
    }


def _sent_scores(items: list[PlanItem]) -> dict[int, int]:
    sent: dict[int, int] = {}
    for item in items:
        text = request.form.get(f"item-{item.id}", "")
        if text in ("1", "2", "3", "4", "5"):
            sent[row_id(item.id)] = int(text)
    return sent


def _store(
    compound: Compound, survey: Survey, form: SatisfactionForm, household: Household | None
) -> Page | None:
    """Store the answer and redirect to the thank-you page; None with a form error."""
    session = get_session()
    verified = household is not None
    household = answering_household(form, household, survey)
    if household is None:
        return None
    key = form.submission_key
    assert key is not None
    target, ratings = household, form.ratings()
    try:
        commit_with_retry(
            session,
            lambda: service.submit_answer(
                session,
                survey=survey,
                household=target,
                ratings=ratings,
                submission_key=key,
                channel=Channel.INVITE if verified else Channel.QR,
                verified=verified,
            ),
        )
    except VerifiedAnswerExists:
        session.rollback()
        form.room.errors = [
            _(
                "This household has already answered with its household code. To change "
                "the answer, open the survey with the code on your slip."
            )
        ]
        return None
    return redirect(url_for("residents.satisfaction_thanks", code=compound.code), 303)


@bp.get("/c/<code>/satisfaction/thanks")
@public
def satisfaction_thanks(code: str) -> Page:
    compound = current_compound(code)
    return render_template("residents/satisfaction_thanks.html", compound=compound)


@bp.get("/c/<code>/satisfaction/results")
@public
def satisfaction_results(code: str) -> Page:
    session = get_session()
    compound = current_compound(code)
    survey = service.current(session, compound)
    minimum = current_app.config["PUBLIC_MIN_COUNT"]
    results = comparison = None
    if survey is not None:
        full = figures.results(session, compound, survey)
        results = figures.public(full, minimum)
        comparison = figures.public_comparison(
            figures.compare(session, compound, full, survey), minimum
        )
    return render_template(
        "residents/satisfaction_results.html",
        compound=compound,
        survey=survey,
        results=results,
        comparison=comparison,
        households=places.household_count(session, compound),
        minimum=minimum,
        closed=service.why_not_answering(compound, survey, surveys.local_today()),
    )
