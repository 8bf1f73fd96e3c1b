"""Every route declares who may open it, and every role gets exactly that.

The test walks the whole URL map: a route without a declaration fails it. Each
route is then opened by nobody, an admin, a city planner, a planner of another
district, the compound's facilitator and a facilitator of another compound.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from consult.access import Access, access_of
from consult.models import (
    ConsentStatus,
    ConsentVote,
    Household,
    MeetingStatus,
    Party,
    Plan,
    PlanComment,
    PlanItem,
    ProgressPhoto,
    Role,
    WorkStatus,
)
from consult.services import meetings, photos, works
from consult.services.ballots import Answers, submit_ballot
from consult.services.codes import issue_codes
from consult.services.surveys import local_today
from tests.factories import create_compound, create_district, create_user, log_in, open_survey

EXEMPT = {"static"}  # files from static/, public by nature

PEOPLE = {
    "anonymous": None,
    "admin": ("admin", []),
    "city planner": ("planner", []),
    "district planner elsewhere": ("planner", ["elsewhere"]),
    "facilitator": ("facilitator", ["testyard"]),
    "facilitator elsewhere": ("facilitator", ["otheryard"]),
}


@pytest.fixture
def world(app: Flask, session: Session) -> dict[str, Any]:
    """Two compounds in one district, a second district, accounts for each person."""
    compound, households = create_compound(session)
    other, _ = create_compound(session, code="otheryard", name="别的小区")
    survey = open_survey(session, compound)
    open_survey(session, other)
    create_district(session, code="elsewhere", name="坊子区")
    ballot = submit_ballot(
        session,
        survey=survey,
        household=households[0],
        answers=Answers(approve=["gas_pipeline"]),
        submission_key="k" * 32,
    ).ballot
    session.commit()
    [issued] = issue_codes(
        session, app.config["SECRET_KEY"], compound, household_ids=[households[2].id]
    )
    session.commit()
    meeting = meetings.create_meeting(
        session,
        compound,
        title="议事会",
        starts_at=datetime(2026, 12, 1, 2, tzinfo=UTC),
        place="广场",
        invited=list(Party),
    )
    entry = meetings.add_agenda_item(session, meeting, item_id="parking", topic="")
    meetings.set_status(session, meeting, MeetingStatus.IN_PROGRESS, survey)
    action = meetings.add_action(
        session,
        meeting,
        what="修路",
        owner=Party.PROPERTY_COMPANY,
        due_on=None,
        agenda_item_id=entry.id,
    )
    session.commit()
    # The cycle after the survey: a published plan line with a progress photo, a comment on
    # the plan, an open consent vote (made as rows: the pages open in any phase).
    plan = Plan(compound_id=compound.id, version=1)
    session.add(plan)
    session.flush()
    line = PlanItem(plan_id=plan.id, title="屋面防水", category="basic")
    session.add(line)
    session.flush()
    today = local_today()
    note = works.add_note(
        session,
        line,
        None,
        noted_on=today,
        status=WorkStatus.IN_PROGRESS,
        percent=10,
        text="",
        photos=[photos.demo_photo(0)],
        today=today,
    )
    photo = session.exec(select(ProgressPhoto).where(ProgressPhoto.note_id == note.id)).one()
    comment = PlanComment(
        plan_id=plan.id, household_id=households[3].id, text="好", submission_key="c" * 32
    )
    vote = ConsentVote(
        compound_id=compound.id,
        question="同意改造方案吗?",
        kind="ordinary",
        status=ConsentStatus.OPEN,
    )
    session.add_all([comment, vote])
    session.commit()
    by_code = {"testyard": compound, "otheryard": other}
    accounts = {}
    for person, spec in PEOPLE.items():
        if spec is None:
            continue
        role, scope = spec
        name = person.replace(" ", "_")
        if role == "planner":
            districts = [create_district(session, code=c) for c in scope]
            accounts[person] = create_user(session, name, role, districts=districts)
        else:
            accounts[person] = create_user(
                session, name, role, compounds=[by_code[c] for c in scope]
            )
    return {
        "household": households[1],
        "household_code": issued.code,
        "meeting": meeting,
        "agenda": entry,
        "action": action,
        "plan_item": line,
        "photo": photo,
        "comment": comment,
        "vote": vote,
        "receipt": ballot.receipt,
        "accounts": accounts,
    }


def sample_args(rule: Any, world: dict[str, Any]) -> dict[str, Any]:
    household: Household = world["household"]
    values = {
        "code": world["household_code"] if rule.endpoint == "residents.by_code" else "testyard",
        "household_id": household.id,
        "account_id": world["accounts"]["admin"].id,
        "receipt": world["receipt"],
        "building": "1",
        "meeting_id": world["meeting"].id,
        "agenda_id": world["agenda"].id,
        "action_id": world["action"].id,
        "meeting_code": world["meeting"].code,
        "token": "0" * 32,
        "kind": "xlsx",
        "table": "ballots",
        "plan_item_id": world["plan_item"].id,
        "photo_id": world["photo"].id,
        "comment_id": world["comment"].id,
        "vote_id": world["vote"].id,
    }
    return {name: values[name] for name in rule.arguments}


def expected(access: Access, person: str) -> str:
    """Return "allow", "login" or "refuse" for this person on a route so declared."""
    if access.public:
        return "allow"
    if person == "anonymous":
        return "login"
    role = Role(PEOPLE[person][0])  # type: ignore[index]
    if role not in access.roles:
        return "refuse"
    if access.city and person == "district planner elsewhere":
        return "refuse"
    if access.compound is None or role == Role.ADMIN:
        return "allow"
    if role == Role.PLANNER:
        reads = person == "city planner"
        return "allow" if access.compound == "read" and reads else "refuse"
    own = person == "facilitator"
    return "allow" if own else "refuse"


def test_every_route_declares_its_access(app: Flask) -> None:
    undeclared = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in EXEMPT and access_of(app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []


def test_staff_routes_exist_for_each_kind_of_declaration(app: Flask) -> None:
    kinds = {
        (bool(access.roles), access.compound)
        for rule in app.url_map.iter_rules()
        if (access := access_of(app.view_functions[rule.endpoint])) is not None
    }
    assert {(False, None), (True, None), (True, "read"), (True, "run")} <= kinds


@pytest.mark.parametrize("person", PEOPLE)
def test_each_route_allows_or_refuses_as_declared(
    app: Flask, world: dict[str, Any], person: str
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False  # the guard is under test here, not the token
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    if PEOPLE[person] is not None:
        assert log_in(client, person.replace(" ", "_")).status_code == 302
    wrong = []
    seen: set[str] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT:
            continue
        access = access_of(app.view_functions[rule.endpoint])
        assert access is not None
        path = rule.build(sample_args(rule, world), append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if rule.endpoint == "accounts.logout":
                continue  # logging out would end the walk; checked in test_accounts
            response = client.open(path, method=method, data={})
            assert response.status_code < 500, (method, path)
            want = expected(access, person)
            seen.add(want)
            got = (
                "login"
                if response.status_code == 302 and "/login" in response.headers["Location"]
                else "refuse"
                if response.status_code == 403
                else "allow"
            )
            unpublished = rule.endpoint == "meetings.published_minutes"  # 404 until published
            if (
                got == "allow"
                and method == "GET"
                and response.status_code >= 400
                and not (unpublished and response.status_code == 404)
            ):
                got = f"broken ({response.status_code})"  # an allowed page must open
            if got != want:
                wrong.append((person, method, path, want, response.status_code))
    assert wrong == []
    assert "allow" in seen
    if person not in ("admin",):
        assert seen & {"login", "refuse"}, "every non-admin is kept out of something"
