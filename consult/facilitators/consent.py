"""Owners' consent votes: setting a question, paper votes, closing and the result."""

from __future__ import annotations

import uuid
from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.consent import Choice, Kind
from consult.db import get_session
from consult.facilitators import bp
from consult.labels import name_of
from consult.models import Compound, ConsentVote, Household, Role, Scope
from consult.residents.consent import scope_names
from consult.services import accounts
from consult.services import consent_ballots as ballots
from consult.services import consent_votes as votes
from consult.services.ballots import commit_with_retry
from consult.services.phases import current_phase
from consult.services.surveys import local_today

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)
VOTE_ID = "<int(max=2147483647):vote_id>"

#: Why a change was refused, as facilitators read it.
REFUSED = {
    "no_question": _l("Write the question the owners are asked."),
    "too_long": _l("The question may be 500 characters long and the details 2000."),
    "elevator_unit": _l("An elevator vote is for one unit: choose the unit."),
    "no_building": _l("Choose a building of this compound."),
    "no_unit": _l("Choose a unit of this compound."),
    "dates": _l("The last day of voting cannot come before the first."),
    "empty_scope": _l("No household lives there: choose another part of the compound."),
    "not_draft": _l("This vote was opened already."),
    "ended": _l("Its last day of voting has passed."),
    "not_open": _l("This vote is not open."),
    "still_running": _l(
        "Voting runs until its last day, and not every owner has voted yet: it is counted "
        "after the last day."
    ),
    "stale_form": _l("That form was used already; here is a fresh one."),
}


@bp.record_once
def _check_rules(state: BlueprintSetupState) -> None:
    """Stop the app at startup when CONSENT_RULES cannot be read (the error names the key)."""
    votes.settled_rules(state.app.config)


def _refusal(place: Compound, reason: str) -> str:
    if reason == "phase":
        return str(
            _(
                "Owners vote from the consent phase on; this compound is in the phase: "
                "%(phase)s. Nothing was changed.",
                phase=name_of("cycle", current_phase(place)),
            )
        )
    return str(REFUSED.get(reason, reason))


def _vote_or_404(place: Compound, vote_id: int) -> ConsentVote:
    vote = votes.vote_of(get_session(), place, vote_id)
    if vote is None:
        abort(404)
    return vote


def _day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdecimal() and len(text) < 10 else None


@bp.get("/c/<code>/consent")
@requires(compound="read")
def consent(code: str) -> Page:
    return _list_page(current_compound(code), {}, None)


