"""A facilitator types in a paper questionnaire with the keyboard alone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e


def test_paper_questionnaire_typed_with_the_keyboard_alone(live_server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#username", "wang")
    page.fill("#password", "wang-demo-2026")
    with page.expect_navigation():
        page.press("#password", "Enter")
    assert page.url.endswith("/f/")
    page.goto(f"{live_server}/f/c/dongzhuang/paper/entry")
    # The household field has the focus; everything below is typed.
    assert page.evaluate("document.activeElement.id") == "household"
    page.keyboard.type("8-2-602")
    page.keyboard.press("Tab")
    page.keyboard.type("1 14 16 22")
    page.keyboard.press("Tab")
    page.keyboard.type("14 1")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # 60 or older
    shot(page, "13-paper-entry", full_page=False)
    page.keyboard.press("Shift+Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "已保存 8-2-602" in page.content()
    assert page.evaluate("document.activeElement.id") == "household"  # ready for the next one
    page.goto(f"{live_server}/f/c/dongzhuang/coverage")
    assert "纸质问卷" in page.content()
    shot(page, "14-coverage", full_page=False)
    context.close()
