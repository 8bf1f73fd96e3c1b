"""The planners' pages: who sees what, filters and sorting, charts with tables, budgets, costs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import AuditEvent, CatalogItem, Compound, Household
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_district, create_user, log_in, open_survey
from tests.test_city_tally import answer


@pytest.fixture
def city(session: Session) -> dict[str, Any]:
    """Two districts: east (big, answered), west (small, answered less), one with no survey."""
    east, homes = create_compound(session, "east", "东院小区", units=(2, 2, 2))
    survey = open_survey(session, east)
    for number, home in enumerate(homes[:10]):
        approve = ["parking", "water_supply"] if number < 7 else ["elevator_retrofit"]
        answer(session, survey, home, approve, elderly=number % 2 == 0)
    west_district = create_district(session, "weicheng", "潍城区")
    west, homes = create_compound(session, "west", "西院小区", units=(1,))
    west.district_id = west_district.id  # type: ignore[assignment]
    session.add(west)
    session.commit()
    survey = open_survey(session, west)
    for home in homes[:3]:
        answer(session, survey, home, ["elevator_retrofit"])
    bare, _ = create_compound(session, "bare", "空白小区")
    return {"east": east, "west": west, "bare": bare, "weicheng": west_district}


def as_user(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    log_in(client, username)
    client.get("/?lang=en")
    return client


def figures(html: str) -> dict[str, Any]:
    """The chart figures a page carries, by id."""
    return {
        found[0]: json.loads(found[1])
        for found in re.findall(
            r'<script type="application/json" id="figure-([a-z]+)">(.*?)</script>', html, re.S
        )
    }


def cells(html: str, code: str) -> str:
    """The text of the city table's row of a compound."""
    row = re.search(rf'<tr>\s*<td><a href="/p/c/{code}">.*?</tr>', html, re.S)
    assert row is not None, code
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row[0]))


