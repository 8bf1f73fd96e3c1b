"""A whole meeting on a tablet, with a resident voting from a phone and the tablet updating live."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
TABLET = {"width": 1024, "height": 768}


def test_a_whole_meeting_with_a_phone_vote_shown_live(
    live_server: str, browser: Any, phone: Any
) -> None:
    tablet_context = browser.new_context(viewport=TABLET, has_touch=True, locale="zh-CN")
    tablet = tablet_context.new_page()
    errors: list[str] = []
    tablet.on("pageerror", lambda error: errors.append(str(error)))
    tablet.goto(f"{live_server}/login")
    tablet.fill("#username", "wang")
    tablet.fill("#password", "wang-demo-2026")
    with tablet.expect_navigation():
        tablet.press("#password", "Enter")

    # Before: plan the meeting and its agenda.
    tablet.goto(f"{live_server}/f/c/dongzhuang/meetings/new")
    tablet.fill("#title", "3号楼楼道漏水和停车")
    tablet.fill("#day", "2026-12-05")
    tablet.fill("#time", "09:30")
    tablet.fill("#place", "3号楼前空地")
    tablet.click("main button[type=submit]")
    tablet.wait_for_url(re.compile(r"/meetings/\d+$"))
    tablet.select_option("#item_id", "parking")
    tablet.click("text=加入议程")
    tablet.fill("#topic", "宠物怎么管？")
    tablet.click("text=加入议程")
    assert tablet.locator(".agenda-item").count() == 2
    code = tablet.locator("p:has-text('会议码') strong").inner_text()
    shot(tablet, "15-meeting-planned-tablet", full_page=False)

    # During: start, add people without phones, open phone voting on the first item.
    tablet.click("text=开始会议")
    tablet.select_option("#party", "property_company")
    tablet.fill("#count", "2")
    tablet.click("#attendance button[type=submit]")
    first = tablet.locator(".agenda-item").first
    first.locator("text=开启手机投票").click()
    first = tablet.locator(".agenda-item").first
    item_id = first.get_attribute("id").removeprefix("item-")

    phone.goto(f"{live_server}/m/{code}")
    phone.select_option("select[name=building]", "3")
    phone.select_option("select[name=unit]", "2")
    phone.select_option("select[name=room]", "501")
    with phone.expect_navigation():
        phone.click(".signin button[type=submit]")
    assert "已签到：3-2-501" in phone.content()
    with phone.expect_navigation():
        phone.click(f"#item-{item_id} button[value=for]")
    assert "您的投票已计入" in phone.content()
    shot(phone, "16-meeting-phone-voted")

    # The tablet's counts follow without a reload.
    expect(tablet.locator(f'[data-live="for-{item_id}"]')).to_have_text("1", timeout=10_000)
    assert tablet.locator('[data-live="attendance"]').inner_text() == "3"
    shot(tablet, "17-meeting-live-tablet", full_page=False)

    # Hands, decision, close the vote, an action item.
    first.locator("input[name=hands_for]").fill("2")
    first.locator("input[name=hands_against]").fill("1")
    first.locator("input[name=hands_abstain]").fill("0")
    first.locator("textarea[name=decision]").fill("先在东侧划出临时停车位")
    first.locator("text=保存举手数、记录和决定").click()
    tablet.locator(".agenda-item").first.locator("text=结束投票").click()
    tablet.fill("#what", "物业两周内划线")
    tablet.select_option("#owner", "property_company")
    tablet.click("#actions button[type=submit] >> text=添加")
    # After: close and publish; the resident reads the minutes.
    tablet.click("text=结束会议")
    tablet.click("text=公布会议纪要")
    assert "已公布" in tablet.content()
    phone.goto(f"{live_server}/m/{code}")
    phone.click("text=查看会议纪要")
    minutes = phone.content()
    assert "先在东侧划出临时停车位" in minutes and "物业两周内划线" in minutes
    shot(phone, "18-meeting-minutes-phone")
    tablet_context.close()
    assert errors == []
