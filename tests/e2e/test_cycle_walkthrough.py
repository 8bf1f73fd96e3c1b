"""东庄小区 walked through the whole renovation cycle in the browser, phase by phase.

Its facilitator works on a desktop, residents on phones (375 px). At each phase the
residents' landing page must lead with what that phase asks of them, and a page of
another phase must say so with a 200, never fail. The walk changes the compound for
good, so it has a demo server of its own (the session's keeps dongzhuang in its needs).
Moving on closes the survey of the phase left, and the public notice is never cut
short: the walk lets its days pass by moving the notice's last day into the past.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from consult.models import PHASES, Phase
from tests.e2e.conftest import PHONE, serve_demo, shot

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 800}
CODE = "dongzhuang"
#: Where the landing page's first, primary button leads in each phase (None: no button).
LEADS_TO = {
    Phase.NEEDS: f"/c/{CODE}/survey",
    Phase.PLAN: None,
    Phase.NOTICE: f"/c/{CODE}/plan",
    Phase.CONSENT: f"/c/{CODE}/consent",
    Phase.WORKS: f"/c/{CODE}/works",
    Phase.EVALUATION: f"/c/{CODE}/satisfaction",
    Phase.MAINTAINED: None,
}


@pytest.fixture(scope="module")
def cycle_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the walk's demo city keeps its database."""
    return tmp_path_factory.mktemp("cycle")


@pytest.fixture(scope="module")
def cycle_server(cycle_folder: Path) -> Iterator[str]:
    """A demo city of the walk's own, since the walk moves dongzhuang to its end."""
    with serve_demo(cycle_folder) as url:
        yield url


def days_pass(folder: Path, table: str, column: str, where: str) -> None:
    """Let a period run out: its last day (the table's date column) becomes yesterday."""
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    with sqlite3.connect(folder / "consult.db") as db:
        db.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (yesterday,))


def notice_days_pass(folder: Path) -> None:
    """Let the plan's public notice run out."""
    days_pass(
        folder,
        "plan",
        "notice_until",
        f"compound_id = (SELECT id FROM compound WHERE code = '{CODE}')",
    )


@pytest.fixture
def desk(browser: Any, cycle_server: str) -> Iterator[Any]:
    """A desktop page logged in as dongzhuang's facilitator; no script errors allowed."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, cycle_server, "wang", "wang-demo-2026")
    yield page
    context.close()
    assert errors == [], errors


def login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.press("#password", "Enter")
    assert "/login" not in page.url


def visit(page: Any, url: str) -> Any:
    """Open the page and insist it answered 200."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    return response


def no_sideways_scroll(page: Any) -> None:
    """At a phone's width nothing may push the page wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide at {PHONE['width']}px"


def landing_leads_with(phone: Any, base: str, phase: Phase, name: str) -> None:
    """The residents' page marks the phase as now and leads with what it asks."""
    visit(phone, f"{base}/c/{CODE}")
    steps = phone.locator("ol.timeline > li")
    expect(steps.nth(PHASES.index(phase))).to_have_attribute("aria-current", "step")
    assert phone.locator("ol.timeline > li[aria-current]").count() == 1
    assert phone.locator("main h1 + p").get_attribute("class") == "lead"
    lead = phone.locator("main a.button-primary")
    target = LEADS_TO[phase]
    if target is None:
        assert lead.count() == 0
    else:
        assert lead.first.get_attribute("href").endswith(target)
    no_sideways_scroll(phone)
    shot(phone, name)


def says_not_now(page: Any, url: str, name: str | None = None) -> None:
    """A page of another phase answers 200 with a notice of why there is nothing to do."""
    visit(page, url)
    expect(page.locator("main .notice, main [role=status]").first).to_be_visible()
    if name:
        shot(page, name)


def move_to(desk: Any, base: str, phase: Phase) -> None:
    visit(desk, f"{base}/f/c/{CODE}/phases")
    desk.select_option("#phase", str(phase))
    with desk.expect_navigation():
        desk.click("form[action$='/phases/move'] button[type=submit]")
    steps = desk.locator("ol.timeline > li")
    expect(steps.nth(PHASES.index(phase))).to_have_attribute("aria-current", "step")


def day(offset: int) -> str:
    """The ISO date so many days from today."""
    return (date.today() + timedelta(days=offset)).isoformat()


