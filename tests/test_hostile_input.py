"""Hostile input to every route, query parameter and form field: no 500, no change, no echo.

Hypothesis draws a route, a method and a payload of hostile values (empty,
huge, control characters, wrong types, script tags, SQL fragments, invalid
UTF-8) and sends it as an admin (who reaches every route) with a valid CSRF
token, so that the payload, not the token, meets the validators.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from consult.models import Compound, ConsentStatus, ConsentVote, Phase, Plan, PlanItem
from consult.services.ballots import Answers, submit_ballot
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey

MARK = "<script>alert('x')</script>"
HOSTILE = [
    "",
    " ",
    MARK,
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "1; DROP TABLE ballot; --",
    "%00",
    "\x00\x01\x1b[31m",
    "\u202e\u200b",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "%(n)s %s %d",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "true",
    "null",
    "[]",
    "中文",
    "A" * 5000,
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(
        alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "So"]), max_size=40
    ),
    st.text(max_size=600),
)
FORM_FIELDS = [
    "building",
    "unit",
    "room",
    "elderly",
    "children",
    "mobility",
    "tenure",
    "approve",
    "priority",
    "comment",
    "token",
    "username",
    "password",
    "current",
    "new",
    "confirm",
    "role",
    "display_name",
    "compounds",
    "districts",
    "active",
    "mode",
    "all",
    # The plan, its notice, works, consent votes and the satisfaction survey.
    "text",
    "kind",
    "item",
    "item_id",
    "answer",
    "household",
    "household_code",
    "scope",
    "reason",
    "decision",
    "closes_on",
    "opens_on",
    "notice_until",
    "choice",
    "action",
    "title",
    "category",
    "summary",
    "contact",
    "question",
    "details",
    "status",
    "percent",
    "noted_on",
    "area",
    "key",
    "overall",
    "construction",
    "management",
    "remove",
]
QUERY_FIELDS = ["lang", "size", "next", "method", "verified", "before", "code", "receipt"]
# Routes whose POST acts on the place alone, whatever is sent: they may change data.
ACTS_WITHOUT_INPUT = {
    "facilitators.issue_codes",
    "facilitators.reissue_code",
    "facilitators.revoke_code",
    "accounts.logout",
    "residents.withdraw",
    "facilitators.plan_draft",
    "facilitators.open_consent_vote",
    "facilitators.close_consent_vote",
}


def contents(app: Flask) -> str:
    """Return a digest of every row of every table (the audit log aside): any change shows."""
    digest = hashlib.sha256()
    with Session(app.extensions["consult.engine"]) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "auditevent":
                continue
            for row in session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def admin_client(app: Flask, session: Session) -> Any:
    compound, households = create_compound(session)
    survey = open_survey(session, compound)
    submit_ballot(
        session,
        survey=survey,
        household=households[0],
        answers=Answers(approve=["gas_pipeline"]),
        submission_key="h" * 32,
    )
    session.commit()
    create_user(session, "boss", "admin")
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    log_in(client, "boss")
    return client


def payloads() -> st.SearchStrategy[dict[str, Any]]:
    value = st.one_of(hostile_text, st.lists(hostile_text, max_size=4))
    return st.dictionaries(st.sampled_from(FORM_FIELDS + QUERY_FIELDS), value, max_size=8)


@settings(
    max_examples=400,
    deadline=None,
    # In CI the same examples every run, so that a red run is a real regression.
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_input_never_crashes_changes_or_echoes(
    app: Flask, admin_client: Any, data: st.DataObject
) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in ("static", "accounts.logout")]
    rule = data.draw(st.sampled_from(rules))
    method = data.draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    args = {
        name: quote(
            data.draw(st.one_of(st.sampled_from(["testyard", "1"]), hostile_text)) or "x", safe=""
        )
        for name in rule.arguments
    }
    path = rule.rule
    for name, value in args.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", value, path)
    payload = data.draw(payloads())
    before = contents(app)
    if method == "GET":
        response = admin_client.get(path, query_string=payload)
    else:
        token = hidden_fields(admin_client.get("/f/").get_data(as_text=True))["csrf_token"]
        if data.draw(st.booleans()):
            body = b"&".join(
                k.encode() + b"=" + data.draw(st.binary(max_size=30)).replace(b"&", b"")
                for k in payload
            )
            response = admin_client.post(
                path,
                data=body + b"&csrf_token=" + token.encode(),
                content_type="application/x-www-form-urlencoded",
            )
        else:
            response = admin_client.post(path, data={**payload, "csrf_token": token})
    assert response.status_code < 500, (method, path, payload)
    html = response.get_data().decode("utf-8", errors="replace")
    assert MARK not in html
    assert "onerror=alert(1)>" not in html
    if method == "POST" and rule.endpoint not in ACTS_WITHOUT_INPUT:
        assert contents(app) == before, (method, path, payload)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/audit?before=99999999999999999999999",
        "/admin/users/99999999999999999999999",
        "/f/c/testyard/households/99999999999999999999999",
        "/login?next=/%09/evil.example",
        "/login?next=/%0a/x",
        "/login?next=https://evil.example/",
    ],
)
def test_known_hostile_requests(admin_client: Any, path: str) -> None:
    response = admin_client.get(path)
    assert response.status_code < 500
    assert "evil.example" not in response.headers.get("Location", "")


def test_hostile_posts_to_numbered_routes(admin_client: Any) -> None:
    token = hidden_fields(admin_client.get("/f/").get_data(as_text=True))["csrf_token"]
    for path in (
        "/f/c/testyard/codes/99999999999999999999/reissue",
        "/f/c/testyard/codes/99999999999999999999/revoke",
    ):
        assert admin_client.post(path, data={"csrf_token": token}).status_code == 404


CYCLE = ("plan", "consent", "works", "satisf", "late")


@pytest.fixture
def cycle_client(app: Flask, admin_client: Any, session: Session) -> Any:
    """The admin's client on testyard with a published plan line, an open vote, a photo."""
    compound = session.exec(select(Compound).where(Compound.code == "testyard")).scalar_one()
    plan = Plan(
        compound_id=compound.id,
        version=1,
        published={"version": 1, "items": []},
        published_at=datetime.now(UTC),
        notice_until=date.today() + timedelta(days=7),
    )
    session.add(plan)
    session.flush()
    line = PlanItem(plan_id=plan.id, title="屋面防水", category="basic")
    vote = ConsentVote(
        compound_id=compound.id, question="同意吗?", kind="ordinary", status=ConsentStatus.OPEN
    )
    session.add_all([line, vote])
    session.commit()
    return admin_client


