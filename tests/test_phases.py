"""The renovation cycle: the phase a compound is in, its dates, shown to everyone."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask
from sqlmodel import Session, select

from consult.models import AuditEvent, Compound, Phase, PhaseDates, Plan, SurveyStatus
from consult.services import phases, plan_edits, plans
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey


def test_moving_through_the_cycle_dates_the_phases(session: Session) -> None:
    compound, _ = create_compound(session)
    survey = open_survey(session, compound)
    assert phases.current_phase(compound) == Phase.NEEDS
    assert [s.state for s in phases.timeline(session, compound)][:3] == [
        "current",
        "later",
        "later",
    ]
    phases.set_dates(
        session,
        compound,
        {
            Phase.NEEDS: (date(2026, 11, 1), date(2026, 12, 31)),
            Phase.PLAN: (date(2027, 1, 1), date(2027, 2, 1)),
            Phase.NOTICE: (date(2026, 3, 1), date(2026, 3, 8)),
        },
    )
    phases.move_to(session, compound, Phase.PLAN, date(2026, 11, 20))
    session.commit()
    steps = {s.phase: s for s in phases.timeline(session, compound)}
    assert steps[Phase.NEEDS].state == "done" and steps[Phase.PLAN].state == "current"
    assert (steps[Phase.NEEDS].starts_on, steps[Phase.NEEDS].ends_on) == (
        date(2026, 11, 1),
        date(2026, 11, 20),
    )
    # What happened replaces what was planned: the plan started today, its end still ahead.
    assert (steps[Phase.PLAN].starts_on, steps[Phase.PLAN].ends_on) == (
        date(2026, 11, 20),
        date(2027, 2, 1),
    )
    # The needs survey stopped taking answers when the compound left the needs phase.
    session.refresh(survey)
    assert survey.status == SurveyStatus.CLOSED
    assert phases.next_phase(compound) == Phase.NOTICE
    # A planned end already past is no end: it is forgotten when the phase starts.
    phases.move_to(session, compound, Phase.NOTICE, date(2026, 11, 25))
    steps = {s.phase: s for s in phases.timeline(session, compound)}
    assert (steps[Phase.NOTICE].starts_on, steps[Phase.NOTICE].ends_on) == (
        date(2026, 11, 25),
        None,
    )
    phases.move_to(session, compound, Phase.MAINTAINED, date(2026, 12, 1))
    assert phases.next_phase(compound) is None
    # Back, to correct a mistake: nothing is ended by going back.
    phases.move_to(session, compound, Phase.WORKS, date(2026, 12, 2))
    assert phases.current_phase(compound) == Phase.WORKS


def test_a_phase_cannot_end_before_it_starts(session: Session) -> None:
    compound, _ = create_compound(session)
    try:
        phases.set_dates(session, compound, {Phase.WORKS: (date(2026, 5, 2), date(2026, 5, 1))})
    except phases.PhaseError:
        pass
    else:
        raise AssertionError("dates in the wrong order were accepted")
    assert session.exec(select(PhaseDates)).all() == []


def test_facilitators_move_and_date_residents_see(app: Flask, session: Session) -> None:
    compound, _ = create_compound(session)
    open_survey(session, compound)
    other, _ = create_compound(session, "other", "别的小区")
    create_user(session, "wang", "facilitator", compounds=[compound])
    create_user(session, "li", "facilitator", compounds=[other])
    create_user(session, "zhou", "planner")
    client = app.test_client()
    log_in(client, "wang")
    client.get("/?lang=en")
    page = client.get("/f/c/testyard/phases").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    assert 'aria-current="step"' in page and "Needs survey" in page
    # Wrong dates: refused, nothing saved.
    today = local_today()
    bad = client.post(
        "/f/c/testyard/phases",
        data={
            "csrf_token": token,
            "starts-works": "2026-05-02",
            "ends-works": "2026-05-01",
            "starts-plan": "someday",
        },
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "cannot end before it starts" in text and "Type the dates as" in text
    assert session.exec(select(PhaseDates)).all() == []
    good = client.post(
        "/f/c/testyard/phases",
        data={"csrf_token": token, "starts-works": (today + timedelta(days=60)).isoformat()},
    )
    assert good.status_code == 303
    assert (
        client.post(
            "/f/c/testyard/phases/move", data={"csrf_token": token, "phase": "nonsense"}
        ).status_code
        == 303
    )
    assert "Choose a phase" in client.get("/f/c/testyard/phases").get_data(as_text=True)
    moved = client.post("/f/c/testyard/phases/move", data={"csrf_token": token, "phase": "plan"})
    assert moved.status_code == 303
    session.expire_all()
    assert session.exec(select(Compound.phase).where(Compound.code == "testyard")).one() == "plan"
    assert "phases.move" in session.exec(select(AuditEvent.action)).all()
    # Residents see where it stands and what comes next.
    landing = app.test_client().get("/c/testyard?lang=en").get_data(as_text=True)
    current = re.search(r'aria-current="step">(.*?)</li>', landing, re.S)
    assert current is not None and "Drafting the plan" in current[1]
    assert "The plan is posted; residents comment or object." in landing
    # A planner reads; a facilitator of another compound cannot move it.
    for username, status in (("zhou", 403), ("li", 403)):
        other_client = app.test_client()
        log_in(other_client, username)
        token = hidden_fields(other_client.get("/account/password").get_data(as_text=True))[
            "csrf_token"
        ]
        response = other_client.post(
            "/f/c/testyard/phases/move", data={"csrf_token": token, "phase": "works"}
        )
        assert response.status_code == status
    planner = app.test_client()
    log_in(planner, "zhou")
    assert planner.get("/f/c/testyard/phases").status_code == 200
    session.expire_all()
    assert session.exec(select(Compound.phase).where(Compound.code == "testyard")).one() == "plan"


def test_the_public_notice_is_not_cut_short(app: Flask, session: Session) -> None:
    compound, _ = create_compound(session)
    today = local_today()
    plan = Plan(compound_id=compound.id, version=1, notice_until=today + timedelta(days=3))
    plan.published = {"version": 1, "items": []}
    session.add(plan)
    phases.move_to(session, compound, Phase.NOTICE, today)
    session.commit()
    create_user(session, "wang", "facilitator", compounds=[compound])
    client = app.test_client()
    log_in(client, "wang")
    client.get("/?lang=en")
    token = hidden_fields(client.get("/f/c/testyard/phases").get_data(as_text=True))["csrf_token"]
    move = {"csrf_token": token, "phase": "consent"}
    assert client.post("/f/c/testyard/phases/move", data=move).status_code == 303
    assert "The public notice runs until" in client.get("/f/c/testyard/phases").get_data(
        as_text=True
    )
    session.expire_all()
    assert session.exec(select(Compound.phase).where(Compound.code == "testyard")).one() == "notice"
    # Once the notice has ended, the compound moves on.
    plan = session.exec(select(Plan)).one()
    plan.notice_until = today - timedelta(days=1)
    session.add(plan)
    session.commit()
    assert client.post("/f/c/testyard/phases/move", data=move).status_code == 303
    session.expire_all()
    assert (
        session.exec(select(Compound.phase).where(Compound.code == "testyard")).one() == "consent"
    )


def test_what_follows_the_notice_waits_for_a_published_unchanged_plan(session: Session) -> None:
    compound, _ = create_compound(session)
    open_survey(session, compound)
    today = local_today()
    # No plan: neither the notice nor anything after it; the plan phase is fine.
    for phase in (Phase.NOTICE, Phase.CONSENT, Phase.WORKS):
        assert plans.why_not_move(session, compound, None, phase, today) == "no_plan"
    assert plans.why_not_move(session, compound, None, Phase.PLAN, today) is None
    plan = plans.draft_from_menu(session, compound)
    plan_edits.save_edits(session, compound, {})  # nothing to save: nothing changes
    assert plans.why_not_move(session, compound, plan, Phase.CONSENT, today) == "no_plan"
    plans.add_item(session, compound, title="楼道灯", category="basic", reason="议事会提出")
    plans.publish(
        session,
        compound,
        create_user(session, "wang", "facilitator", compounds=[compound]),
        contact="居委会",
        summary="",
        notice_until=today + timedelta(days=7),
        today=today,
    )
    # Skipping the notice is refused too (from the needs phase, or going back and on).
    assert plans.why_not_move(session, compound, plan, Phase.WORKS, today) == "notice_running"
    later = today + timedelta(days=8)
    assert plans.why_not_move(session, compound, plan, Phase.CONSENT, later) is None
    # Changed after publication: publish again first.
    [line] = plans.items_of(session, plan)
    line.cost = 12_345
    session.add(line)
    assert (
        plans.why_not_move(session, compound, plan, Phase.CONSENT, later) == "unpublished_changes"
    )
    # Going back is never held up.
    assert plans.why_not_move(session, compound, plan, Phase.NEEDS, today) is None
