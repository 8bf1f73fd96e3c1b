"""The resident's path: landing, survey, thank-you, and every kind of bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import Ballot, BallotItem, SurveyStatus
from tests.conftest import hidden_fields
from tests.factories import create_compound, open_survey


@pytest.fixture
def yard(session: Session) -> dict[str, Any]:
    """A compound of 2 buildings x 2 units x 3 floors x 2 rooms (24 households), survey open."""
    compound, households = create_compound(session)
    survey = open_survey(session, compound)
    return {"compound": compound, "households": households, "survey": survey}


def csrf_only(client: FlaskClient) -> dict[str, str]:
    """A valid CSRF token (from the login page), for posting where no form is offered."""
    return {"csrf_token": hidden_fields(client.get("/login").get_data(as_text=True))["csrf_token"]}


def form_for(client: FlaskClient, code: str = "testyard") -> dict[str, str]:
    page = client.get(f"/c/{code}/survey")
    assert page.status_code == 200
    return hidden_fields(page.get_data(as_text=True))


def answer(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "building": "1",
        "unit": "2",
        "room": "301",
        "elderly": "y",
        "tenure": "owner",
        "approve": ["roof_waterproofing", "elevator_retrofit", "internal_roads"],
        "priority": ["elevator_retrofit", "roof_waterproofing", ""],
        "comment": "楼道灯坏了",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def submit(client: FlaskClient, fields: dict[str, str] | None = None, **overrides: Any) -> Any:
    fields = fields if fields is not None else form_for(client)
    return client.post("/c/testyard/survey", data={**fields, **answer(**overrides)})


def ballots(session: Session, *, current_only: bool = False) -> list[Ballot]:
    session.expire_all()
    query = select(Ballot)
    if current_only:
        query = query.where(Ballot.is_current)
    return list(session.exec(query).all())


def test_landing_shows_name_progress_and_closing_date(client: FlaskClient, yard: dict) -> None:
    html = client.get("/c/testyard").get_data(as_text=True)
    assert "测试小区" in html
    assert "0</strong> / 24" in html
    assert "<progress" in html
    assert "截止日期" in html
    assert 'href="/c/testyard/survey"' in html


def test_survey_offers_the_compounds_own_buildings_units_and_rooms(
    client: FlaskClient, yard: dict
) -> None:
    html = client.get("/c/testyard/survey").get_data(as_text=True)
    building = re.search(r'<select id="building".*?</select>', html, re.S)
    assert building is not None
    assert re.findall(r'<option value="(\d+)"', building.group(0)) == ["1", "2"]
    assert html.count('name="approve"') == 53
    assert html.count('name="priority"') == 3
    # The three official categories, in the guidance's order.
    assert html.index("基础类") < html.index("完善类") < html.index("提升类")


def test_submit_stores_one_ballot_and_moves_the_count(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    response = submit(client)
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    html = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert "谢谢，您的回答已保存" in html
    assert "1</strong> / 24" in html
    assert 'href="/c/testyard/results"' in html
    [ballot] = ballots(session)
    assert re.search(rf"{ballot.receipt[:4]}-{ballot.receipt[4:]}", html)
    assert ballot.elderly and not ballot.children and ballot.tenure == "owner"
    assert ballot.comment == "楼道灯坏了"
    items = {bi.item_id: bi.rank for bi in session.exec(select(BallotItem)).all()}
    assert items == {"elevator_retrofit": 1, "roof_waterproofing": 2, "internal_roads": None}
    assert "1</strong> / 24" in client.get("/c/testyard").get_data(as_text=True)


def test_answering_again_replaces_and_keeps_history(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    submit(client)
    response = submit(client, approve=["gas_pipeline"], priority=["gas_pipeline"])
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "替换了之前的回答" in html
    assert len(ballots(session)) == 2
    [current] = ballots(session, current_only=True)
    assert current.replaced_at is None
    items = session.exec(select(BallotItem.item_id).where(BallotItem.ballot_id == current.id))
    assert list(items) == ["gas_pipeline"]
    assert "1</strong> / 24" in client.get("/c/testyard").get_data(as_text=True)


def test_double_tap_or_retry_stores_exactly_one_ballot(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    fields = form_for(client)
    first = submit(client, fields)
    second = submit(client, fields)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert "只计算一次" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert len(ballots(session)) == 1


def test_two_households_count_separately(client: FlaskClient, yard: dict, session: Session) -> None:
    submit(client)
    submit(client, building="2", unit="1", room="102")
    assert len(ballots(session, current_only=True)) == 2


BAD_ANSWERS = {
    "missing building": ({"building": None}, "请选择您住的楼栋"),
    "unknown building": ({"building": "9"}, "这个小区没有这栋楼"),
    "missing unit": ({"unit": ""}, "请选择您的单元"),
    "unknown unit": ({"unit": "7"}, "这栋楼没有这个单元"),
    "unknown room": ({"room": "909"}, "这个单元没有这个房号"),
    "nothing ticked": ({"approve": [], "priority": []}, "请至少勾选一项"),
    "unknown item": ({"approve": ["roof_waterproofing", "golden_toilets"]}, "不在本次调查的清单里"),
    "priority not ticked": ({"priority": ["gas_pipeline"]}, "优先项必须从您勾选的项目中选"),
    "four priorities": (
        {
            "approve": [
                "roof_waterproofing",
                "elevator_retrofit",
                "internal_roads",
                "gas_pipeline",
            ],
            "priority": [
                "roof_waterproofing",
                "elevator_retrofit",
                "internal_roads",
                "gas_pipeline",
            ],
        },
        "最多只能选 3 个优先项",
    ),
    "same priority twice": (
        {"priority": ["roof_waterproofing", "roof_waterproofing"]},
        "每个优先项必须是不同的项目",
    ),
    "comment too long": ({"comment": "长" * 501}, "请不要超过 500 个字"),
    "bad tenure": ({"tenure": "landlord"}, "请选择业主或租户"),
}


@pytest.mark.parametrize("overrides, message", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
def test_bad_answers_get_a_translated_message_and_store_nothing(
    client: FlaskClient, yard: dict, session: Session, overrides: dict, message: str
) -> None:
    response = submit(client, **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "您的回答还没有保存" in html
    assert ballots(session) == []


def test_bad_answers_keep_what_was_entered(client: FlaskClient, yard: dict) -> None:
    html = submit(client, room="909", comment="漏水").get_data(as_text=True)
    assert 'value="roof_waterproofing" checked' in html
    assert "漏水</textarea>" in html


def test_english_messages(client: FlaskClient, yard: dict) -> None:
    client.get("/c/testyard?lang=en")
    html = submit(client, building="9").get_data(as_text=True)
    assert "This compound has no such building." in html


def test_missing_csrf_token_is_refused_and_the_answers_are_kept(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    fields = form_for(client)
    del fields["csrf_token"]
    response = submit(client, fields, comment="漏水")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "刚才没有提交成功" in html
    assert 'value="roof_waterproofing" checked' in html and "漏水</textarea>" in html
    assert ballots(session) == []
    again = hidden_fields(html)
    assert again["token"] == fields["token"]  # the same submission, sent once more
    assert submit(client, again).status_code == 303
    assert len(ballots(session)) == 1


def test_wrong_csrf_token_is_refused(client: FlaskClient, yard: dict, session: Session) -> None:
    fields = form_for(client)
    fields["csrf_token"] = "forged"
    assert submit(client, fields).status_code == 400
    assert ballots(session) == []


@pytest.mark.parametrize("token", ["", "abc", "eyJjIjoidGVzdHlhcmQiLCJrIjoiMDAwIn0.forged"])
def test_tampered_submission_token_is_refused(
    client: FlaskClient, yard: dict, session: Session, token: str
) -> None:
    fields = form_for(client)
    fields["token"] = token
    response = submit(client, fields)
    assert response.status_code == 400
    assert "表单在发给您之后被改动过" in response.get_data(as_text=True)
    assert ballots(session) == []


def test_token_of_another_compound_is_refused(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    other, _ = create_compound(session, code="otheryard", name="别的小区")
    open_survey(session, other)
    fields = form_for(client, "otheryard")
    assert submit(client, fields).status_code == 400
    assert ballots(session) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"status": SurveyStatus.CLOSED}, "调查已经截止"),
        ({"closes_in_days": -1}, "调查已经截止"),
        ({"opens_in_days": 3}, "调查将于"),
    ],
    ids=["closed", "past closing date", "not yet open"],
)
def test_closed_survey_takes_no_answers(
    client: FlaskClient, session: Session, kwargs: dict, message: str
) -> None:
    compound, _ = create_compound(session)
    open_survey(session, compound, **kwargs)
    assert message in client.get("/c/testyard").get_data(as_text=True)
    page = client.get("/c/testyard/survey").get_data(as_text=True)
    assert message in page and 'name="approve"' not in page
    response = client.post("/c/testyard/survey", data={**csrf_only(client), **answer()})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert ballots(session) == []


def test_compound_without_survey(client: FlaskClient, session: Session) -> None:
    create_compound(session)
    assert "还没有开始调查" in client.get("/c/testyard").get_data(as_text=True)
    response = client.post("/c/testyard/survey", data={**csrf_only(client), **answer()})
    assert response.status_code == 400
    assert "还没有开始调查" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/c/nowhere",
        "/c/nowhere/survey",
        "/c/nowhere/results",
        "/c/nowhere/qr.svg",
        "/c/nowhere/poster",
        "/c/testyard/thanks/ZZZZZZZZ",
        "/no/such/page",
    ],
)
def test_unknown_pages_are_404_in_chinese(client: FlaskClient, yard: dict, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404
    assert "找不到这个页面" in response.get_data(as_text=True)


def test_post_to_unknown_compound_is_404(client: FlaskClient, yard: dict) -> None:
    fields = form_for(client)
    assert client.post("/c/nowhere/survey", data={**fields, **answer()}).status_code == 404


def test_wrong_method_is_405_page(client: FlaskClient, yard: dict) -> None:
    fields = form_for(client)
    response = client.post("/c/testyard", data=fields)
    assert response.status_code == 405
    assert "这里不允许这个操作" in response.get_data(as_text=True)


def test_oversized_body_is_413(client: FlaskClient, yard: dict) -> None:
    response = client.post("/c/testyard/survey", data={"comment": "x" * 300_000})
    assert response.status_code == 413


def test_an_empty_post_is_a_form_error_not_a_crash(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    fields = form_for(client)
    response = client.post("/c/testyard/survey", data={"csrf_token": fields["csrf_token"]})
    assert response.status_code == 400
    assert "请选择您住的楼栋" in response.get_data(as_text=True)
    assert ballots(session) == []
