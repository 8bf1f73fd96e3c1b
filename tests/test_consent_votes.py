"""Owners' consent votes: asked, opened, voted by code and on paper, closed, shown."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from consult import create_app
from consult.consent import RULES, Choice, Kind, Outcome, RulesError
from consult.models import (
    AuditEvent,
    ConsentBallot,
    ConsentStatus,
    ConsentVote,
    Household,
    Phase,
    Scope,
)
from consult.services import consent_ballots as ballots
from consult.services import consent_votes as votes
from consult.services import phases
from consult.services.codes import issue_codes
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in

SECRET = "test-secret"


def _consent_phase(session: Session, units: tuple[int, ...] = (2, 2)) -> tuple:
    compound, homes = create_compound(session, units=units)
    phases.move_to(session, compound, Phase.CONSENT, local_today())
    wang = create_user(session, "wang", "facilitator", compounds=[compound])
    return compound, homes, wang


def _codes(session: Session, compound: object) -> dict[str, str]:
    issued = issue_codes(session, SECRET, compound)  # type: ignore[arg-type]
    session.commit()
    return {code.label: code.code for code in issued}


def _unit_vote(session: Session, compound: object, wang: object, home: Household) -> ConsentVote:
    asked = votes.Question("Add an elevator?", Kind.ELEVATOR, Scope.UNIT, unit_id=home.unit_id)
    vote = votes.set_question(session, compound, wang, asked)  # type: ignore[arg-type]
    votes.open_vote(session, vote, wang, local_today())  # type: ignore[arg-type]
    session.commit()
    return vote


def test_a_vote_is_asked_opened_voted_once_and_closed(session: Session) -> None:
    compound, homes, wang = _consent_phase(session)
    elevator_anywhere = votes.Question("Elevator?", Kind.ELEVATOR, Scope.BUILDING, building_id=1)
    with pytest.raises(votes.ConsentError, match="elevator_unit"):
        votes.set_question(session, compound, wang, elevator_anywhere)
    vote = _unit_vote(session, compound, wang, homes[0])
    unit = [h for h in homes if h.unit_id == homes[0].unit_id]
    assert [row.household.id for row in votes.owners_of(session, vote)] == [h.id for h in unit]
    today = local_today()
    first = ballots.cast_by_code(session, vote, unit[0], Choice.FOR, key="k" * 32, today=today)
    assert first.outcome == ballots.Cast.COUNTED and first.ballot.area == unit[0].area
    again = ballots.cast_by_code(session, vote, unit[0], Choice.FOR, key="k" * 32, today=today)
    assert again.outcome == ballots.Cast.REPEATED
    changed = ballots.cast_by_code(
        session, vote, unit[0], Choice.AGAINST, key="j" * 32, today=today
    )
    assert changed.outcome == ballots.Cast.ALREADY and changed.ballot.choice == "for"
    with pytest.raises(votes.ConsentError, match="out_of_scope"):
        ballots.cast_by_code(session, vote, homes[-1], Choice.FOR, key="m" * 32, today=today)
    for index, home in enumerate(unit[1:4]):
        ballots.cast_by_code(session, vote, home, Choice.FOR, key=f"{index:032d}", today=today)
    # Owners keep every day they were given: not closed before the last day, unless all voted.
    vote.closes_on = today + timedelta(days=3)
    with pytest.raises(votes.ConsentError, match="still_running"):
        votes.close_vote(session, vote, wang, RULES[Kind.ELEVATOR], today)
    vote.closes_on = today
    tally = votes.close_vote(session, vote, wang, RULES[Kind.ELEVATOR], today + timedelta(days=1))
    session.commit()
    # 4 of the unit's 6 owners for; the areas decide whether 2/3 of the unit's area agrees.
    assert (tally.owners, tally.voters, tally.owners_for) == (6, 4, 4)
    assert vote.status == ConsentStatus.CLOSED and vote.result is not None
    assert vote.result["rule"]["no_objection"] is True and vote.result["outcome"] == tally.outcome
    frozen, rule = votes.result(session, vote, {})
    assert frozen == tally and rule == RULES[Kind.ELEVATOR]
    with pytest.raises(votes.ConsentError, match="closed"):
        ballots.cast_by_code(session, vote, unit[5], Choice.FOR, key="n" * 32, today=today)
    actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions == ["consent.ask", "consent.open", "consent.close"]


def test_owners_vote_with_their_code_once(app: Flask, session: Session) -> None:
    compound, homes, wang = _consent_phase(session)
    vote = _unit_vote(session, compound, wang, homes[0])
    slips = _codes(session, compound)
    own, stranger = homes[0].label, homes[-1].label
    client = app.test_client()
    client.get("/?lang=en")
    url = f"/c/testyard/consent/{vote.id}"
    page = client.get(url).get_data(as_text=True)
    assert "No owner may vote against." in page and "0 of 6 owners have voted" in page

    def cast(code: str, choice: str = "for") -> tuple[int, str]:
        fields = hidden_fields(client.get(url).get_data(as_text=True))
        sent = client.post(url, data={**fields, "household_code": code, "choice": choice})
        return sent.status_code, sent.get_data(as_text=True)

    assert cast(slips[own].lower())[0] == 303
    status, text = cast(slips[own], "against")
    assert status == 409 and f"Household {own} has voted already (for)" in text
    status, text = cast(slips[stranger])
    assert status == 400 and "not among the owners asked" in text
    assert cast("ZZZZ-ZZZZ")[0] == 400
    stored = session.exec(select(ConsentBallot)).all()
    assert [(b.household_id, b.choice, b.channel) for b in stored] == [(homes[0].id, "for", "code")]
    assert "1 of 6 owners have voted" in client.get(url).get_data(as_text=True)


def test_paper_votes_take_the_area_and_corrections_are_explicit(
    app: Flask, session: Session
) -> None:
    compound, homes, wang = _consent_phase(session)
    vote = _unit_vote(session, compound, wang, homes[0])
    home = homes[1]
    home.area = None
    session.add(home)
    session.commit()
    client = app.test_client()
    log_in(client, "wang")
    client.get("/?lang=en")
    url = f"/f/c/testyard/consent/{vote.id}/paper"

    def enter(**data: str) -> tuple[int, str]:
        fields = hidden_fields(client.get(url).get_data(as_text=True))
        sent = client.post(url, data={**fields, "household": home.label, **data})
        return sent.status_code, sent.get_data(as_text=True)

    status, text = enter(choice="for")
    assert status == 400 and f"The floor area of {home.label} is not on record" in text
    assert enter(choice="for", area="72.5")[0] == 303
    session.refresh(home)
    assert home.area == 72.5
    status, text = enter(choice="against")
    assert status == 409 and f"{home.label} has voted already: for" in text
    assert session.exec(select(ConsentBallot.choice)).all() == ["for"]
    # The conflict page carries its form's key: "keep" or "correct" send it back.
    fields = hidden_fields(text)
    kept = client.post(
        url, data={**fields, "household": home.label, "choice": "against", "decision": "keep"}
    )
    assert kept.status_code == 303 and session.exec(select(ConsentBallot.choice)).all() == ["for"]
    sent = client.post(
        url, data={**fields, "household": home.label, "choice": "against", "decision": "correct"}
    )
    assert sent.status_code == 303
    ballot = session.exec(select(ConsentBallot)).one()
    session.refresh(ballot)
    assert (ballot.choice, ballot.area, ballot.channel) == ("against", 72.5, "paper")
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "consent.correct")).one()
    assert json.loads(event.detail)["was"] == "for" and home.label in event.target


def test_votes_wait_for_the_consent_phase(app: Flask, session: Session) -> None:
    compound, homes = create_compound(session)
    create_user(session, "wang", "facilitator", compounds=[compound])
    client = app.test_client()
    log_in(client, "wang")
    client.get("/?lang=en")
    page = client.get("/f/c/testyard/consent")
    assert page.status_code == 200 and "Owners vote from the consent phase on" in page.text
    assert 'name="question"' not in page.text
    token = hidden_fields(client.get("/f/c/testyard/phases").text)["csrf_token"]
    sent = client.post(
        "/f/c/testyard/consent",
        data={"csrf_token": token, "question": "Fund?", "kind": "major", "scope": "compound"},
    )
    assert sent.status_code == 303 and session.exec(select(ConsentVote)).all() == []
    public = client.get("/c/testyard/consent")
    assert public.status_code == 200 and "No vote has been put to them yet" in public.text


def test_the_form_asks_and_the_result_shows_the_figures(app: Flask, session: Session) -> None:
    compound, homes, wang = _consent_phase(session, units=(1,))
    # 600 m²: the four owners voting hold 412.5 m² (68.75%), three of them for.
    for home, area in zip(homes, (112.5, 100, 100, 100, 87.5, 100), strict=True):
        home.area = area
        session.add(home)
    session.commit()
    client = app.test_client()
    log_in(client, "wang")
    client.get("/?lang=en")
    form = client.get("/f/c/testyard/consent").text
    refused = client.post(
        "/f/c/testyard/consent",
        data={**hidden_fields(form), "question": " ", "kind": "ordinary", "scope": "compound"},
    )
    assert refused.status_code == 400 and "Write the question" in refused.text
    sent = client.post(
        "/f/c/testyard/consent",
        data={
            **hidden_fields(form),
            "question": "The plan?",
            "kind": "ordinary",
            "scope": "compound",
            "opens_on": "",
            "closes_on": "",
        },
    )
    assert sent.status_code == 303
    vote = session.exec(select(ConsentVote)).one()
    votes.open_vote(session, vote, wang, local_today())
    today = local_today()
    for index, choice in enumerate((Choice.FOR, Choice.FOR, Choice.FOR, Choice.AGAINST)):
        ballots.cast_by_code(session, vote, homes[index], choice, key=f"{index:032d}", today=today)
    session.commit()
    page = client.get(f"/f/c/testyard/consent/{vote.id}").text
    token = hidden_fields(page)["csrf_token"]
    closed = client.post(f"/f/c/testyard/consent/{vote.id}/close", data={"csrf_token": token})
    assert closed.status_code == 303
    public = client.get(f"/c/testyard/consent/{vote.id}").text
    assert "412.5 m² of 600 m² (68.8%), threshold at least 2/3" in public
    assert "4 of 6 owners (66.7%), threshold at least 2/3" in public
    # For: 312.5 of the 412.5 m² taking part, 3 of 4 owners; "more than 1/2".
    assert "312.5 m² of 412.5 m² (75.8%), threshold more than 1/2" in public
    assert "consent-outcome-approved" in public and "Approved" in public
    listed = client.get("/c/testyard/consent").text
    assert "The plan?" in listed and "Approved" in listed
    session.refresh(vote)
    assert vote.result is not None and vote.result["outcome"] == Outcome.APPROVED


def test_bad_consent_rules_stop_the_app_naming_the_key() -> None:
    config = {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"}
    bad = {"elevator": {"approval": "3/0"}}
    with pytest.raises(RulesError, match=r"CONSENT_RULES\['elevator'\]\['approval'\]"):
        create_app({**config, "CONSENT_RULES": bad})
    app = create_app({**config, "CONSENT_RULES": json.dumps({"elevator": {"approval": "3/4"}})})
    rules = votes.settled_rules(app.config)
    assert (
        str(rules[Kind.ELEVATOR].approval.share) == "3/4" and rules[Kind.MAJOR] == RULES[Kind.MAJOR]
    )