@bp.post("/c/<code>/consent")
@requires(*RUN, compound="run")
def ask_owners(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    form = request.form
    if not votes.takes_votes(place):
        flash(_refusal(place, "phase"), "error")
        return redirect(url_for("facilitators.consent", code=code), 303)
    try:
        asked = votes.Question(
            question=form.get("question", ""),
            details=form.get("details", ""),
            kind=Kind(form.get("kind", "")),
            scope=Scope(form.get("scope", "")),
            building_id=_number(form.get("building", "")),
            unit_id=_number(form.get("unit", "")),
            opens_on=_day(form.get("opens_on", "")),
            closes_on=_day(form.get("closes_on", "")),
        )
    except ValueError:
        return _list_page(
            place, form, _("Choose the kind and the scope; type dates as 2026-12-01.")
        )
    try:
        vote = votes.set_question(session, place, current_user, asked)
    except votes.ConsentError as refused:
        session.rollback()
        return _list_page(place, form, _refusal(place, refused.reason))
    session.commit()
    flash(_("The question is saved as a draft. Check it, then open the vote."), "info")
    return redirect(url_for("facilitators.consent_vote", code=code, vote_id=vote.id), 303)


def _list_page(place: Compound, form: object, error: str | None) -> Page:
    session = get_session()
    shown = votes.votes_of(session, place)
    return render_template(
        "facilitators/consent.html",
        compound=place,
        votes=shown,
        names=scope_names(shown),
        can_run=accounts.can_run(session, current_user, place),
        taking_votes=votes.takes_votes(place),
        phase=current_phase(place),
        choices=votes.scope_choices(session, place),
        kinds=list(Kind),
        form=form if error else {},
        error=error,
        today=local_today(),
    ), (400 if error else 200)


@bp.get(f"/c/<code>/consent/{VOTE_ID}")
@requires(compound="read")
def consent_vote(code: str, vote_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    vote = _vote_or_404(place, vote_id)
    tally, rule = votes.result(session, vote, votes.settled_rules(current_app.config))
    return render_template(
        "facilitators/consent_vote.html",
        compound=place,
        vote=vote,
        names=scope_names([vote]),
        tally=tally,
        rule=rule,
        owners=votes.owners_of(session, vote),
        can_run=accounts.can_run(session, current_user, place),
        taking_votes=votes.takes_votes(place),
        phase=current_phase(place),
    )


@bp.post(f"/c/<code>/consent/{VOTE_ID}/open")
@requires(*RUN, compound="run")
def open_consent_vote(code: str, vote_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    vote = _vote_or_404(place, vote_id)
    try:
        votes.open_vote(session, vote, current_user, local_today())
    except votes.ConsentError as refused:
        session.rollback()
        flash(_refusal(place, refused.reason), "error")
    else:
        session.commit()
        flash(_("The vote is open: owners can vote with their household codes."), "info")
    return redirect(url_for("facilitators.consent_vote", code=code, vote_id=vote_id), 303)


@bp.post(f"/c/<code>/consent/{VOTE_ID}/close")
@requires(*RUN, compound="run")
def close_consent_vote(code: str, vote_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    vote = _vote_or_404(place, vote_id)
    rule = votes.settled_rules(current_app.config)[Kind(vote.kind)]
    try:
        tally = votes.close_vote(session, vote, current_user, rule, local_today())
    except votes.ConsentError as refused:
        session.rollback()
        flash(_refusal(place, refused.reason), "error")
    else:
        session.commit()
        flash(
            _("Voting is closed. Result: %(outcome)s.", outcome=name_of("consent", tally.outcome)),
            "info",
        )
    return redirect(url_for("facilitators.consent_vote", code=code, vote_id=vote_id), 303)


@bp.route(f"/c/<code>/consent/{VOTE_ID}/paper", methods=["GET", "POST"])
@requires(*RUN, compound="run")
def consent_paper(code: str, vote_id: int) -> Page:
    place = current_compound(code)
    vote = _vote_or_404(place, vote_id)
    if request.method == "POST":
        return _enter_paper(place, vote)
    return _paper_page(place, vote)


def _paper_page(
    place: Compound,
    vote: ConsentVote,
    *,
    error: str | None = None,
    previous: ballots.Voted | None = None,
    status: int = 200,
) -> Page:
    session = get_session()
    rows = votes.owners_of(session, vote)
    return render_template(
        "facilitators/consent_paper.html",
        compound=place,
        vote=vote,
        names=scope_names([vote]),
        labels=[row.household.label for row in rows],
        voted=sum(row.ballot is not None for row in rows),
        owners=len(rows),
        taking_votes=votes.takes_votes(place),
        phase=current_phase(place),
        error=error,
        previous=previous,
        form=request.form if status != 200 else {},
        token=request.form.get("token") if previous else uuid.uuid4().hex,
    ), status


def _area(text: str) -> float | None:
    """Read a typed floor area; raises ValueError when it is no sane area."""
    text = text.strip().replace("m²", "").replace("㎡", "").strip()
    if not text:
        return None
    area = float(text) if len(text) < 12 else -1.0
    if not 0 < area < 10_000:
        raise ValueError(text)
    return area


def _enter_paper(place: Compound, vote: ConsentVote) -> Page:
    session = get_session()
    form = request.form
    label = "-".join(form.get("household", "").replace("/", " ").replace("-", " ").split())
    household = session.exec(
        select(Household).where(Household.compound_id == place.id, Household.label == label)
    ).first()
    key = form.get("token", "")
    if household is None:
        error = _(
            "No household %(label)s in this compound: type building-unit-room, e.g. 3-2-301.",
            label=label or "…",
        )
        return _paper_page(place, vote, error=error, status=400)
    try:
        choice = Choice(form.get("choice", ""))
        area = _area(form.get("area", ""))
    except ValueError:
        error = _("Choose for, against or abstain, and type the area as a number, e.g. 68.5.")
        return _paper_page(place, vote, error=error, status=400)
    if len(key) != 32:
        return _paper_page(place, vote, error=str(REFUSED["stale_form"]), status=400)
    if form.get("decision") == "keep":
        flash(
            _(
                "Kept the earlier vote of %(label)s; the paper one was not counted.",
                label=household.label,
            ),
            "info",
        )
        return redirect(
            url_for("facilitators.consent_paper", code=place.code, vote_id=vote.id), 303
        )
    correct = form.get("decision") == "correct"
    try:
        voted = commit_with_retry(
            session,
            lambda: ballots.enter_paper(
                session,
                vote,
                household,
                choice,
                account=current_user,
                key=key,
                area=area,
                correct=correct,
            ),
        )
    except votes.ConsentError as refused:
        session.rollback()
        if refused.reason == "out_of_scope":
            error = _(
                "%(label)s is not among the owners asked in this vote.", label=household.label
            )
        elif refused.reason == "area_needed":
            error = _(
                "The floor area of %(label)s is not on record: type it from the ownership "
                "certificate.",
                label=household.label,
            )
        else:
            error = _refusal(place, refused.reason)
        return _paper_page(
            place, vote, error=error, status=400 if refused.reason != "phase" else 409
        )
    if voted.outcome == ballots.Cast.ALREADY:
        return _paper_page(place, vote, previous=voted, status=409)
    label, chosen = household.label, name_of("choice", voted.ballot.choice)
    if voted.outcome == ballots.Cast.CORRECTED:
        done = _(
            "Corrected: %(label)s now votes %(choice)s (kept in the audit log).",
            label=label,
            choice=chosen,
        )
    else:
        done = _("Saved: %(label)s, %(choice)s.", label=label, choice=chosen)
    flash(done, "info")
    return redirect(url_for("facilitators.consent_paper", code=place.code, vote_id=vote.id), 303)
