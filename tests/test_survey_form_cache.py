"""The open link's survey form, kept once rendered: never stale, never shared keys.

Every phone that scans a compound's QR code gets the same empty form but for two
values: the CSRF token and the signed submission key. The worker keeps the page it
rendered and fills those in per request; these tests hold that the kept page is the
page a fresh render gives, that each request gets its own key, and that whatever the
page shows (the layout, the menu, the survey's dates, the language, the text size)
changing gives a fresh page at once in the worker that changed it, and in the
others once SURVEY_FORM_FRESH_MS has passed.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlmodel import Session, select

from consult.models import Ballot, CatalogItem, Compound, District, Household
from consult.residents import form_cache
from consult.residents.form_cache import CSRF_MARK, KEY_MARK, RenderedForms, rendered_forms
from consult.services import surveys
from consult.services.imports import apply_import, plan_import
from consult.services.sheets import HouseholdRow
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey

URL = "/c/testyard/survey"


def page(client: FlaskClient, url: str = URL) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def without_tokens(html: str) -> str:
    """The page with its two per-request values blanked."""
    for value in hidden_fields(html).values():
        html = html.replace(value, "TOKEN")
    return html


def yard(session: Session) -> tuple[Compound, Any]:
    compound, _households = create_compound(session)
    return compound, open_survey(session, compound)


def test_the_kept_page_is_the_fresh_page_with_new_tokens(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    yard(session)
    first = page(client)
    with app.app_context():
        assert len(rendered_forms()) == 1
    second = page(client)
    assert without_tokens(second) == without_tokens(first)
    assert hidden_fields(second)["token"] != hidden_fields(first)["token"]
    with app.app_context():
        rendered_forms().clear()
    assert without_tokens(page(client)) == without_tokens(first)


def test_phones_sending_kept_pages_each_store_their_own_answer(
    app: Flask, session: Session
) -> None:
    yard(session)
    phones = [app.test_client() for _ in range(3)]
    forms = [hidden_fields(page(phone)) for phone in phones]  # the 2nd and 3rd are kept pages
    assert len({form["token"] for form in forms}) == 3
    assert len({form["csrf_token"] for form in forms}) == 3
    for phone, form, room in zip(phones, forms, ("101", "102", "201"), strict=True):
        sent = phone.post(
            URL,
            data={**form, "building": "1", "unit": "1", "room": room, "approve": ["gas_pipeline"]},
        )
        assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    session.expire_all()
    assert len(session.exec(select(Ballot).where(Ballot.is_current)).all()) == 3


def test_a_new_building_from_an_import_shows_at_once(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    compound, _survey = yard(session)
    assert '<option value="3"' not in page(client)
    district = session.get(District, compound.district_id)
    assert district is not None
    row = HouseholdRow(2, district.name, compound.name, "", "3", "1", 1, "101", None, None, False)
    plan = plan_import(session, [row], [], may_run={compound.id or 0})
    apply_import(session, plan)
    session.commit()
    html = page(client)
    building = re.search(r'<select id="building".*?</select>', html, re.S)
    assert building is not None
    assert re.findall(r'<option value="(\d+)"', building.group(0)) == ["1", "2", "3"]


def test_an_import_that_moves_a_room_to_another_floor_changes_the_kept_page(
    client: FlaskClient, session: Session
) -> None:
    compound, _survey = yard(session)
    before = page(client)
    district = session.get(District, compound.district_id)
    assert district is not None
    # Room 101 of building 1, unit 1 said to be on floor 9: the rooms' order changes.
    row = HouseholdRow(2, district.name, compound.name, "", "1", "1", 9, "101", None, None, False)
    apply_import(session, plan_import(session, [row], [], may_run={compound.id or 0}))
    session.commit()
    after = page(client)
    layout = re.search(r'id="layout-data">(.*?)</script>', after)
    assert layout is not None
    assert json.loads(layout.group(1))["1"]["1"] == ["102", "201", "202", "301", "302", "101"]
    assert without_tokens(after) != without_tokens(before)


def test_the_menu_the_survey_dates_and_item_names_show_at_once(
    client: FlaskClient, session: Session
) -> None:
    _compound, survey = yard(session)
    assert page(client).count('name="approve"') == 53
    items = list(session.exec(select(CatalogItem).order_by(CatalogItem.position)).all())
    surveys.offer_items(session, survey, items[:5])
    session.commit()
    assert page(client).count('name="approve"') == 5
    items[0].name_zh = "屋面防水(改名)"
    session.add(items[0])
    session.commit()
    assert "屋面防水(改名)" in page(client)
    survey.closes_on = surveys.local_today() + timedelta(days=3)
    session.add(survey)
    session.commit()
    day = survey.closes_on
    assert f"{day.month}月{day.day}日" in page(client)


def test_language_and_text_size_each_have_their_own_page(
    client: FlaskClient, session: Session
) -> None:
    yard(session)
    assert "您家最希望先改什么？" in page(client)
    english = page(client, URL + "?lang=en")
    assert "What should be fixed first?" in english
    assert "What should be fixed first?" in page(client)  # the choice is remembered
    assert "您家最希望先改什么？" in page(client, URL + "?lang=zh")
    large = page(client, URL + "?size=large")
    assert 'class="large-text"' in large
    assert 'class="large-text"' not in page(client, URL + "?size=normal")
    assert "What should be fixed first?" in page(client, URL + "?lang=en")


def test_a_survey_this_worker_closed_is_never_served_from_a_kept_page(
    client: FlaskClient, session: Session
) -> None:
    _compound, survey = yard(session)
    page(client)
    survey.closes_on = surveys.local_today() - timedelta(days=1)
    session.add(survey)
    session.commit()
    html = client.get(URL).get_data(as_text=True)
    assert 'name="approve"' not in html


def test_the_store_keeps_a_page_only_with_each_token_once_and_stays_bounded() -> None:
    forms = RenderedForms(size=2)
    assert not forms.keep("a", "<p>no tokens</p>", "CSRF", "KEY")
    assert not forms.keep("a", "CSRF CSRF KEY", "CSRF", "KEY")
    assert not forms.keep("a", "CSRF KEY", "", "KEY")
    assert forms.keep("a", "<i>CSRF</i><b>KEY</b>", "CSRF", "KEY")
    assert forms.fill("a", "c2", "k2") == "<i>c2</i><b>k2</b>"
    assert forms.fill("missing", "c", "k") is None
    forms.keep("b", "CSRF KEY b", "CSRF", "KEY")
    forms.fill("a", "c", "k")  # a is now the most recently used
    forms.keep("c", "CSRF KEY c", "CSRF", "KEY")
    assert len(forms) == 2
    assert forms.fill("b", "c", "k") is None
    assert forms.fill("a", "c", "k") == "<i>c</i><b>k</b>"
    assert CSRF_MARK not in (forms.fill("c", "x", "y") or "") and KEY_MARK not in "x y"


def test_a_form_checked_a_moment_ago_is_served_without_asking_the_database(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker's change shows once the check is older than SURVEY_FORM_FRESH_MS."""
    compound, _survey = yard(session)
    page(client)  # rendered and kept
    page(client)  # checked again, from the kept page
    statements: list[str] = []
    engine = app.extensions["consult.engine"]
    listen = lambda *args: statements.append(str(args[2]))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        fast = page(client)
        assert statements == []
        assert hidden_fields(fast)["token"]
        # Another worker renames the compound: no flush in this process sees it.
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE compound SET name = '改名小区' WHERE id = :id"), {"id": compound.id}
            )
        statements.clear()
        assert "改名小区" not in page(client) and statements == []
        later = time.monotonic() + app.config["SURVEY_FORM_FRESH_MS"] / 1000
        monkeypatch.setattr(form_cache.time, "monotonic", lambda: later)
        assert "改名小区" in page(client)
        assert statements
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_with_no_fresh_interval_every_form_is_checked(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    app.config["SURVEY_FORM_FRESH_MS"] = 0
    compound, _survey = yard(session)
    page(client)
    with app.extensions["consult.engine"].begin() as connection:
        connection.execute(
            text("UPDATE compound SET name = '改名小区' WHERE id = :id"), {"id": compound.id}
        )
    assert "改名小区" in page(client)


def test_a_change_committed_while_a_request_reads_leaves_its_check_stale(
    session: Session,
) -> None:
    compound, _survey = yard(session)
    forms = RenderedForms()
    since = form_cache.generation()  # the request starts, then reads the old compound...
    compound.name = "改名小区"  # ...while another request commits a change
    session.add(compound)
    session.commit()
    forms.checked(("testyard", "zh_Hans", False), "old key", since)
    assert forms.recent(("testyard", "zh_Hans", False), 60) is None
    forms.checked(("testyard", "zh_Hans", False), "new key", form_cache.generation())
    assert forms.recent(("testyard", "zh_Hans", False), 60) == "new key"


def test_a_rolled_back_or_unrelated_write_leaves_checks_standing(session: Session) -> None:
    compound, _survey = yard(session)
    before = form_cache.generation()
    compound.name = "不作数"
    session.add(compound)
    session.flush()
    session.rollback()
    session.add(Ballot(survey_id=1, household_id=1, submission_key="k" * 64, receipt="R" * 8))
    session.flush()
    session.rollback()
    session.commit()  # nothing left to commit: the rolled-back rename is forgotten
    assert form_cache.generation() == before


def test_a_facilitator_moving_a_room_to_another_floor_changes_the_kept_page(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    """However the layout changes (here the household form, not an import), the kept
    page's key changes with it: Compound.layout_version counts every such flush."""
    compound, _survey = yard(session)
    create_user(session, "wang", "facilitator", compounds=[compound])
    before = page(client)
    version = compound.layout_version
    staff = app.test_client()
    log_in(staff, "wang")
    home = session.exec(select(Household).where(Household.label == "1-1-101")).one()
    token = hidden_fields(staff.get(f"/f/c/testyard/households/{home.id}").get_data(as_text=True))
    moved = staff.post(
        f"/f/c/testyard/households/{home.id}",
        data={"csrf_token": token["csrf_token"], "floor": "9", "area": ""},
    )
    assert moved.status_code == 303
    after = page(client)
    layout = re.search(r'id="layout-data">(.*?)</script>', after)
    assert layout is not None
    assert json.loads(layout.group(1))["1"]["1"] == ["102", "201", "202", "301", "302", "101"]
    assert without_tokens(after) != without_tokens(before)
    session.expire_all()
    assert session.get(Compound, compound.id).layout_version == version + 1  # type: ignore[union-attr]
