"""The compound page's menu section is kept per reading: every write shows at once.

The section (menu, charts, tables) is rendered once per key and kept; the key is the
whole reading of what it shows. After each kind of write the page must be the page
made from nothing (no kept section), and the change must be on it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

import consult.planners.menu_section as menu_section
from consult.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Ballot,
    CatalogItem,
    Channel,
    Compound,
    Household,
    Meeting,
    MeetingStatus,
    Survey,
    Unit,
)
from consult.planners.menu_section import kept_pages, kept_sections
from consult.services.ballots import Answers, submit_ballot, withdraw_ballot
from consult.services.publications import publish
from consult.services.surveys import offer_items, offered_items
from consult.services.tallies import ballots_document
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey
from tests.test_city_tally import answer, meeting

URL = "/p/c/east"


@pytest.fixture
def yard(session: Session) -> dict[str, Any]:
    """A compound with a few answers, a planner logged in."""
    east, homes = create_compound(session, "east", "东院小区", units=(2, 2))
    survey = open_survey(session, east)
    for number, home in enumerate(homes[:6]):
        approve = ["parking", "water_supply"] if number < 4 else ["elevator_retrofit"]
        answer(session, survey, home, approve, approve[:1], elderly=number % 2 == 0)
    create_user(session, "zhou", "planner")
    return {"compound": east, "survey": survey, "homes": homes}


@pytest.fixture
def planner(app: Flask, yard: dict[str, Any]) -> FlaskClient:
    client = app.test_client()
    log_in(client, "zhou")
    return client


def shown(client: FlaskClient, url: str = URL) -> str:
    """The page as a person sees it (the form's CSRF token aside)."""
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True))


def made_afresh(app: Flask, client: FlaskClient, url: str = URL) -> str:
    """The page made with no section and no page kept."""
    with app.app_context():
        kept_sections().clear()
        kept_pages().clear()
    return shown(client, url)


def answered(page: str) -> int:
    found = re.search(r"(\d+) of \d+ households answered", page)
    assert found is not None
    return int(found[1])


def ballot_of(session: Session, home: Household) -> Ballot:
    found = session.exec(
        select(Ballot).where(Ballot.household_id == home.id, Ballot.is_current)
    ).one()
    return found


def submit(
    session: Session, survey: Survey, home: Household, approve: list[str], **how: Any
) -> None:
    submit_ballot(
        session,
        survey=survey,
        household=home,
        answers=Answers(approve=approve, priorities=approve[:1]),
        submission_key=uuid.uuid4().hex,
        **how,
    )
    session.commit()


def withdraw(session: Session, home: Household) -> None:
    assert withdraw_ballot(session, ballot_of(session, home))
    session.commit()


def add_household(session: Session, compound: Compound) -> None:
    unit = session.exec(select(Unit).order_by(Unit.id)).first()
    assert unit is not None
    session.add(
        Household(compound_id=compound.id or 0, unit_id=unit.id or 0, room="999", label="1-1-999")
    )
    session.commit()


def withdraw_item(session: Session, survey: Survey, item: str) -> None:
    offer_items(session, survey, [i for i in offered_items(session, survey) if i.id != item])
    session.commit()


def set_cost(session: Session, item: str, cost: int) -> None:
    row = session.get(CatalogItem, item)
    assert row is not None
    row.cost = cost
    session.add(row)
    session.commit()


def test_a_second_view_is_the_kept_section(
    app: Flask, planner: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tallied: list[int] = []
    tally = menu_section.engine.tally

    def counting(*args: Any, **kwargs: Any) -> Any:
        tallied.append(1)
        return tally(*args, **kwargs)

    monkeypatch.setattr(menu_section.engine, "tally", counting)
    first = shown(planner)
    assert shown(planner) == first
    assert len(tallied) == 1
    assert made_afresh(app, planner) == first
    assert len(tallied) == 2


WRITES: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "a new submission": lambda s, y: submit(s, y["survey"], y["homes"][7], ["gas_pipeline"]),
    "a replacement": lambda s, y: submit(s, y["survey"], y["homes"][0], ["elevator_retrofit"]),
    "a withdrawal": lambda s, y: withdraw(s, y["homes"][1]),
    "a paper entry": lambda s, y: submit(
        s, y["survey"], y["homes"][6], ["fire_safety"], channel=Channel.PAPER, verified=True
    ),
    "a correction on paper": lambda s, y: submit(
        s, y["survey"], y["homes"][2], ["gas_pipeline"], channel=Channel.PAPER, verified=True
    ),
    "a meeting's hands": lambda s, y: meeting(
        s, y["compound"], MeetingStatus.CLOSED, 3, [("parking", 9), ("water_supply", 4)]
    ),
    "an item taken off the menu": lambda s, y: withdraw_item(s, y["survey"], "water_supply"),
    "a cost": lambda s, y: set_cost(s, "parking", 250_000),
    "a household added": lambda s, y: add_household(s, y["compound"]),
}


@pytest.mark.parametrize("write", WRITES)
def test_every_write_shows_at_once(
    app: Flask, session: Session, yard: dict[str, Any], planner: FlaskClient, write: str
) -> None:
    if write == "a cost":  # costs show where there is a budget
        yard["compound"].budget = 400_000
        session.add(yard["compound"])
        session.commit()
    before = shown(planner)
    WRITES[write](session, yard)
    after = shown(planner)
    assert after != before
    assert after == made_afresh(app, planner)


