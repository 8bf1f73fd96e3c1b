"""Owners' consent: voting by household code, and the public result."""

from __future__ import annotations

from datetime import date

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
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, public
from consult.consent import Choice
from consult.db import get_session
from consult.labels import name_of
from consult.limits import GUESS_LIMIT, failed, limiter
from consult.models import Compound, ConsentStatus, ConsentVote
from consult.residents import bp
from consult.residents.forms import new_submission_token, read_submission_token
from consult.services import codes
from consult.services import consent_ballots as ballots
from consult.services import consent_votes as votes
from consult.services.ballots import commit_with_retry
from consult.services.phases import current_phase
from consult.services.surveys import local_today

Page = str | tuple[str, int] | BaseResponse
VOTE_ID = "<int(max=2147483647):vote_id>"


@bp.app_template_global("consent_name")
def consent_name(code: object) -> str:
    """Name a consent kind, outcome, scope or channel in the page's language."""
    return name_of("consent", code)


def scope_names(votes_shown: list[ConsentVote]) -> dict[int | None, tuple[str | None, str | None]]:
    """Return the building and unit numbers of each vote's scope, for `scope_text`."""
    session = get_session()
    return {vote.id: votes.scope_names(session, vote) for vote in votes_shown}


@bp.get("/c/<code>/consent")
@public
def consent_votes(code: str) -> Page:
    compound = current_compound(code)
    shown = votes.votes_of(get_session(), compound, drafts=False)
    return render_template(
        "residents/consent_votes.html",
        compound=compound,
        votes=shown,
        names=scope_names(shown),
        taking_votes=votes.takes_votes(compound),
    )


@bp.route(f"/c/<code>/consent/{VOTE_ID}", methods=["GET", "POST"])
@public
@limiter.limit(GUESS_LIMIT, deduct_when=failed, methods=["POST"])
def consent_vote(code: str, vote_id: int) -> Page:
    compound = current_compound(code)
    vote = votes.vote_of(get_session(), compound, vote_id)
    if vote is None or vote.status == ConsentStatus.DRAFT:
        abort(404)
    today = local_today()
    if request.method == "POST":
        return _cast(compound, vote, today)
    return _page(compound, vote, today)


def _page(
    compound: Compound,
    vote: ConsentVote,
    today: date,
    *,
    error: str | None = None,
    already: str | None = None,
    status: int = 200,
) -> Page:
    session = get_session()
    tally, rule = votes.result(session, vote, votes.settled_rules(current_app.config))
    response = make_response(
        render_template(
            "residents/consent_vote.html",
            compound=compound,
            vote=vote,
            names=scope_names([vote]),
            tally=tally,
            rule=rule,
            closed_why=votes.why_not_voting(vote, compound, today),
            phase=current_phase(compound),
            token=new_submission_token(compound.code),
            error=error,
            already=already,
            typed_choice=request.form.get("choice", ""),
        ),
        status,
    )
    # Back after voting must fetch a fresh form (and key), not show the used one.
    response.headers["Cache-Control"] = "no-store"
    return response


def _cast(compound: Compound, vote: ConsentVote, today: date) -> Page:
    """Count a household's vote once; refuse clearly what cannot be counted."""
    session = get_session()
    why = votes.why_not_voting(vote, compound, today)
    if why is not None:
        return _page(compound, vote, today, status=409)
    key = read_submission_token(request.form.get("token", ""), compound.code)
    if key is None:
        return _page(
            compound, vote, today, error=_("This form had expired. Please vote again."), status=400
        )
    try:
        choice = Choice(request.form.get("choice", ""))
    except ValueError:
        return _page(compound, vote, today, error=_("Choose for, against or abstain."), status=400)
    secret = current_app.config["SECRET_KEY"]
    household = codes.household_by_code(session, secret, request.form.get("household_code", ""))
    if household is None:
        error = _("No household has this code. Check the code on the slip under your door.")
        return _page(compound, vote, today, error=error, status=400)
    try:
        voted = commit_with_retry(
            session,
            lambda: ballots.cast_by_code(session, vote, household, choice, key=key, today=today),
        )
    except votes.ConsentError as refused:
        session.rollback()
        if refused.reason == "out_of_scope":
            error = _(
                "Household %(label)s is not among the owners asked in this vote.",
                label=household.label,
            )
            return _page(compound, vote, today, error=error, status=400)
        if refused.reason == "stale_form":
            error = _("That form was used already; here is a fresh one. Please vote again.")
            return _page(compound, vote, today, error=error, status=409)
        return _page(compound, vote, today, status=409)
    if voted.outcome == ballots.Cast.ALREADY:
        already = _(
            "Household %(label)s has voted already (%(choice)s). A vote is cast once and is not "
            "changed here; if it is wrong, tell the residents' committee.",
            label=household.label,
            choice=name_of("choice", voted.ballot.choice),
        )
        return _page(compound, vote, today, already=already, status=409)
    flash(
        _(
            "Your vote is counted: household %(label)s, %(choice)s.",
            label=household.label,
            choice=name_of("choice", voted.ballot.choice),
        ),
        "info",
    )
    return redirect(url_for("residents.consent_vote", code=compound.code, vote_id=vote.id), 303)