@settings(
    max_examples=160,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_input_to_the_cycle_in_each_phase(
    app: Flask, cycle_client: Any, session: Session, data: st.DataObject
) -> None:
    # The plan, notice, consent, works and satisfaction routes validate their input only
    # in their own phases, so the compound is put in each phase before the payload comes.
    compound = session.exec(select(Compound).where(Compound.code == "testyard")).scalar_one()
    compound.phase = str(data.draw(st.sampled_from(list(Phase))))
    session.add(compound)
    session.commit()
    rules = [r for r in app.url_map.iter_rules() if any(k in r.endpoint for k in CYCLE)]
    rule = data.draw(st.sampled_from(rules))
    method = data.draw(st.sampled_from(sorted(rule.methods - {"HEAD", "OPTIONS"})))
    ids = {"plan_item_id": "1", "vote_id": "1", "comment_id": "1", "photo_id": "1"}
    path = rule.rule
    for name in rule.arguments:
        # Real places and rows here: hostile paths are the test above's.
        path = re.sub(rf"<(?:[\w()=]+:)?{name}>", ids.get(name, "testyard"), path)
    payload = data.draw(payloads())
    before = contents(app)
    if method == "GET":
        response = cycle_client.get(path, query_string=payload)
    else:
        token = hidden_fields(cycle_client.get("/f/").get_data(as_text=True))["csrf_token"]
        response = cycle_client.post(path, data={**payload, "csrf_token": token})
    assert response.status_code < 500, (compound.phase, method, path, payload)
    html = response.get_data().decode("utf-8", errors="replace")
    assert MARK not in html and "onerror=alert(1)>" not in html
    if method == "POST" and rule.endpoint not in ACTS_WITHOUT_INPUT:
        assert contents(app) == before, (compound.phase, method, path, payload)