def test_verification_counts_where_only_verified_ballots_count(
    app: Flask, session: Session, yard: dict[str, Any], planner: FlaskClient
) -> None:
    url = f"{URL}?verified=1&lang=en"
    before = shown(planner, url)
    assert answered(before) == 0
    submit(session, yard["survey"], yard["homes"][0], ["parking", "water_supply"], verified=True)
    after = shown(planner, url)
    assert answered(after) == 1
    assert after == made_afresh(app, planner, url)


def test_a_meeting_vote_and_a_budget_show_at_once(
    app: Flask, session: Session, yard: dict[str, Any], planner: FlaskClient
) -> None:
    before = shown(planner)
    # Hands counted on an item by a meeting still in progress do not count; closed, they do.
    meeting(session, yard["compound"], MeetingStatus.IN_PROGRESS, 2, [("parking", 7)])
    assert shown(planner) == before
    entry = session.exec(select(AgendaItem).where(AgendaItem.item_id == "parking")).one()
    held = session.get(Meeting, entry.meeting_id)
    assert held is not None
    held.status = MeetingStatus.CLOSED
    session.add(held)
    session.commit()
    closed = shown(planner)
    assert closed != before and ">7 / 1 / 0<" in closed
    assert closed == made_afresh(app, planner)
    token = hidden_fields(planner.get(URL).get_data(as_text=True))["csrf_token"]
    planner.post(f"{URL}/budget", data={"csrf_token": token, "budget": "400000"})
    assert "400,000" in shown(planner)  # with the "Saved." note, once
    budgeted = shown(planner)
    assert budgeted != closed and "400,000" in budgeted
    assert budgeted == made_afresh(app, planner)


def test_each_language_and_method_has_its_own_section(app: Flask, planner: FlaskClient) -> None:
    pages = {
        (lang, method): shown(planner, f"{URL}?method={method}&lang={lang}")
        for lang in ("en", "zh")
        for method in ("approval", "borda", "schulze")
    }
    assert "The ranked menu" in pages["en", "approval"]
    assert "The ranked menu" not in pages["zh", "approval"]
    assert 'value="borda" selected' in pages["en", "borda"]
    for (lang, method), page in pages.items():
        assert made_afresh(app, planner, f"{URL}?method={method}&lang={lang}") == page
    with app.app_context():
        assert len(kept_sections()) == 1  # only the last one, made afresh


def test_item_ids_of_any_characters_read_back_exactly(
    session: Session, yard: dict[str, Any]
) -> None:
    # The database folds a ballot's approvals into JSON text: ids with its marks survive.
    odd = 'east-"a,b:c\\d]' + "，小区"
    session.add(
        CatalogItem(
            id=odd,
            category="basic",
            name_zh="怪",
            name_en="odd",
            position=10_000,
            compound_id=yard["compound"].id,
        )
    )
    session.commit()
    survey = yard["survey"]
    offer_items(session, survey, [*offered_items(session, survey), session.get(CatalogItem, odd)])
    session.commit()
    submit(session, survey, yard["homes"][8], [odd, "parking"])
    document = ballots_document(session, yard["compound"], survey)
    mine = next(b for b in document["ballots"] if b["household"] == yard["homes"][8].label)
    assert mine["approve"] == sorted([odd, "parking"])
    assert mine["rank"] == [odd]


def test_the_whole_page_is_kept_and_each_request_gets_its_own_token(
    app: Flask, session: Session, yard: dict[str, Any], planner: FlaskClient
) -> None:
    first = planner.get(URL).get_data(as_text=True)
    with app.app_context():
        assert len(kept_pages()) == 1
        assert all("\x00csrf-token\x00" in page for page in kept_pages()._items.values())
    # Another planner gets the kept page with their own name and their session's token,
    # and that token saves the budget.
    create_user(session, "qian", "planner")
    other = app.test_client()
    log_in(other, "qian")
    page = other.get(URL).get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    assert token != hidden_fields(first)["csrf_token"]
    assert page.count(token) == 2  # the budget form and the log-out form
    assert "qian" in page and "zhou" not in page
    saved = other.post(f"{URL}/budget", data={"csrf_token": token, "budget": "500000"})
    assert saved.status_code == 303
    # The note shows once, on a page made for it and not kept; then the kept page again.
    noted = shown(other)
    assert "500,000" in noted and 'class="flash' in noted
    again = shown(other)
    assert 'class="flash' not in again and "500,000" in again
    assert again == made_afresh(app, other)


def test_an_action_item_and_a_publication_show_at_once(
    app: Flask, session: Session, yard: dict[str, Any], planner: FlaskClient
) -> None:
    meeting(session, yard["compound"], MeetingStatus.CLOSED, 3, [("parking", 9)])
    held = session.exec(select(Meeting)).one()
    session.add(
        ActionItem(meeting_id=held.id or 0, what="修补屋面", owner="committee", due_on=None)
    )
    session.commit()
    before = shown(planner)
    assert "修补屋面" in before
    action = session.exec(select(ActionItem)).one()
    action.status = ActionStatus.DONE
    session.add(action)
    session.commit()
    after = shown(planner)
    assert after != before
    assert after == made_afresh(app, planner)
    with app.app_context():
        publish(
            session,
            yard["compound"],
            yard["survey"],
            None,
            contact="居委会",
            comments_until=None,
            today=date.today(),
            minimum=1,
        )
        session.commit()
    published = shown(planner)
    assert published != after
    assert published == made_afresh(app, planner)
