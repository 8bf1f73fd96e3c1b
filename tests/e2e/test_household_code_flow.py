"""A facilitator prints household slips; a resident answers with the code on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def test_slip_code_opens_the_households_own_survey(
    live_server: str, browser: Any, phone: Any
) -> None:
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    office = desk.new_page()
    office.goto(f"{live_server}/login")
    office.fill("#username", "li")
    office.fill("#password", "li-demo-2026")
    office.click("button[type=submit]")
    office.wait_for_url(re.compile(r"/f/$"))
    office.click("text=中和街小区")
    office.click("text=入户码和码条")
    office.click("button >> text=为所有住户重新生成入户码")
    office.wait_for_selector(".slip")
    shot(office, "10-slips-desktop", full_page=False)
    assert office.locator(".slip").count() == 204
    label = office.locator(".slip-home").nth(5).inner_text()
    code = office.locator(".slip-code").nth(5).inner_text()
    desk.close()

    phone.goto(f"{live_server}/h")
    phone.fill("#code", code.replace("-", " ").lower())
    phone.click("button[type=submit]")
    building, unit, room = label.split("-")
    assert f"{building}号楼 {unit}单元 {room}室" in phone.content()
    phone.check("input[name=approve][value=gas_pipeline]")
    phone.locator("select.priority").first.select_option("gas_pipeline")
    shot(phone, "11-survey-by-code", full_page=False)
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r"/thanks/"))
    phone.click("text=查看或撤回我的回答")
    assert "这份回答有效" in phone.content()
    shot(phone, "12-my-answer")
