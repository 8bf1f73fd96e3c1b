"""Figures for the planners' charts, and plotly.js served from the installed plotly package."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from consult import charts, create_app
from consult.planners import assets
from consult.security import CONTENT_SECURITY_POLICY

PLOTLY_JS = (files("plotly") / "package_data" / "plotly.min.js").read_bytes()
JS_URL = f"/p/assets/plotly-{assets.PLOTLY_VERSION}.min.js"
CSS_URL = f"/p/assets/plotly-{assets.PLOTLY_VERSION}.css"
NAMES_53 = [f"第{i}项 屋面防水及保温改造(含楼道)" for i in range(53)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only: serving plotly.js and rendering the macros read no database."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'consult.db'}",
            "SERVER_NAME": "consult.test",
        }
    )
    yield app
    app.extensions["consult.engine"].dispose()


def menu_53(**options: Any) -> dict[str, Any]:
    support = [round(1 - i / 60, 4) for i in range(53)]
    ci = [(max(0.0, s - 0.08), min(1.0, s + 0.05)) for s in support]
    return charts.menu_figure(NAMES_53, support, ci, axis_title="支持率", **options)


def valid(figure: dict[str, Any]) -> go.Figure:
    """Return the figure as plotly.py reads it: raises on any attribute plotly.js lacks."""
    assert set(figure) == {"data", "layout", "config"}
    return go.Figure(data=figure["data"], layout=figure["layout"])


def size_of(figure: dict[str, Any]) -> int:
    return len(json.dumps(figure, allow_nan=False).encode())


# -- figures ---------------------------------------------------------------------------


def test_menu_bars_hold_support_and_interval_ends_as_error_bars() -> None:
    figure = charts.menu_figure(
        ["屋面防水", "加装电梯", "停车"],
        [0.8, 0.5, 0.25],
        [(0.7, 0.86), (0.4, 0.6), (0.2, 0.33)],
        axis_title="支持率",
    )
    [bars] = valid(figure).data
    assert list(bars.x) == [0.8, 0.5, 0.25]
    assert list(bars.y) == [0, 1, 2]
    assert list(bars.error_x.array) == pytest.approx([0.06, 0.1, 0.08])
    assert list(bars.error_x.arrayminus) == pytest.approx([0.1, 0.1, 0.05])
    assert bars.error_x.symmetric is False
    assert bars.orientation == "h"
    assert [row[0] for row in bars.customdata] == ["屋面防水", "加装电梯", "停车"]


def test_menu_puts_the_first_item_on_top_and_shows_shares_as_percent() -> None:
    layout = charts.menu_figure(["a", "b"], [0.6, 0.4], [(0.5, 0.7), (0.3, 0.5)], axis_title="x")[
        "layout"
    ]
    assert layout["yaxis"]["autorange"] == "reversed"
    assert layout["yaxis"]["tickvals"] == [0, 1]
    assert layout["yaxis"]["ticktext"] == ["a", "b"]
    assert layout["xaxis"]["tickformat"] == ".0%"
    assert layout["xaxis"]["range"] == [0, 0.8]  # clear of the largest interval end, 0.7
    assert layout["xaxis"]["title"]["text"] == "x"


@pytest.mark.parametrize(
    ("high", "top"), [(0.0, 0.1), (0.05, 0.1), (0.41, 0.5), (0.5, 0.6), (0.96, 1.0), (1.0, 1.0)]
)
def test_share_axis_ends_at_the_next_tenth_clear_of_the_largest_interval_end(
    high: float, top: float
) -> None:
    figure = charts.menu_figure(["a"], [high / 2], [(0.0, high)], axis_title="x")
    assert figure["layout"]["xaxis"]["range"] == [0, top]


def test_menu_colours_items_within_the_budget_apart_from_the_rest() -> None:
    figure = menu_53(
        selected=[i < 10 or i == 12 for i in range(53)],
        selected_name="预算内",
        other_name="预算外",
    )
    inside, outside = valid(figure).data
    assert (inside.name, outside.name) == ("预算内", "预算外")
    assert inside.marker.color != outside.marker.color
    assert list(inside.y) == [*range(10), 12]
    assert len(outside.y) == 53 - 11
    assert figure["layout"]["showlegend"] is True


def test_menu_with_everything_selected_draws_one_series() -> None:
    figure = menu_53(selected=[True] * 53, selected_name="预算内", other_name="预算外")
    assert [trace["name"] for trace in figure["data"]] == ["预算内"]


def test_menu_marks_tied_items_in_label_and_hover() -> None:
    figure = charts.menu_figure(
        ["a", "b", "c"],
        [0.5, 0.49, 0.1],
        [(0.4, 0.6), (0.39, 0.59), (0.05, 0.2)],
        tied=[True, True, False],
        axis_title="x",
    )
    assert figure["layout"]["yaxis"]["ticktext"] == ["≈ a", "≈ b", "c"]
    assert [row[0] for row in figure["data"][0]["customdata"]] == ["≈ a", "≈ b", "c"]


def test_menu_of_53_items_is_small_json_without_a_template() -> None:
    figure = menu_53(selected=[i < 20 for i in range(53)], tied=[i % 2 == 0 for i in range(53)])
    assert size_of(figure) < 16_000
    assert "template" not in figure["layout"]
    assert figure["layout"]["height"] >= 53 * charts.ROW
    assert figure["config"]["displaylogo"] is False
    assert figure["config"]["modeBarButtons"] == [["toImage"]]
    assert figure["config"]["responsive"] is True
    assert "Noto Sans CJK SC" in figure["layout"]["font"]["family"]
    assert "width" not in figure["layout"]  # the page's width decides


def test_figures_take_numpy_numbers_and_give_plain_json() -> None:
    np = pytest.importorskip("numpy")
    figure = charts.menu_figure(
        ["a", "b"],
        np.array([0.5, np.nan]),
        [(np.float64(0.4), np.float64(0.6)), (np.nan, np.nan)],
        axis_title="x",
    )
    text = json.dumps(figure, allow_nan=False)
    assert json.loads(text)["data"][0]["x"] == [0.5, None]
    assert type(figure["data"][0]["x"][0]) is float


def test_uneven_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        charts.menu_figure(["a"], [0.5, 0.4], [(0.4, 0.6)], axis_title="x")
    with pytest.raises(ValueError, match="lengths differ"):
        charts.menu_figure(["a"], [0.5], [(0.4, 0.6)], selected=[True, False], axis_title="x")
    with pytest.raises(ValueError, match="lengths differ"):
        charts.coverage_figure(
            ["1"], [1, 2], [3], answered_name="a", missing_name="m", axis_title="x"
        )
    with pytest.raises(ValueError, match="'老人'"):
        charts.segments_figure(["a", "b"], {"老人": [0.1]}, axis_title="x")


def test_names_are_escaped_for_plotlys_html_and_cut_to_two_lines() -> None:
    figure = charts.menu_figure(
        ['<a href="javascript:alert(1)">x</a> & <b>y</b>', "一" * 40],
        [0.5, 0.4],
        [(0.4, 0.6), (0.3, 0.5)],
        axis_title="<i>x</i>",
    )
    first, long = figure["layout"]["yaxis"]["ticktext"]
    assert "<a" not in first and "<b>" not in first and "&lt;b&gt;" in first
    assert "&amp;" in first
    assert figure["layout"]["xaxis"]["title"]["text"] == "&lt;i&gt;x&lt;/i&gt;"
    assert long.count("<br>") == 1 and long.endswith("…")
    assert figure["data"][0]["customdata"][1][0] == "一" * 40  # the full name in the hover


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("屋面防水", "屋面防水"),
        ("适儿化设施(儿童活动场地)", "适儿化设施(儿童活动场地)"),
        ("项目0 屋面防水及保温改造(含楼道)", "项目0 屋面防水及保温改造<br>(含楼道)"),
        ("Drainage / stormwater-sewage separation", "Drainage / stormwater-<br>sewage separation"),
        ("Water supply pipes & facilities", "Water supply pipes &amp;<br>facilities"),
        ("一二三四五六七八九十一二三，四五", "一二三四五六七八九十一二三，<br>四五"),
        ("", ""),
    ],
)
def test_labels_wrap_between_words_and_keep_brackets_with_their_words(
    name: str, label: str
) -> None:
    assert charts.wrap_label(name) == label


def test_coverage_stacks_answered_and_not_yet_per_building() -> None:
    figure = charts.coverage_figure(
        ["1号楼", "2号楼", "3号楼"],
        [10, 0, 30],
        [40, 20, 25],  # more answers than households: counted as all answered
        answered_name="已答",
        missing_name="未答",
        axis_title="户数",
    )
    answered, missing = valid(figure).data
    assert (answered.name, missing.name) == ("已答", "未答")
    assert list(answered.y) == [10, 0, 30]
    assert list(missing.y) == [30, 20, 0]
    assert figure["layout"]["barmode"] == "stack"
    assert figure["layout"]["xaxis"]["ticktext"] == ["1号楼", "2号楼", "3号楼"]
    assert figure["layout"]["legend"]["traceorder"] == "normal"


def test_coverage_keeps_buildings_named_by_numbers_as_labels() -> None:
    figure = charts.coverage_figure(
        ["3", "12"], [1, 2], [3, 4], answered_name="a", missing_name="m", axis_title="x"
    )
    assert figure["data"][0]["x"] == [0, 1]  # positions, so "3" and "12" are never a number axis
    assert figure["layout"]["xaxis"]["ticktext"] == ["3", "12"]


def test_category_mix_is_one_bar_per_category() -> None:
    figure = charts.category_figure(
        ["基础类", "完善类", "提升类"], [120, 80, 40], axis_title="赞成"
    )
    [bars] = valid(figure).data
    assert list(bars.x) == [120, 80, 40]
    assert figure["layout"]["yaxis"]["ticktext"] == ["基础类", "完善类", "提升类"]
    assert len(set(bars.marker.color)) == 3


def test_segments_are_grouped_bars_one_series_per_segment() -> None:
    series: dict[str, list[float | None]] = {
        "有老人的家庭": [0.9, 0.2],
        "有儿童的家庭": [0.5, None],
        "其他": [0.1, 0.3],
    }
    figure = charts.segments_figure(["加装电梯", "儿童乐园"], series, axis_title="支持率")
    traces = valid(figure).data
    assert [t.name for t in traces] == list(series)
    assert [list(t.x) for t in traces] == [[0.9, 0.2], [0.5, None], [0.1, 0.3]]
    assert all(list(t.y) == [0, 1] for t in traces)
    assert figure["layout"]["barmode"] == "group"
    assert len({t.marker.color for t in traces}) == 3


def test_demand_draws_two_panels_on_one_items_axis() -> None:
    figure = charts.demand_figure(
        NAMES_53,
        list(range(53, 0, -1)),
        [100 * i for i in range(53, 0, -1)],
        top5_name="前五名的小区",
        households_name="想要的户数",
        axis_title="小区 / 户",
    )
    top, wanted = valid(figure).data
    assert (top.xaxis, wanted.xaxis) == ("x", "x2")
    assert top.yaxis in (None, "y") and wanted.yaxis in (None, "y")  # one items axis
    assert list(top.x)[:2] == [53, 52] and list(wanted.x)[:2] == [5300, 5200]
    layout = figure["layout"]
    assert layout["xaxis"]["domain"][1] < layout["xaxis2"]["domain"][0]
    assert layout["xaxis"]["title"]["text"] == "前五名的小区"
    assert layout["annotations"][0]["text"] == "小区 / 户"
    assert size_of(figure) < 24_000


def test_tall_charts_grow_with_their_items() -> None:
    def height(n: int) -> int:
        figure = charts.demand_figure(
            ["x"] * n, [1] * n, [1] * n, top5_name="t", households_name="h", axis_title="a"
        )
        return int(figure["layout"]["height"])

    assert height(53) > height(10) > 0
    assert height(53) - height(52) == charts.ROW


def test_charts_imports_no_web_or_database_code() -> None:
    probe = (
        "import sys, consult.charts; "
        "print(','.join(m for m in ('flask', 'sqlmodel', 'sqlalchemy', 'consult.db') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- plotly.js and its styles, from the installed package ---------------------------------


def test_plotly_is_served_gzipped_and_decompresses_to_the_package_file(
    client: FlaskClient,
) -> None:
    response = client.get(JS_URL, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["ETag"]
    assert len(response.data) < len(PLOTLY_JS) / 2
    assert gzip.decompress(response.data) == PLOTLY_JS


def test_plotly_is_served_plain_to_a_client_without_gzip(client: FlaskClient) -> None:
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        response = client.get(JS_URL, headers=headers)
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers
        assert response.data == PLOTLY_JS
        assert "Accept-Encoding" in response.headers["Vary"]


def test_plotly_answers_304_to_a_browser_that_has_it(client: FlaskClient) -> None:
    zipped = client.get(JS_URL, headers={"Accept-Encoding": "gzip"})
    plain = client.get(JS_URL)
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # two representations, two tags
    again = client.get(
        JS_URL, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == zipped.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = client.get(JS_URL, headers={"If-None-Match": '"another"'})
    assert stale.status_code == 200


def test_another_plotly_version_is_not_found(client: FlaskClient) -> None:
    assert client.get("/p/assets/plotly-0.0.1.min.js").status_code == 404
    assert client.get("/p/assets/plotly-latest.min.js").status_code == 404


def test_plotly_styles_are_served_as_a_stylesheet(client: FlaskClient) -> None:
    response = client.get(CSS_URL, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    css = gzip.decompress(response.data).decode()
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;" in css
    assert ".js-plotly-plot .plotly .modebar{" in css
    assert ".plotly-notifier{" in css
    assert "X" not in css.split("*/", 1)[1].replace("X-", "")  # every placeholder replaced


def test_the_styles_plotly_would_inject_are_read_from_its_bundle() -> None:
    styles = assets.plotly_styles(PLOTLY_JS)
    assert styles.css.count(b"{") > 60
    for sheet_id in styles.injected_ids:
        assert f'document.getElementById("{sheet_id}")'.encode() in PLOTLY_JS
    with pytest.raises(ValueError, match="not found"):
        assets.plotly_styles(b"var Plotly = {};")
    with pytest.raises(ValueError, match="unreadable"):
        assets.plotly_styles(b'x={"X,X div":oops}')


def test_plotly_styles_decode_javascript_strings() -> None:
    source = b"""{"X,X div":'a:"b"',Y:"content:\\"\\\\201C\\";x:\\x41\\u0042"};"""
    assert assets.plotly_styles(source).css.decode().splitlines()[1:] == [
        '.js-plotly-plot .plotly,.js-plotly-plot .plotly div{a:"b"}',
        '.plotly-notifier{content:"\\201C";x:AB}',
    ]


def test_an_asset_is_read_and_compressed_once_under_concurrent_requests() -> None:
    reads: list[int] = []
    start = threading.Barrier(8)

    def read() -> bytes:
        reads.append(1)
        return b"x" * 100_000

    asset = assets.Asset(read, "text/plain")
    results: list[bytes] = []

    def fetch() -> None:
        start.wait()
        results.append(asset.gzipped)

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reads) == 1
    assert len({id(r) for r in results}) == 1
    assert gzip.decompress(results[0]) == b"x" * 100_000


def test_planners_pages_alone_may_show_blob_images_for_the_chart_download(
    client: FlaskClient,
) -> None:
    planners = client.get(CSS_URL).headers["Content-Security-Policy"]
    with client.get("/static/css/app.css") as static:
        others = static.headers["Content-Security-Policy"]
    assert others == CONTENT_SECURITY_POLICY
    assert planners == CONTENT_SECURITY_POLICY.replace(
        "img-src 'self' data:", "img-src 'self' data: blob:"
    )
    assert "unsafe" not in planners
    assert "script-src 'self';" in planners and "style-src 'self';" in planners


def test_a_source_is_added_to_its_directive_or_a_new_one() -> None:
    assert assets.with_source("a 'self'; b 'none'", "b", "x:") == "a 'self'; b 'none' x:"
    assert assets.with_source("a 'self'", "c", "x:") == "a 'self'; c x:"


# -- the macros ------------------------------------------------------------------------

PAGE = """{% from "_macros/charts.html" import chart, chart_scripts %}
{{ chart("menu", figure, "各项支持率") }}{{ chart_scripts() }}"""


def test_chart_macro_embeds_the_figure_as_inert_json(app: Flask) -> None:
    figure = charts.menu_figure(
        ["</script><script>alert(1)</script>"], [0.5], [(0.4, 0.6)], axis_title="x"
    )
    with app.test_request_context():
        html = render_template_string(PAGE, figure=figure)
    assert '<figure class="chart" id="chart-menu">' in html
    assert '<div class="chart-plot" data-figure="menu"' in html
    assert '<script type="application/json" id="figure-menu">' in html
    assert "<figcaption" in html and "各项支持率" in html
    assert "<script>alert" not in html
    block = html.split('id="figure-menu">', 1)[1].split("</script>", 1)[0]
    assert json.loads(block) == json.loads(json.dumps(figure))


def test_chart_scripts_link_plotly_its_styles_and_charts_js_in_order(app: Flask) -> None:
    with app.test_request_context():
        html = render_template_string(PAGE, figure=charts.category_figure([], [], axis_title=""))
    link = f'<link rel="stylesheet" href="{CSS_URL}" id="plotly.js-style-global" class="no-inline-styles">'
    assert link in html
    for sheet_id in assets.plotly_styles(PLOTLY_JS).injected_ids:
        assert f'<template id="{sheet_id}"></template>' in html
    plotly = html.index(f'<script src="{JS_URL}" defer></script>')
    ours = html.index('<script src="/static/js/charts.js" defer></script>')
    assert html.index(link) < plotly < ours
    assert "cdn" not in html.lower()
