"""Coverage, paper questionnaires typed in by number, and the survey's settings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import Ballot, CatalogItem, Household, SurveyItem
from consult.services.paper import NumbersError, parse_numbers
from consult.services.surveys import offered_items
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey
from tests.test_residents_survey import submit


@pytest.fixture
def yard(session: Session, client: FlaskClient) -> dict[str, Any]:
    compound, households = create_compound(session)
    survey = open_survey(session, compound)
    households[0].elderly = True  # the community's records know of an elderly resident
    session.add(households[0])
    session.commit()
    account = create_user(session, "wang", "facilitator", compounds=[compound])
    return {"compound": compound, "households": households, "survey": survey, "account": account}


def staff(client: FlaskClient) -> FlaskClient:
    log_in(client, "wang")
    return client


def enter(client: FlaskClient, **fields: str) -> Any:
    page = client.get("/f/c/testyard/paper/entry").get_data(as_text=True)
    return client.post("/f/c/testyard/paper/entry", data={**hidden_fields(page), **fields})


def test_parse_numbers() -> None:
    assert parse_numbers("3 7，12、 15", 53) == [3, 7, 12, 15]
    assert parse_numbers("１２ 3", 53) == [12, 3]
    assert parse_numbers("", 53) == []
    for text, reason in [
        ("3 x", "not_a_number"),
        ("54", "out_of_range"),
        ("0", "out_of_range"),
        ("3 3", "twice"),
    ]:
        with pytest.raises(NumbersError) as error:
            parse_numbers(text, 53)
        assert error.value.reason == reason


def test_coverage_by_unit_with_elderly_side_by_side(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    submit(client)  # 1-2-301 answers online and says someone is 60+
    html = staff(client).get("/f/c/testyard/coverage").get_data(as_text=True)
    assert "全部住户：24 户中 1 户" in html
    assert "有 60 岁以上老人的住户：2 户中 1 户" in html
    unit = re.search(r"<td>2单元</td>\s*<td class=\"num\">(\d+) / (\d+)</td>", html)
    assert unit and unit.groups() == ("1", "6")
    knock = client.get("/f/c/testyard/coverage/1/knock").get_data(as_text=True)
    rooms = re.findall(r'<td class="knock-room">(\d+)</td>', knock)
    assert len(rooms) == 11 and "301" in rooms  # unit 1's 301 and unit 2's others
    assert client.get("/f/c/testyard/coverage/9/knock").status_code == 404


def test_paper_entry_stores_a_verified_paper_ballot(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    staff(client)
    items = offered_items(session, yard["survey"])
    response = enter(
        client,
        household="2-1-202",
        approve="1 14 16",
        priority="14 1",
        elderly="y",
        tenure="tenant",
        comment="楼道太暗",
    )
    assert response.status_code == 303
    assert "已保存 2-1-202" in client.get(response.headers["Location"]).get_data(as_text=True)
    ballot = session.exec(select(Ballot)).one()
    assert (ballot.channel, ballot.verified, ballot.entered_by) == (
        "paper",
        True,
        yard["account"].id,
    )
    assert ballot.elderly and ballot.tenure == "tenant" and ballot.comment == "楼道太暗"
    from consult.services.ballots import answers_of

    answers = answers_of(session, ballot)
    assert answers.priorities == [items[13].id, items[0].id]
    assert set(answers.approve) == {items[0].id, items[13].id, items[15].id}
    coverage = client.get("/f/c/testyard/coverage").get_data(as_text=True)
    assert "纸质问卷 1" in coverage


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"household": "9-9-909", "approve": "1"}, "这个小区没有 9-9-909 这一户"),
        ({"household": "", "approve": "1"}, "请输入住户"),
        ({"household": "1-1-101", "approve": ""}, "请输入勾选项目的编号"),
        ({"household": "1-1-101", "approve": "1 99"}, "问卷上没有第 99 项"),
        ({"household": "1-1-101", "approve": "1 a"}, "“a”不是项目编号"),
        ({"household": "1-1-101", "approve": "1 1"}, "项目 1 输入了两次"),
        (
            {"household": "1-1-101", "approve": "1 2", "priority": "3"},
            "优先项必须从您勾选的项目中选",
        ),
        (
            {"household": "1-1-101", "approve": "1 2 3 4", "priority": "1 2 3 4"},
            "最多只能选 3 个优先项",
        ),
    ],
)
def test_paper_entry_refuses_bad_input(
    client: FlaskClient, yard: dict, session: Session, fields: dict, message: str
) -> None:
    response = enter(staff(client), **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.exec(select(Ballot)).all() == []


def test_paper_for_a_household_that_answered_online_asks_which_stands(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    submit(client)  # 1-2-301 online
    staff(client)
    asked = enter(client, household="1-2-301", approve="5")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert "1-2-301 已于" in html and "以哪一份为准" in html
    fields = hidden_fields(html)
    keep = client.post(
        "/f/c/testyard/paper/entry",
        data={**fields, "household": "1-2-301", "approve": "5", "decision": "keep"},
    )
    assert keep.status_code == 303
    assert session.exec(select(Ballot)).one().channel == "qr"
    replace = client.post(
        "/f/c/testyard/paper/entry",
        data={**fields, "household": "1-2-301", "approve": "5", "decision": "replace"},
    )
    assert replace.status_code == 303
    session.expire_all()
    current = session.exec(select(Ballot).where(Ballot.is_current)).one()
    assert current.channel == "paper"
    assert len(session.exec(select(Ballot)).all()) == 2


def test_the_same_paper_form_sent_twice_is_stored_once(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    staff(client)
    page = client.get("/f/c/testyard/paper/entry").get_data(as_text=True)
    data = {**hidden_fields(page), "household": "1-1-101", "approve": "2"}
    client.post("/f/c/testyard/paper/entry", data=data)
    client.post("/f/c/testyard/paper/entry", data=data)
    assert len(session.exec(select(Ballot)).all()) == 1


def test_printable_questionnaires(client: FlaskClient, yard: dict) -> None:
    staff(client)
    blank = client.get("/f/c/testyard/paper").get_data(as_text=True)
    assert blank.count('class="paper"') == 1
    assert blank.count('<span class="paper-box">☐</span>') == 53
    assert '<span class="paper-no">53</span>' in blank
    submit(client)
    missing = client.get("/f/c/testyard/paper?for=missing").get_data(as_text=True)
    assert missing.count('class="paper"') == 23
    assert "<strong>1-2-301</strong>" not in missing and "<strong>1-1-101</strong>" in missing


def test_survey_settings_dates_status_and_items(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    staff(client)
    page = client.get("/f/c/testyard/survey").get_data(as_text=True)
    keep = ["gas_pipeline", "fire_safety", "parking"]
    response = client.post(
        "/f/c/testyard/survey",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "status": "open",
            "opens_on": "2026-11-01",
            "closes_on": "2026-12-31",
            "items": keep,
        },
    )
    assert response.status_code == 303
    session.expire_all()
    assert sorted(i.id for i in offered_items(session, yard["survey"])) == sorted(keep)
    survey_page = client.get("/c/testyard/survey").get_data(as_text=True)
    assert survey_page.count('name="approve"') == 3
    bad = client.post(
        "/f/c/testyard/survey",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "status": "open",
            "opens_on": "2026-12-31",
            "closes_on": "2026-11-01",
            "items": keep,
        },
    )
    assert bad.status_code == 400 and "截止日期不能早于开始日期" in bad.get_data(as_text=True)


def test_a_compound_adds_its_own_item(client: FlaskClient, yard: dict, session: Session) -> None:
    staff(client)
    page = client.get("/f/c/testyard/survey").get_data(as_text=True)
    client.post(
        "/f/c/testyard/survey/items",
        data={
            "csrf_token": hidden_fields(page)["csrf_token"],
            "name_zh": "修缮小区凉亭",
            "name_en": "Repair the pavilion",
            "category": "improvement",
        },
    )
    item = session.exec(select(CatalogItem).where(CatalogItem.name_zh == "修缮小区凉亭")).one()
    assert item.compound_id == yard["compound"].id
    assert session.exec(select(SurveyItem).where(SurveyItem.item_id == item.id)).one()
    assert "修缮小区凉亭" in client.get("/c/testyard/survey").get_data(as_text=True)
    bad = client.post(
        "/f/c/testyard/survey/items",
        data={"csrf_token": hidden_fields(page)["csrf_token"], "name_zh": "", "category": "x"},
    )
    assert bad.status_code == 303
    assert (
        len(session.exec(select(CatalogItem).where(CatalogItem.compound_id.is_not(None))).all())
        == 1
    )


def test_adding_a_building_and_editing_a_household(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    staff(client)
    page = client.get("/f/c/testyard/setup").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    client.post(
        "/f/c/testyard/setup",
        data={"csrf_token": token, "number": "3", "units": "2", "floors": "5", "per_floor": "2"},
    )
    session.expire_all()
    assert len(session.exec(select(Household)).all()) == 24 + 20
    again = client.post(
        "/f/c/testyard/setup",
        data={"csrf_token": token, "number": "3", "units": "1", "floors": "1", "per_floor": "1"},
    )
    assert again.status_code == 400 and "3号楼已经存在" in again.get_data(as_text=True)
    home = session.exec(select(Household).where(Household.label == "3-2-501")).one()
    response = client.post(
        f"/f/c/testyard/households/{home.id}",
        data={"csrf_token": token, "floor": "5", "area": "88.5", "tenure": "owner", "elderly": "y"},
    )
    assert response.status_code == 303
    session.expire_all()
    home = session.get(Household, home.id)
    assert home is not None and (home.area, home.tenure, home.elderly) == (88.5, "owner", True)
    bad = client.post(
        f"/f/c/testyard/households/{home.id}",
        data={"csrf_token": token, "floor": "五", "area": "很大"},
    )
    assert bad.status_code == 400


def test_renaming_a_compound(client: FlaskClient, yard: dict, session: Session) -> None:
    staff(client)
    token = hidden_fields(client.get("/f/c/testyard/setup").get_data(as_text=True))["csrf_token"]
    client.post(
        "/f/c/testyard/details",
        data={"csrf_token": token, "name": "新名字小区", "address": "潍坊市"},
    )
    session.expire_all()
    assert yard["compound"].id is not None
    from consult.models import Compound

    compound = session.get(Compound, yard["compound"].id)
    assert compound is not None and (compound.name, compound.address) == ("新名字小区", "潍坊市")
    client.post("/f/c/testyard/details", data={"csrf_token": token, "name": " "})
    session.expire_all()
    assert session.get(Compound, yard["compound"].id).name == "新名字小区"  # type: ignore[union-attr]


def test_items_can_be_ticked_as_well_as_typed(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    staff(client)
    page = client.get("/f/c/testyard/paper/entry").get_data(as_text=True)
    response = client.post(
        "/f/c/testyard/paper/entry",
        data={**hidden_fields(page), "household": "1-1-102", "approve": "2", "tick": ["2", "5"]},
    )
    assert response.status_code == 303
    from consult.services.ballots import answers_of

    items = offered_items(session, yard["survey"])
    ballot = session.exec(select(Ballot)).one()
    assert answers_of(session, ballot).approve == [items[1].id, items[4].id]


@pytest.mark.parametrize(
    "path, data",
    [
        ("/f/c/testyard/paper/entry", {"household": "1-1-101", "approve": "1 ²"}),
        ("/f/c/testyard/setup", {"number": "9", "units": "²", "floors": "1", "per_floor": "1"}),
    ],
)
def test_digits_python_accepts_but_int_refuses(
    client: FlaskClient, yard: dict, path: str, data: dict
) -> None:
    staff(client)
    token = hidden_fields(client.get(path).get_data(as_text=True))["csrf_token"]
    assert client.post(path, data={"csrf_token": token, **data}).status_code == 400


def test_a_draft_survey_takes_the_compound_s_own_item(
    client: FlaskClient, session: Session
) -> None:
    compound, _ = create_compound(session, code="draftyard")
    from consult.models import SurveyStatus

    open_survey(session, compound, status=SurveyStatus.DRAFT)
    create_user(session, "zhao", "facilitator", compounds=[compound])
    log_in(client, "zhao")
    token = hidden_fields(client.get("/f/c/draftyard/survey").get_data(as_text=True))["csrf_token"]
    client.post(
        "/f/c/draftyard/survey/items",
        data={"csrf_token": token, "name_zh": "凉亭", "category": "improvement"},
    )
    assert "凉亭" in client.get("/f/c/draftyard/survey").get_data(as_text=True)
    item = session.exec(select(CatalogItem).where(CatalogItem.name_zh == "凉亭")).one()
    assert session.exec(select(SurveyItem).where(SurveyItem.item_id == item.id)).one()