def gps_jpeg() -> bytes:
    """A small photo as a phone takes it: with the place it was taken in its EXIF."""
    image = Image.new("RGB", (640, 480), (190, 120, 60))
    for x in range(0, 640, 40):
        image.paste((90, 90, 90), (x, 200, x + 20, 280))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (36.0, 42.0, 5.5), 3: "E", 4: (119.0, 6.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    assert Image.open(io.BytesIO(buffer.getvalue())).getexif().get_ifd(0x8825)
    return buffer.getvalue()


def test_dongzhuang_goes_through_every_phase(
    cycle_server: str, cycle_folder: Path, desk: Any, phone: Any, browser: Any
) -> None:
    base = cycle_server
    desk.set_default_timeout(10_000)
    phone.set_default_timeout(10_000)
    needs(desk, phone, base)
    plan(desk, phone, base)
    notice(desk, phone, base)
    consent(desk, phone, base, cycle_folder)
    works(desk, phone, base, browser)
    evaluation(desk, phone, base, browser)
    maintained(desk, phone, base)


def needs(desk: Any, phone: Any, base: str) -> None:
    """Every later page says it is not time yet; a resident answers the survey."""
    landing_leads_with(phone, base, Phase.NEEDS, "40-cycle-needs-landing")
    says_not_now(phone, f"{base}/c/{CODE}/plan")
    says_not_now(phone, f"{base}/c/{CODE}/consent")
    says_not_now(phone, f"{base}/c/{CODE}/works", "41-cycle-needs-works-not-yet")
    says_not_now(phone, f"{base}/c/{CODE}/satisfaction")
    says_not_now(desk, f"{base}/f/c/{CODE}/consent")
    says_not_now(desk, f"{base}/f/c/{CODE}/works")
    says_not_now(desk, f"{base}/f/c/{CODE}/satisfaction")
    # A resident answers the needs survey, from the landing page's button.
    visit(phone, f"{base}/c/{CODE}")
    phone.click("main a.button-primary")
    phone.wait_for_url(re.compile(rf"/c/{CODE}/survey$"))
    phone.select_option("select[name=building]", "5")
    phone.select_option("select[name=unit]", "1")
    phone.select_option("select[name=room]", "201")
    for item in ("roof_waterproofing", "elevator_retrofit", "internal_roads"):
        phone.check(f"input[name=approve][value={item}]")
    phone.locator("select.priority").first.select_option("elevator_retrofit")
    phone.click("#survey button[type=submit]")
    phone.wait_for_url(re.compile(r"/thanks/"))
    visit(phone, f"{base}/c/{CODE}")
    assert phone.locator(".progress-text strong").first.inner_text() == "47"  # 46 in the demo


def plan(desk: Any, phone: Any, base: str) -> None:
    """The facilitator drafts the plan from the menu, gives the reasons, and publishes it."""
    move_to(desk, base, Phase.PLAN)
    landing_leads_with(phone, base, Phase.PLAN, "42-cycle-plan-landing")
    says_not_now(phone, f"{base}/c/{CODE}/plan")
    # Moving on closed the needs survey.
    says_not_now(phone, f"{base}/c/{CODE}/survey")
    # Draft from the menu.
    visit(desk, f"{base}/f/c/{CODE}/plan")
    with desk.expect_navigation():
        desk.click("form[action$='/plan/draft'] button[type=submit]")
    lines = desk.locator("fieldset.plan-line")
    assert lines.count() >= 3
    shot(desk, "43-cycle-plan-drafted-desktop")
    # Leave the first supported item out: saving without a reason is refused on the page.
    first = lines.first
    line_id = first.get_attribute("id").removeprefix("line-")
    first.locator(f"input[name=included-{line_id}]").uncheck()
    with desk.expect_navigation():
        desk.click("form[action$='/plan'] > button.button-primary")
    expect(desk.locator(f"#line-{line_id} .field-error")).to_be_visible()
    shot(desk, "44-cycle-plan-reason-missing-desktop")
    desk.fill(f"#reason-{line_id}", "本次资金不足，列入下一批改造，届时另行公示。")
    # Costs and planned dates; the second item's works should have ended already (late).
    for other in range(1, lines.count()):
        other_id = lines.nth(other).get_attribute("id").removeprefix("line-")
        desk.fill(f"#cost-{other_id}", str(200_000 + 10_000 * other))
        starts, ends = (-40, -5) if other == 2 else (10, 60 + 10 * other)
        desk.fill(f"#starts-{other_id}", day(starts))
        desk.fill(f"#ends-{other_id}", day(ends))
    with desk.expect_navigation():
        desk.click("form[action$='/plan'] > button.button-primary")
    assert desk.locator(".field-error").count() == 0
    # Publish: the compound moves to the public notice.
    desk.fill("#summary", "根据居民问需结果和预算编制，请大家在公示期内提出意见。")
    desk.fill("#contact", "东庄社区居委会（1号楼102室），电话 0536-8123456。")
    with desk.expect_navigation():
        desk.click("form[action$='/plan/publish'] button[type=submit]")
    expect(desk.locator("a[href$='/plan/comments']")).to_be_visible()
    shot(desk, "45-cycle-plan-published-desktop")


def notice(desk: Any, phone: Any, base: str) -> None:
    """A household objects from a phone; the facilitator's answer is public."""
    says_not_now(phone, f"{base}/c/{CODE}/consent")
    landing_leads_with(phone, base, Phase.NOTICE, "46-cycle-notice-landing")
    phone.click("main a.button-primary")
    phone.wait_for_url(re.compile(rf"/c/{CODE}/plan$"))
    no_sideways_scroll(phone)
    shot(phone, "47-cycle-notice-plan-phone")
    # An objection about the first item of the plan, from the household's pickers.
    phone.check("input[name=kind][value=objection]")
    item = phone.locator("ol.plan-items > li").first.get_attribute("id").removeprefix("item-")
    phone.select_option("#item", item)
    phone.fill("#text", "施工时间太长，希望分楼栋进行，少影响老人出行。")
    phone.select_option("#building", "3")
    phone.select_option("#unit", "2")
    phone.select_option("#room", "301")
    shot(phone, "48-cycle-notice-comment-filled-phone")
    with phone.expect_navigation():
        phone.click("form[action$='#comment-form'] button[type=submit]")
    assert phone.locator("article.plan-objection").count() == 1
    # The facilitator answers; the answer is public.
    visit(desk, f"{base}/f/c/{CODE}/plan/comments")
    article = desk.locator("article.plan-comment").first
    answer = "将按楼栋分批施工，每栋不超过三周。"
    article.locator("textarea[name=answer]").fill(answer)
    with desk.expect_navigation():
        article.locator("button[type=submit]").click()
    shot(desk, "49-cycle-notice-answered-desktop")
    visit(phone, f"{base}/c/{CODE}/plan")
    expect(phone.locator("article.plan-objection .plan-answer")).to_contain_text(answer)
    no_sideways_scroll(phone)
    phone.locator("#comments").scroll_into_view_if_needed()
    shot(phone, "50-cycle-notice-answer-public-phone")


def consent(desk: Any, phone: Any, base: str, folder: Path) -> None:
    """The owners are asked about the plan; three paper votes make no quorum, and it says so."""
    # The notice is not cut short: moving on during it is refused.
    visit(desk, f"{base}/f/c/{CODE}/phases")
    desk.select_option("#phase", str(Phase.CONSENT))
    with desk.expect_navigation():
        desk.click("form[action$='/phases/move'] button[type=submit]")
    expect(desk.locator("ol.timeline > li").nth(PHASES.index(Phase.NOTICE))).to_have_attribute(
        "aria-current", "step"
    )
    notice_days_pass(folder)
    move_to(desk, base, Phase.CONSENT)
    landing_leads_with(phone, base, Phase.CONSENT, "51-cycle-consent-landing")
    says_not_now(phone, f"{base}/c/{CODE}/works")
    # The notice is over: the plan stays public with its answers, without the form.
    says_not_now(phone, f"{base}/c/{CODE}/plan", "51b-cycle-consent-plan-phone")
    assert phone.locator("form[action$='#comment-form']").count() == 0
    # A question on the plan as a whole, to every owner of the compound.
    visit(desk, f"{base}/f/c/{CODE}/consent")
    desk.fill("#question", "您是否同意公示后的东庄小区改造方案？")
    desk.fill("#details", "方案见小区公示栏和本网站；费用由政府补助和维修资金共同承担。")
    desk.check("input[name=kind][value=ordinary]")
    desk.check("input[name=scope][value=compound]")
    desk.fill("#closes_on", day(14))
    shot(desk, "51a-cycle-consent-ask-desktop")
    with desk.expect_navigation():
        desk.click("form.consent-ask button[type=submit]")
    found = re.search(rf"/f/c/{CODE}/consent/(\d+)", desk.url)
    assert found, desk.url
    vote_id = found.group(1)
    vote_url = f"{base}/f/c/{CODE}/consent/{vote_id}"
    with desk.expect_navigation():
        desk.click("form[action$='/open'] button[type=submit]")
    # Paper votes, as the committee types them in.
    desk.click(f"a[href$='/consent/{vote_id}/paper']")
    desk.wait_for_url(re.compile(r"/paper$"))
    for household, choice in (("1-1-101", "for"), ("1-1-102", "for"), ("2-3-601", "against")):
        desk.fill("#household", household)
        desk.check(f"input[name=choice][value={choice}]")
        with desk.expect_navigation():
            desk.click("form.paper-entry button[type=submit]")
        assert desk.locator(".form-errors").count() == 0, desk.locator(".form-errors").inner_text()
    assert re.search(r"\D3\D", desk.locator("main > p strong").first.inner_text())
    shot(desk, "52-cycle-consent-paper-desktop")
    # Residents see only how many voted while it is open.
    visit(phone, f"{base}/c/{CODE}/consent/{vote_id}")
    expect(phone.locator(".consent-live")).to_be_visible()
    assert phone.locator("#result").count() == 0
    no_sideways_scroll(phone)
    shot(phone, "53-cycle-consent-open-phone")
    # Not counted before its last day: the owners keep every day they were given.
    visit(desk, vote_url)
    with desk.expect_navigation():
        desk.click("form[action$='/close'] button[type=submit]")
    expect(desk.locator(".flash-error")).to_be_visible()
    assert desk.locator("form[action$='/close']").count() == 1, "the vote is still open"
    # The voting days pass; then close and count: three households are far from a quorum,
    # and the page says so.
    days_pass(folder, "consentvote", "closes_on", f"id = {int(vote_id)}")
    visit(desk, vote_url)
    with desk.expect_navigation():
        desk.click("form[action$='/close'] button[type=submit]")
    expect(desk.locator(".consent-outcome-no_quorum")).to_be_visible()
    shot(desk, "54-cycle-consent-closed-desktop")
    visit(phone, f"{base}/c/{CODE}/consent")
    phone.click(f"a[href$='/consent/{vote_id}']")
    phone.wait_for_url(re.compile(rf"/consent/{vote_id}$"))
    expect(phone.locator(".consent-outcome-no_quorum")).to_be_visible()
    assert phone.locator(".consent-figure .tag-unmet").count() >= 2  # participation not met
    assert phone.locator(".consent-figure meter").count() == 4
    no_sideways_scroll(phone)
    shot(phone, "55-cycle-consent-result-phone")


def works(desk: Any, phone: Any, base: str, browser: Any) -> None:
    """A progress note with a photo marks an item done; residents and planners see the works."""
    move_to(desk, base, Phase.WORKS)
    landing_leads_with(phone, base, Phase.WORKS, "56-cycle-works-landing")
    says_not_now(phone, f"{base}/c/{CODE}/satisfaction")
    # The plan is closed now, and says so.
    says_not_now(desk, f"{base}/f/c/{CODE}/plan")
    assert desk.locator("form[action$='/plan/publish']").count() == 0
    # A progress note with a photo that carries GPS data, marking the first item done.
    visit(desk, f"{base}/f/c/{CODE}/works")
    section = desk.locator("section.works-item").first
    item_id = section.get_attribute("id").removeprefix("item-")
    section.locator("details.works-add > summary").click()
    section.locator("select[name=status]").select_option("done")
    section.locator("input[name=percent]").fill("100")
    section.locator("textarea[name=text]").fill("已完工，经居民代表验收合格。")
    section.locator("input[name=photos]").set_input_files(
        files=[{"name": "site.jpg", "mimeType": "image/jpeg", "buffer": gps_jpeg()}]
    )
    with desk.expect_navigation():
        section.locator("button[type=submit]").click()
    section = desk.locator(f"#item-{item_id}")
    expect(section.locator(".works-status.works-done")).to_be_visible()
    photo = section.locator(".works-photos a").first.get_attribute("href")
    shot(desk, "57-cycle-works-note-desktop")
    # The photo residents are served has no EXIF left, the location least of all.
    served = desk.request.get(f"{base}{photo}")
    assert served.status == 200
    image = Image.open(io.BytesIO(served.body()))
    assert image.format == "JPEG"
    assert not image.getexif() and "exif" not in image.info
    # Residents see it on their phones.
    visit(phone, f"{base}/c/{CODE}/works")
    item = phone.locator(f"#item-{item_id}")
    expect(item.locator(".works-status.works-done")).to_be_visible()
    expect(item.locator(".works-percent")).to_contain_text("100%")
    expect(item.locator(".works-photos img")).to_have_count(1)
    no_sideways_scroll(phone)
    shot(phone, "58-cycle-works-phone")
    # Planners see late works across the city.
    planner = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = planner.new_page()
    login(page, base, "zhou", "zhou-demo-2026")
    visit(page, f"{base}/p/late")
    expect(page.locator(f"table.table-late tbody tr:has(a[href*='{CODE}'])")).to_have_count(1)
    shot(page, "59-cycle-planner-late-desktop", full_page=False)
    planner.close()


def evaluation(desk: Any, phone: Any, base: str, browser: Any) -> None:
    """The satisfaction survey opens; a resident rates from a phone; the results show."""
    move_to(desk, base, Phase.EVALUATION)
    visit(phone, f"{base}/c/{CODE}")
    # Before the survey opens the landing says it opens soon.
    expect(phone.locator("main .notice").first).to_be_visible()
    visit(desk, f"{base}/f/c/{CODE}/satisfaction")
    desk.check("input[name=mode][value=both]")
    with desk.expect_navigation():
        desk.click("form:has(input[name=action][value=open]) button[type=submit]")
    shot(desk, "60-cycle-satisfaction-opened-desktop")
    landing_leads_with(phone, base, Phase.EVALUATION, "61-cycle-evaluation-landing")
    phone.click("main a.button-primary")
    phone.wait_for_url(re.compile(rf"/c/{CODE}/satisfaction$"))
    phone.select_option("select[name=building]", "4")
    phone.select_option("select[name=unit]", "3")
    phone.select_option("select[name=room]", "402")
    phone.locator("label.scale-point:has(input[name=overall][value='4'])").click()
    items = phone.locator(".scale-items .scale")
    assert items.count() >= 1  # the item marked done is rated
    items.first.locator("label.scale-point").nth(4).click()
    phone.locator("label.scale-point:has(input[name=construction][value='3'])").click()
    phone.fill("#comment", "楼道清爽多了，老人上下楼安全了。")
    no_sideways_scroll(phone)
    shot(phone, "62-cycle-satisfaction-filled-phone")
    with phone.expect_navigation():
        phone.click("#survey button[type=submit]")
    assert phone.url.endswith(f"/c/{CODE}/satisfaction/thanks")
    shot(phone, "63-cycle-satisfaction-thanks-phone")
    visit(phone, f"{base}/c/{CODE}/satisfaction/results")
    no_sideways_scroll(phone)
    shot(phone, "64-cycle-satisfaction-results-phone")
    visit(desk, f"{base}/f/c/{CODE}/satisfaction")
    expect(desk.locator("main table").first).to_be_visible()
    shot(desk, "65-cycle-satisfaction-results-desktop")
    planner = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = planner.new_page()
    login(page, base, "zhou", "zhou-demo-2026")
    visit(page, f"{base}/p/satisfaction")
    expect(page.locator(f"main a[href*='{CODE}']").first).to_be_visible()
    shot(page, "66-cycle-planner-satisfaction-desktop", full_page=False)
    planner.close()


def maintained(desk: Any, phone: Any, base: str) -> None:
    """The survey closes and the compound is kept up; what was decided stays readable."""
    visit(desk, f"{base}/f/c/{CODE}/satisfaction")
    with desk.expect_navigation():
        desk.click("form:has(input[name=action][value=close]) button[type=submit]")
    move_to(desk, base, Phase.MAINTAINED)
    shot(desk, "67-cycle-phases-desktop")
    landing_leads_with(phone, base, Phase.MAINTAINED, "68-cycle-maintained-landing")
    # What was decided stays readable; what belonged to earlier phases says it is over.
    says_not_now(phone, f"{base}/c/{CODE}/plan")
    assert phone.locator("form[action$='#comment-form']").count() == 0
    visit(phone, f"{base}/c/{CODE}/works")
    expect(phone.locator(".works-photos img")).to_have_count(1)
    says_not_now(desk, f"{base}/f/c/{CODE}/works")
    assert desk.locator("details.works-add").count() == 0
    visit(phone, f"{base}/c/{CODE}/satisfaction/results")
    says_not_now(phone, f"{base}/c/{CODE}/satisfaction", "69-cycle-maintained-satisfaction-closed")
    says_not_now(phone, f"{base}/c/{CODE}/survey")


def test_the_needs_survey_stops_taking_answers_when_the_compound_moves_on(
    cycle_server: str, browser: Any, phone: Any
) -> None:
    facilitator = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    desk = facilitator.new_page()
    login(desk, cycle_server, "li", "li-demo-2026")
    visit(desk, f"{cycle_server}/f/c/zhonghejie/phases")
    desk.select_option("#phase", str(Phase.PLAN))
    with desk.expect_navigation():
        desk.click("form[action$='/phases/move'] button[type=submit]")
    facilitator.close()
    visit(phone, f"{cycle_server}/c/zhonghejie/survey")
    assert phone.locator("select[name=building]").count() == 0, "the form is not offered"
