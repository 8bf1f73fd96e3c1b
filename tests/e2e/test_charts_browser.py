"""The planners' charts in Chromium: drawn by the served plotly.js under the real CSP, no errors.

The planners' pages have their own tests; this one serves a page of its own,
registered as an endpoint of the `planners` blueprint, so that it gets exactly
the headers those pages get, and draws every kind of figure on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import render_template_string
from playwright.sync_api import expect
from werkzeug.serving import make_server

from consult import charts, create_app
from consult.access import public
from consult.db import create_schema, get_engine
from consult.planners.assets import PLOTLY_VERSION
from tests.e2e.conftest import shot

pytestmark = pytest.mark.e2e
DESKTOP = {"width": 1280, "height": 900}
PATH = "/p/_charts-check"
LONG = "第0项 屋面防水及保温改造(含楼道、地下室和车棚的全部给水排水管线与电缆)"
NAMES = [LONG, *(f"第{i}项 加装电梯" for i in range(1, 53))]
SUPPORT = [round(0.95 - i / 60, 4) for i in range(53)]
BUILDINGS = [f"{i}号楼" for i in range(1, 12)]
SEGMENTS = {"有老人的家庭": SUPPORT[:12], "有儿童的家庭": SUPPORT[1:13], "其他": SUPPORT[2:14]}

PAGE = """{% extends "_staff.html" %}
{% from "_macros/charts.html" import chart, chart_scripts %}
{% block scripts %}{{ super() }}{{ chart_scripts() }}{% endblock %}
{% block content %}
<h1>图表</h1>
{% for id, figure in figures.items() %}
{{ chart(id, figure, "图表 " ~ id) }}
<table class="table chart-table" id="table-{{ id }}"><tr><th>项目</th><th>数值</th></tr>
{% for trace in figure.data %}{% for x in trace.x %}<tr><td>{{ trace.name }}</td><td>{{ x }}</td></tr>{% endfor %}{% endfor %}
</table>
{% endfor %}
{% endblock %}"""

#: Bars each figure draws.
BARS = {"menu": 53, "coverage": 2 * 11, "categories": 3, "segments": 3 * 12, "demand": 2 * 53}


def figures() -> dict[str, dict[str, Any]]:
    return {
        "menu": charts.menu_figure(
            NAMES,
            SUPPORT,
            [(max(0.0, s - 0.07), min(1.0, s + 0.05)) for s in SUPPORT],
            selected=[i < 12 for i in range(53)],
            tied=[i % 5 == 1 for i in range(53)],
            axis_title="已回答家庭中的支持率",
            selected_name="预算内",
            other_name="预算外",
        ),
        "coverage": charts.coverage_figure(
            BUILDINGS,
            [4 * i for i in range(11)],
            [48] * 11,
            answered_name="已回答",
            missing_name="尚未回答",
            axis_title="户数",
        ),
        "categories": charts.category_figure(
            ["基础类", "完善类", "提升类"], [120, 80, 40], axis_title="赞成票"
        ),
        "segments": charts.segments_figure(NAMES[:12], SEGMENTS, axis_title="支持率"),
        "demand": charts.demand_figure(
            NAMES,
            list(range(53, 0, -1)),
            [300 * i for i in range(53, 0, -1)],
            top5_name="排进前五的小区",
            households_name="想要的户数",
            axis_title="小区 / 户",
        ),
    }


@pytest.fixture(scope="module")
def charts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app with one more planners' page, drawing every kind of chart."""
    folder = tmp_path_factory.mktemp("charts")
    app = create_app({"SECRET_KEY": "e2e-secret", "DATABASE_URL": f"sqlite:///{folder / 'c.db'}"})
    with app.app_context():
        create_schema(get_engine())

    @public
    def page() -> str:
        return render_template_string(PAGE, figures=figures())

    # An endpoint named "planners.*" is the planners blueprint's: its hooks and headers apply.
    app.add_url_rule(PATH, endpoint="planners.charts_check", view_func=page)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["consult.engine"].dispose()


CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") +
    " at " + e.sourceFile + ":" + e.lineNumber + ":" + e.columnNumber);
});
"""


@pytest.fixture
def desktop(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A desktop page that records script errors, console errors and CSP violations."""
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.add_init_script(CSP_WATCH)
    yield page, errors
    context.close()


def open_charts(page: Any, url: str) -> Any:
    response = page.goto(url)
    # Playwright's wait_for_function evaluates a string, which the CSP refuses: poll the DOM.
    expect(page.locator("figure.chart-drawn")).to_have_count(len(BARS), timeout=30_000)
    return response


def test_every_chart_draws_under_the_strict_csp_without_errors(
    charts_server: str, desktop: tuple[Any, list[str]]
) -> None:
    page, errors = desktop
    scripts: dict[str, Any] = {}
    page.on("response", lambda r: scripts.setdefault(r.url.rsplit("/", 1)[-1], r))
    response = open_charts(page, charts_server + PATH)

    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "img-src 'self' data: blob:;" in policy  # the planners' pages' one relaxation
    assert "unsafe" not in policy
    plotly = scripts[f"plotly-{PLOTLY_VERSION}.min.js"]
    assert plotly.status == 200
    assert plotly.header_value("content-encoding") == "gzip"
    assert "immutable" in plotly.header_value("cache-control")

    for chart, bars in BARS.items():
        figure = page.locator(f"#chart-{chart}")
        assert figure.locator(".main-svg").count() >= 1, chart
        assert figure.locator(".barlayer .point").count() == bars, chart
    menu = page.locator("#chart-menu")
    labels = menu.locator(".ytick text").all_text_contents()
    assert labels[0].startswith("第0项 屋面防水") and "…" in labels[0]  # cut in the axis
    assert sum(label.startswith("≈") for label in labels) == 11
    assert menu.locator(".modebar-btn").count() == 1  # only "download as PNG"
    assert menu.locator(".modebar-btn").get_attribute("data-title") == "下载图表为PNG格式"
    assert page.locator(".plotlyjsicon").count() == 0
    assert "预算内" in "".join(menu.locator(".legend text").all_text_contents())

    menu.locator(".barlayer .point").first.hover(force=True)
    page.wait_for_selector("#chart-menu .hovertext")
    hover = "".join(page.locator("#chart-menu .hovertext").all_text_contents())
    assert LONG in hover  # whole in the hover, though cut in the axis
    shot(page, "30-charts-desktop-zh")

    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def test_a_chart_downloads_as_png_under_the_csp(
    charts_server: str, desktop: tuple[Any, list[str]]
) -> None:
    page, errors = desktop
    open_charts(page, charts_server + PATH)
    page.locator("#chart-categories").hover()
    with page.expect_download() as download:
        page.locator("#chart-categories .modebar-btn").click()
    assert download.value.suggested_filename == "consult-categories.png"
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def test_charts_follow_the_width_of_the_page(
    charts_server: str, desktop: tuple[Any, list[str]]
) -> None:
    page, errors = desktop
    open_charts(page, charts_server + PATH)

    def width() -> float:
        return float(page.locator("#chart-demand .main-svg").first.get_attribute("width"))

    wide = width()
    page.set_viewport_size({"width": 800, "height": 900})
    expect(page.locator("#chart-demand .main-svg").first).not_to_have_attribute(
        "width", str(int(wide)) if wide.is_integer() else str(wide)
    )
    assert width() < wide
    assert errors == []


def test_without_javascript_the_tables_carry_the_figures(charts_server: str, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto(charts_server + PATH)
    assert page.locator(".main-svg").count() == 0
    for chart in BARS:
        assert page.locator(f"#chart-{chart} figcaption").is_visible()
        assert page.locator(f"#table-{chart}").is_visible()
        assert page.locator(f"#figure-{chart}").is_hidden()  # the JSON is data, never shown
    shot(page, "31-charts-without-js")
    context.close()
