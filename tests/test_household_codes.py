"""Household codes (每户一码): issued once, stored hashed, bound to one household."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlmodel import Session, select

from consult.models import Ballot, Household, Survey, SurveyMode
from consult.services import codes
from consult.services.places import compound_by_code
from consult.services.tallies import compound_menu
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey


@pytest.fixture
def yard(session: Session, client: FlaskClient) -> dict[str, Any]:
    compound, households = create_compound(session)
    survey = open_survey(session, compound)
    set_mode(session, survey, SurveyMode.BOTH)
    create_user(session, "wang", "facilitator", compounds=[compound])
    log_in(client, "wang")
    return {"compound": compound, "households": households, "survey": survey}


def issue_all(client: FlaskClient, **extra: str) -> dict[str, str]:
    """Issue codes through the page; return {household label: code} read off the slips."""
    page = client.get("/f/c/testyard/codes").get_data(as_text=True)
    response = client.post(
        "/f/c/testyard/codes/issue", data={"csrf_token": hidden_fields(page)["csrf_token"], **extra}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    labels = re.findall(r'<p class="slip-home">([^<]+)</p>', html)
    found = re.findall(r'<p class="slip-code">([^<]+)</p>', html)
    return dict(zip(labels, found, strict=True))


def set_mode(session: Session, survey: Survey, mode: SurveyMode) -> None:
    survey.mode = mode
    session.add(survey)
    session.commit()


def answer_with_code(client: FlaskClient, code: str, **overrides: Any) -> Any:
    page = client.get(f"/h/{code}")
    assert page.status_code == 200, page.status_code
    data = {
        **hidden_fields(page.get_data(as_text=True)),
        "approve": ["gas_pipeline", "fire_safety"],
        "priority": ["fire_safety"],
        **overrides,
    }
    return client.post(f"/h/{code}", data=data)


def test_codes_are_printed_once_and_stored_only_hashed(
    app: Flask, client: FlaskClient, yard: dict, session: Session
) -> None:
    slips = issue_all(client)
    assert len(slips) == 24
    assert all(re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", c) for c in slips.values())
    plain = {c.replace("-", "") for c in slips.values()}
    assert len(plain) == 24
    with app.app_context():
        dump = "\n".join(
            str(row)
            for table in ("household", "auditevent")
            for row in session.execute(text(f"SELECT * FROM {table}")).all()
        )
    assert not any(code in dump for code in plain)
    session.expire_all()
    household = session.exec(select(Household).where(Household.label == "1-1-101")).one()
    code = slips["1-1-101"].replace("-", "")
    assert household.code_hash == codes.code_hash(app.config["SECRET_KEY"], code)


def test_issuing_again_covers_only_households_without_a_code(
    client: FlaskClient, yard: dict
) -> None:
    assert len(issue_all(client)) == 24
    page = client.get("/f/c/testyard/codes").get_data(as_text=True)
    response = client.post(
        "/f/c/testyard/codes/issue", data={"csrf_token": hidden_fields(page)["csrf_token"]}
    )
    assert response.status_code == 303
    assert len(issue_all(client, all="1")) == 24


def test_slips_are_laid_out_eight_to_a_page(client: FlaskClient, yard: dict) -> None:
    page = client.get("/f/c/testyard/codes").get_data(as_text=True)
    html = client.post(
        "/f/c/testyard/codes/issue", data={"csrf_token": hidden_fields(page)["csrf_token"]}
    ).get_data(as_text=True)
    assert html.count('<section class="slip">') == 24
    assert html.count('src="data:image/svg+xml') == 24
    with client.get("/static/css/app.css") as css:
        assert ".slip:nth-child(8n) { break-after: page; }" in css.get_data(as_text=True)


def test_a_code_opens_the_survey_bound_to_its_household(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    slips = issue_all(client)
    code = slips["2-1-302"]
    html = client.get(f"/h/{code.lower()}").get_data(as_text=True)  # typed in lower case, dash
    assert "2号楼 1单元 302室" in html
    assert 'name="building"' not in html
    response = answer_with_code(client, code.replace("-", ""))
    assert response.status_code == 303
    session.expire_all()
    ballot = session.exec(select(Ballot)).one()
    household = session.get(Household, ballot.household_id)
    assert household is not None and household.label == "2-1-302"
    assert ballot.verified and ballot.channel == "invite"


def test_the_code_form_shows_the_current_answer(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    code = issue_all(client)["1-2-201"].replace("-", "")
    answer_with_code(client, code, comment="屋顶漏水")
    html = client.get(f"/h/{code}").get_data(as_text=True)
    assert "您家已于" in html
    assert 'value="gas_pipeline" checked' in html and "屋顶漏水</textarea>" in html


def test_revoked_and_replaced_codes_stop_working(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    slips = issue_all(client)
    household = session.exec(select(Household).where(Household.label == "1-1-102")).one()
    old = slips["1-1-102"].replace("-", "")
    page = client.get("/f/c/testyard/codes").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    reissued = client.post(
        f"/f/c/testyard/codes/{household.id}/reissue", data={"csrf_token": token}
    ).get_data(as_text=True)
    new = re.findall(r'<p class="slip-code">([^<]+)</p>', reissued)
    assert len(new) == 1
    assert client.get(f"/h/{old}").status_code == 404
    assert client.get(f"/h/{new[0]}").status_code == 200
    client.post(f"/f/c/testyard/codes/{household.id}/revoke", data={"csrf_token": token})
    assert client.get(f"/h/{new[0]}").status_code == 404


@pytest.mark.parametrize("typed", ["", "AAAA", "ZZZZZZZZ", "00000000", "<script>", "A" * 200])
def test_unknown_codes_say_so(client: FlaskClient, yard: dict, typed: str) -> None:
    issue_all(client)
    response = client.get(f"/h/{typed}") if typed else client.get("/h")
    if typed:
        assert response.status_code == 404
        assert "无法识别的入户码" in response.get_data(as_text=True)
        assert "<script>" not in response.get_data(as_text=True)
    else:
        assert response.status_code == 200


def test_code_guessing_is_rate_limited(client: FlaskClient, yard: dict) -> None:
    statuses = [client.get(f"/h/ABCDEFG{c}").status_code for c in "23456789ABCDEFGHJKMNPQRST"]
    assert statuses[:20] == [404] * 20
    assert set(statuses[20:]) == {429}


@pytest.mark.parametrize("with_token", [True, False])
def test_code_guessing_by_post_is_rate_limited_too(
    client: FlaskClient, yard: dict, with_token: bool
) -> None:
    data = {"csrf_token": hidden_fields(client.get("/f/").get_data(as_text=True))["csrf_token"]}
    statuses = [
        client.post(f"/h/ABCDEFG{c}", data=data if with_token else {}).status_code
        for c in "23456789ABCDEFGHJKMNPQRST"
    ]
    assert set(statuses[:20]) <= {400, 404}
    assert set(statuses[20:]) == {429}


def test_receipt_guessing_on_the_thanks_page_is_rate_limited(
    client: FlaskClient, yard: dict
) -> None:
    statuses = [
        client.get(f"/c/testyard/thanks/ABCDEFG{c}").status_code
        for c in "23456789ABCDEFGHJKMNPQRST"
    ]
    assert statuses[:20] == [404] * 20
    assert set(statuses[20:]) == {429}


def test_open_mode_does_not_take_codes(client: FlaskClient, yard: dict, session: Session) -> None:
    set_mode(session, yard["survey"], SurveyMode.OPEN)
    code = issue_all(client)["1-1-101"]
    html = client.get(f"/h/{code}").get_data(as_text=True)
    assert "本次调查通过小区二维码链接填写" in html and 'name="approve"' not in html


def test_codes_only_mode_refuses_the_open_link(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    set_mode(session, yard["survey"], SurveyMode.CODES)
    html = client.get("/c/testyard/survey").get_data(as_text=True)
    assert "本次调查需用入户码填写" in html and 'name="approve"' not in html
    token = hidden_fields(client.get("/f/").get_data(as_text=True))["csrf_token"]
    refused = client.post(
        "/c/testyard/survey",
        data={
            "csrf_token": token,
            "building": "1",
            "unit": "1",
            "room": "101",
            "approve": ["gas_pipeline"],
        },
    )
    assert refused.status_code == 400
    assert "本次调查需用入户码填写" in refused.get_data(as_text=True)
    assert "用我家的入户码填写" in client.get("/c/testyard").get_data(as_text=True)
    code = issue_all(client)["1-1-101"]
    assert answer_with_code(client, code).status_code == 303


def test_with_a_code_issued_only_the_code_answers_for_the_household(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    set_mode(session, yard["survey"], SurveyMode.BOTH)
    code = issue_all(client)["1-2-301"]
    answer_with_code(client, code)
    page = client.get("/c/testyard/survey").get_data(as_text=True)
    response = client.post(
        "/c/testyard/survey",
        data={
            **hidden_fields(page),
            "building": "1",
            "unit": "2",
            "room": "301",
            "approve": ["parking"],
        },
    )
    assert response.status_code == 400
    assert "您家有自己的入户码" in response.get_data(as_text=True)
    [ballot] = session.exec(select(Ballot)).all()
    assert ballot.verified


def test_the_menu_can_count_verified_ballots_only(
    app: Flask, client: FlaskClient, yard: dict, session: Session
) -> None:
    set_mode(session, yard["survey"], SurveyMode.BOTH)
    code = issue_all(client)["2-2-101"]
    answer_with_code(client, code)
    session.expire_all()
    without = session.exec(select(Household).where(Household.label == "1-1-101")).one()
    codes.revoke_code(session, without)  # a household without a code uses the open link
    session.commit()
    page = client.get("/c/testyard/survey").get_data(as_text=True)
    client.post(
        "/c/testyard/survey",
        data={
            **hidden_fields(page),
            "building": "1",
            "unit": "1",
            "room": "101",
            "approve": ["parking"],
        },
    )
    with app.app_context():
        compound = compound_by_code(session, "testyard")
        assert compound is not None
        everything = compound_menu(session, compound, yard["survey"])
        verified = compound_menu(session, compound, yard["survey"], verified_only=True)
    assert everything["responses"] == 2 and verified["responses"] == 1
    html = client.get("/f/c/testyard/menu?verified=1").get_data(as_text=True)
    assert "只统计已核验的答卷" in html
