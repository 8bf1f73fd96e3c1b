"""Paper questionnaires: print them, and type them back in fast, keyboard only."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.facilitators.forms import PaperEntryForm
from consult.models import Channel, Compound, Household, Role, Survey, Tenure
from consult.services import audit, surveys
from consult.services import ballots as ballot_service
from consult.services.coverage import compound_coverage
from consult.services.paper import numbered

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)


def _survey_or_404(code: str) -> tuple[Compound, Survey]:
    place = current_compound(code)
    survey = surveys.current_survey(get_session(), place)
    if survey is None:
        abort(404)
    return place, survey


def _closed_notice(place: Compound, survey: Survey) -> Page | None:
    """Refuse paper answers once the survey has closed (or before it opens)."""
    if surveys.why_closed(survey) is None:
        return None
    return render_template(
        "residents/closed.html", compound=place, survey=survey, closed=surveys.why_closed(survey)
    ), 400


@bp.get("/c/<code>/paper")
@requires(*RUN, compound="run")
def paper_questionnaire(code: str) -> Page:
    """Print questionnaires: blank, or one per household not heard yet (?for=missing)."""
    session = get_session()
    place, survey = _survey_or_404(code)
    if request.args.get("for") == "missing":
        labels = [
            label
            for unit in compound_coverage(session, place, survey).units
            for label in unit.not_heard
        ]
    else:
        labels = [""]
    return render_template(
        "facilitators/paper.html",
        compound=place,
        survey=survey,
        items=numbered(surveys.offered_items(session, survey)),
        labels=labels,
    )


@bp.route("/c/<code>/paper/entry", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def paper_entry(code: str) -> Page:
    session = get_session()
    place, survey = _survey_or_404(code)
    items = surveys.offered_items(session, survey)
    labels = set(
        session.exec(select(Household.label).where(Household.compound_id == place.id)).all()
    )
    form = PaperEntryForm(
        labels=labels,
        items=items,
        rank_depth=survey.rank_depth,
        comment_max=current_app.config["COMMENT_MAX_LENGTH"],
        compound_code=code,
    )
    previous = None
    status = 200
    if request.method == "POST" and (refused := _closed_notice(place, survey)):
        return refused
    if request.method == "POST":
        status = 400
        if form.validate():
            household = session.exec(
                select(Household).where(
                    Household.compound_id == place.id,
                    Household.label == form.household.data,
                )
            ).one()
            previous = ballot_service.current_ballot(session, survey, household)
            asked = form.decision.data
            if previous is not None and previous.channel != Channel.PAPER and not asked:
                # Answered online already: the facilitator says which answer stands.
                status = 409
            elif asked == "keep":
                flash(
                    _(
                        "Kept the earlier answer of %(label)s; the paper one was not stored.",
                        label=household.label,
                    ),
                    "info",
                )
                return redirect(url_for("facilitators.paper_entry", code=code), 303)
            else:
                return _store(form, survey, household, code)
    return render_template(
        "facilitators/paper_entry.html",
        compound=place,
        survey=survey,
        form=form,
        items=numbered(items),
        labels=sorted(labels),
        previous=previous,
        previous_answers=ballot_service.answers_of(session, previous) if previous else None,
        names={item.id: item for item in items},
    ), status


def _store(form: PaperEntryForm, survey: Survey, household: Household, code: str) -> Page:
    session = get_session()
    answers = ballot_service.Answers(
        approve=form.approved_ids,
        priorities=form.priority_ids,
        elderly=form.elderly.data,
        children=form.children.data,
        mobility=form.mobility.data,
        tenure=Tenure(form.tenure.data) if form.tenure.data else None,
        comment=(form.comment.data or "").strip(),
    )
    key = form.submission_key
    assert key is not None

    def work() -> ballot_service.Submitted:
        submitted = ballot_service.submit_ballot(
            session,
            survey=survey,
            household=household,
            answers=answers,
            submission_key=key,
            channel=Channel.PAPER,
            verified=True,
            entered_by=current_user.id,
        )
        if submitted.outcome != ballot_service.Outcome.DUPLICATE:
            audit.record(
                session,
                current_user,
                "paper.enter",
                f"household:{code}/{household.label}",
                outcome=str(submitted.outcome),
            )
        return submitted

    submitted = ballot_service.commit_with_retry(session, work)
    flash(
        _(
            "Saved %(label)s (receipt %(receipt)s).",
            label=household.label,
            receipt=ballot_service.format_receipt(submitted.ballot.receipt),
        ),
        "info",
    )
    return redirect(url_for("facilitators.paper_entry", code=code), 303)
