"""A resident on a phone: landing -> survey -> submit -> thank-you -> results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def answered(page: Any) -> int:
    text = page.locator(".progress-text strong").first.inner_text()
    return int(text)


def fill_survey(page: Any, building: str, unit: str, room: str, items: list[str]) -> None:
    page.select_option("select[name=building]", building)
    page.select_option("select[name=unit]", unit)
    page.select_option("select[name=room]", room)
    page.check("input[name=elderly]")
    for item in items:
        page.check(f"input[name=approve][value={item}]")
    pickers = page.locator("select.priority")
    for position, item in enumerate(items[:3]):
        pickers.nth(position).select_option(item)


def test_resident_answers_in_chinese_and_sees_the_count_move(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang")
    assert phone.locator("h1").inner_text() == "东庄小区"
    before = answered(phone)
    shot(phone, "01-landing-zh")
    phone.click("text=开始填写")
    phone.wait_for_url(re.compile(r"/c/dongzhuang/survey$"))
    shot(phone, "02-survey-zh")
    fill_survey(
        phone, "3", "2", "301", ["roof_waterproofing", "elevator_retrofit", "internal_roads"]
    )
    shot(phone, "03-survey-filled-zh")
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r"/thanks/"))
    assert "谢谢，您的回答已保存" in phone.content()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", phone.locator(".receipt").inner_text())
    assert answered(phone) == before + 1
    shot(phone, "04-thanks-zh")
    phone.click("a[href$='/results']")
    phone.wait_for_url(re.compile(r"/results$"))
    assert phone.locator("ol.results li").count() > 0
    shot(phone, "05-results-zh")
    phone.goto(f"{live_server}/c/dongzhuang")
    assert answered(phone) == before + 1


def test_priority_pickers_offer_only_ticked_items(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang/survey")
    first = phone.locator("select.priority").first
    enabled = first.locator("option:not([disabled])")
    assert enabled.count() == 1  # only "(none)"
    phone.check("input[name=approve][value=gas_pipeline]")
    phone.check("input[name=approve][value=fire_safety]")
    assert enabled.count() == 3
    first.select_option("gas_pipeline")
    second = phone.locator("select.priority").nth(1)
    assert second.locator("option:not([disabled])").count() == 2  # "(none)" and fire_safety
    phone.uncheck("input[name=approve][value=gas_pipeline]")
    assert first.input_value() == ""


def test_units_and_rooms_follow_the_chosen_building(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang/survey")
    phone.select_option("select[name=building]", "8")  # building 8 has 2 units
    units = phone.locator("select[name=unit] option:not([disabled])")
    assert [units.nth(i).get_attribute("value") for i in range(units.count())] == ["", "1", "2"]


def test_resident_answers_in_english(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang?lang=en")
    assert "Start the survey" in phone.content()
    phone.click("text=Start the survey")
    fill_survey(phone, "2", "1", "502", ["gas_pipeline", "parking"])
    shot(phone, "06-survey-en")
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r"/thanks/"))
    assert "Thank you, your answer is saved" in phone.content()
    shot(phone, "07-thanks-en")
    phone.click("a[href$='/results']")
    assert "What residents want fixed first" in phone.content()


def test_a_form_error_is_shown_in_place(
    live_server: str, phone: Any, console_errors: list[str]
) -> None:
    phone.goto(f"{live_server}/c/dongzhuang/survey")
    phone.select_option("select[name=building]", "1")
    phone.select_option("select[name=unit]", "1")
    phone.select_option("select[name=room]", "101")
    phone.click("button[type=submit]")
    assert "请至少勾选一项" in phone.content()
    assert phone.locator("select[name=room]").input_value() == "101"
    shot(phone, "08-form-error-zh")
    # The refused form comes back with status 400, which the browser notes.
    console_errors[:] = [e for e in console_errors if "status of 400" not in e]


def test_large_text_switch_enlarges_everything(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang/survey")
    size = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 16
    phone.click(".topbar >> text=大字")
    phone.wait_for_load_state()
    large = phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert large >= size * 1.2
    shot(phone, "09-survey-large-text", full_page=False)
    phone.goto(f"{live_server}/c/dongzhuang")  # the choice is remembered
    assert phone.evaluate("document.documentElement.classList.contains('large-text')")


def test_tap_targets_are_at_least_44_px(live_server: str, phone: Any) -> None:
    phone.goto(f"{live_server}/c/dongzhuang/survey")
    small = phone.evaluate(
        """() => [...document.querySelectorAll('label.check, select, button, .switch, a.button')]
            .map(e => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height])
            .filter(([, h]) => h < 44)"""
    )
    assert small == []


def test_survey_works_without_javascript(live_server: str, phone_without_js: Any) -> None:
    page = phone_without_js
    page.goto(f"{live_server}/c/dongzhuang/survey")
    fill_survey(page, "1", "3", "602", ["water_supply", "drainage_sewer"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/thanks/"))
    assert "谢谢，您的回答已保存" in page.content()