def test_who_may_open_the_planners_pages(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    anonymous = app.test_client()
    for url in ("/p/", "/p/demand", "/p/costs", "/p/c/east"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    create_user(session, "wang", "facilitator", compounds=[city["east"]])
    create_user(session, "xi", "planner", districts=[city["weicheng"]])
    create_user(session, "zhou", "planner")
    wang = as_user(app, "wang")
    assert wang.get("/p/").status_code == 403
    assert wang.get("/p/costs").status_code == 403
    assert wang.get("/p/c/east").status_code == 200  # their own compound, read
    assert wang.get("/p/c/west").status_code == 403
    token = hidden_fields(wang.get("/account/password").get_data(as_text=True))["csrf_token"]
    assert (
        wang.post("/p/c/east/budget", data={"csrf_token": token, "budget": "1"}).status_code == 403
    )
    xi = as_user(app, "xi")
    html = xi.get("/p/").get_data(as_text=True)
    assert "西院小区" in html and "东院小区" not in html
    assert xi.get("/p/?district=kuiwen").status_code == 404  # not a district of theirs
    assert xi.get("/p/c/east").status_code == 403
    assert "东院小区" in as_user(app, "zhou").get("/p/").get_data(as_text=True)
    assert as_user(app, "zhou").get("/f/").headers["Location"].endswith("/p/")


def test_the_city_page_compares_filters_and_sorts(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    create_user(session, "zhou", "planner")
    client = as_user(app, "zhou")
    html = client.get("/p/").get_data(as_text=True)
    east = cells(html, "east")
    assert "36 10 28%" in east and "survey open" in east
    assert "1 Parking" in east and "2 Water supply" in east and "3 Elevator" in east
    assert "6 3 50%" in cells(html, "west")
    assert "no survey" in cells(html, "bare") and "—" in cells(html, "bare")
    assert re.search(r"stat-value\">3<.*?Compounds", html, re.S)
    # Where does the elevator rank in the top five? Both; sorted by its rank.
    html = client.get("/p/?item=elevator_retrofit").get_data(as_text=True)
    assert "2 compounds where" in html
    assert html.index("西院小区") < html.index("东院小区")  # first there, third here
    # A district; sorting by households, both ways.
    html = client.get("/p/?district=kuiwen&sort=households&dir=desc").get_data(as_text=True)
    assert "西院小区" not in html and html.index("东院小区") < html.index("空白小区")
    html = client.get("/p/?sort=households&dir=asc").get_data(as_text=True)
    assert html.index("西院小区") < html.index("东院小区")
    # Bad parameters: a clear 404 for unknown names, defaults for unknown sorts.
    assert client.get("/p/?item=nothing").status_code == 404
    assert client.get("/p/?item=" + "x" * 500).status_code == 404
    assert client.get("/p/?district=nowhere").status_code == 404
    assert client.get("/p/?sort=%00&dir=sideways").status_code in (200, 400)
    assert client.get("/p/?sort=bogus&dir=sideways").status_code == 200


def test_city_demand_has_its_chart_and_table(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    create_user(session, "zhou", "planner")
    html = as_user(app, "zhou").get("/p/demand").get_data(as_text=True)
    figure = figures(html)["demand"]
    assert figure["data"] and "plotly" in html
    row = re.search(r"<td><a href=\"[^\"]*item=elevator_retrofit\">.*?</tr>", html, re.S)
    assert row is not None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row[0]))
    # Top five in both compounds; 3 + 3 households; 6 of 13 ballots.
    assert "2 / 2" in text and " 6 " in text and "46.2%" in text


def test_the_compound_page_charts_every_figure_with_a_table(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    create_user(session, "zhou", "planner")
    client = as_user(app, "zhou")
    html = client.get("/p/c/east").get_data(as_text=True)
    found = figures(html)
    assert sorted(found) == ["categories", "coverage", "menu", "segments"]
    menu = found["menu"]["data"][0]
    assert len(menu["x"]) == len(menu["y"]) >= 3
    assert "Parking" in html and "70.0%" in html  # 7 of 10
    assert html.count('<table class="table chart-table">') == 4
    assert "Building 1" in html and "Building 3" in html
    assert 'src="/p/assets/plotly-' in html
    assert client.get("/p/c/bare").status_code == 200  # no survey: says so
    assert client.get("/p/c/nowhere").status_code == 404
    assert client.get("/p/c/east?method=schulze&verified=1").status_code == 200
    assert client.get("/p/c/east?method=%3Cscript%3E").status_code == 200


def test_budget_and_costs_select_within_the_budget(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    create_user(session, "zhou", "planner")
    client = as_user(app, "zhou")
    page = client.get("/p/costs").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    # One unreadable cost: nothing is saved.
    response = client.post(
        "/p/costs",
        data={"csrf_token": token, "cost-parking": "300000", "cost-water_supply": "lots"},
    )
    assert response.status_code == 400
    assert "nothing was saved" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(CatalogItem, "parking").cost is None  # type: ignore[union-attr]
    response = client.post(
        "/p/costs",
        data={"csrf_token": token, "cost-parking": "300,000", "cost-water_supply": "250000"},
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(CatalogItem, "parking").cost == 300_000  # type: ignore[union-attr]
    for bad in ("-5", "1e9", "3000000000", "三百万", "①", "²"):
        response = client.post("/p/c/east/budget", data={"csrf_token": token, "budget": bad})
        assert response.status_code == 303
        assert "Type the budget in whole yuan" in client.get("/p/c/east").get_data(as_text=True)
    session.expire_all()
    assert session.get(Compound, city["east"].id).budget is None  # type: ignore[union-attr]
    client.post("/p/c/east/budget", data={"csrf_token": token, "budget": "400000"})
    html = client.get("/p/c/east").get_data(as_text=True)
    assert "Budget 400,000 yuan" in html and "cost 300,000 yuan and leave 100,000 yuan" in html
    assert html.count('class="selected"') == 1  # parking fits, then water supply does not
    actions = session.exec(select(AuditEvent.action)).all()
    assert "compound.budget" in actions and "catalog.costs" in actions
    client.post("/p/c/east/budget", data={"csrf_token": token, "budget": ""})
    session.expire_all()
    assert session.get(Compound, city["east"].id).budget is None  # type: ignore[union-attr]


def test_residents_pages_never_load_plotly(
    app: Flask, session: Session, city: dict[str, Any], client: FlaskClient
) -> None:
    for url in ("/", "/c/east", "/c/east/survey", "/c/east/results", "/h", "/r"):
        html = client.get(url).get_data(as_text=True)
        assert "plotly" not in html.lower(), url


def test_costs_are_the_citys_and_own_items_filter_the_city(
    app: Flask, session: Session, city: dict[str, Any]
) -> None:
    from consult.models import Category
    from consult.services.surveys import current_survey, offer_items, offered_items

    own = CatalogItem(
        id="east-gate",
        category=Category.BASIC,
        name_zh="东门",
        name_en="East gate",
        compound_id=city["east"].id,
    )
    session.add(own)
    survey = current_survey(session, city["east"])
    assert survey is not None
    offer_items(session, survey, [*offered_items(session, survey), own])
    session.commit()
    for home in session.exec(
        select(Household).where(Household.compound_id == city["east"].id)
    ).all()[10:16]:
        answer(session, survey, home, ["east-gate"])
    create_user(session, "zhou", "planner")
    create_user(session, "xi", "planner", districts=[city["weicheng"]])
    zhou = as_user(app, "zhou")
    html = zhou.get("/p/?item=east-gate").get_data(as_text=True)
    assert "1 compounds where" in html and "东院小区" in html
    assert "East gate" in zhou.get("/p/demand").get_data(as_text=True)
    # A district planner reads the costs but cannot change the city's.
    xi = as_user(app, "xi")
    page = xi.get("/p/costs").get_data(as_text=True)
    assert "for the whole city" in page and "disabled" in page
    token = hidden_fields(page)["csrf_token"]
    refused = xi.post("/p/costs", data={"csrf_token": token, "cost-parking": "1"})
    assert refused.status_code == 403
    # A form without some items leaves their costs alone.
    parking = session.get(CatalogItem, "parking")
    assert parking is not None
    parking.cost = 123_000
    session.add(parking)
    session.commit()
    token = hidden_fields(zhou.get("/p/costs").get_data(as_text=True))["csrf_token"]
    assert (
        zhou.post("/p/costs", data={"csrf_token": token, "cost-gas_pipeline": "5"}).status_code
        == 303
    )
    session.expire_all()
    assert session.get(CatalogItem, "parking").cost == 123_000  # type: ignore[union-attr]
    assert session.get(CatalogItem, "gas_pipeline").cost == 5  # type: ignore[union-attr]
