"""Plotly figures for the planners' pages, built from plain data (pure: no Flask, no database).

Each function takes lists the view has read from the tally's menu and strings
the view has already translated, and returns a figure as a plain dict
(`{"data": [...], "layout": {...}, "config": {...}}`) that `json.dumps`
accepts and plotly.js draws with `Plotly.newPlot(div, data, layout, config)`.

Figures carry no template (plotly.js defaults plus a small explicit layout), so
each weighs a few kilobytes even with the 53 items of the catalogue. Items sit
on numeric positions labelled by `ticktext`, so two long names cut to the same
label stay two bars; the full name is in the hover. Names pass through
plotly's small HTML dialect escaped, so a compound's own item called
"<b>..." shows as typed.
"""

from __future__ import annotations

import functools
import html
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FONT_FAMILY",
    "category_figure",
    "coverage_figure",
    "demand_figure",
    "menu_figure",
    "segments_figure",
    "wrap_label",
]

Figure = dict[str, Any]

FONT_FAMILY = "Noto Sans CJK SC, WenQuanYi Micro Hei, Microsoft YaHei, sans-serif"
#: Blue and grey: apart for every kind of colour vision, and in grey print.
BLUE = "#2f6db5"
GREY = "#a7b0bc"
LIGHT = "#dde3ea"
INK = "#222222"
GRID = "#e6e6e6"
#: Colours of the segments, categories and demand series, in order.
PALETTE = ("#c2571a", BLUE, "#6b7785", "#2a8a5b", "#8a4fb5")
#: A label line is at most this wide (a CJK character counts 2, a Latin letter 1).
LABEL_WIDTH = 26
LABEL_LINES = 2
#: Pixels per item on an items axis, with one-line and with two-line labels.
ROW, TALL_ROW = 24, 32
#: Marks that never end a line (opening) or start one (closing).
OPENING = "([{（［｛【《〈「『“‘"
CLOSING = ")]}）］｝】》〉」』”’，。、；：！？,.;:!?"
#: A Latin word (kept whole when it fits) or any other single character, with its spaces.
LATIN_WORD_OR_CHARACTER = re.compile(r"[0-9A-Za-z\u00c0-\u024f'’.&]+[-/]?\s*|\S\s*|\s+")
TIED_MARK = "≈"

CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtons": [["toImage"]],
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "scrollZoom": False,
    "doubleClick": False,
    "showTips": False,
}


def menu_figure(
    names: Sequence[str],
    support: Sequence[float],
    ci95: Sequence[tuple[float, float]],
    *,
    selected: Sequence[bool] | None = None,
    tied: Sequence[bool] | None = None,
    axis_title: str,
    selected_name: str = "",
    other_name: str = "",
) -> Figure:
    """Draw the ranked menu: support (0..1) as horizontal bars, first item on top.

    Error bars run from the bar to the ends of each item's 95 % interval.
    With `selected`, items within the budget are blue and the others grey, in
    two legend entries (`selected_name`, `other_name`). Items `tied` with
    another are marked ≈ before their label.
    """
    n = _same_length(names=names, support=support, ci95=ci95)
    if selected is not None:
        _same_length(names=names, selected=selected)
    if tied is not None:
        _same_length(names=names, tied=tied)
    marks = [bool(t) for t in tied] if tied is not None else [False] * n
    labels = [
        (f"{TIED_MARK} " if mark else "") + wrap_label(name)
        for name, mark in zip(names, marks, strict=True)
    ]
    groups: list[tuple[str, str, list[int]]]
    if selected is None:
        groups = [(other_name, BLUE, list(range(n)))]
    else:
        groups = [
            (selected_name, BLUE, [i for i in range(n) if selected[i]]),
            (other_name, GREY, [i for i in range(n) if not selected[i]]),
        ]
    data = []
    for name, colour, rows in groups:
        if selected is not None and not rows:
            continue
        values = [_share(support[i]) for i in rows]
        low = [_share(ci95[i][0]) for i in rows]
        high = [_share(ci95[i][1]) for i in rows]
        error_x = {
            "type": "data",
            "symmetric": False,
            "array": [_gap(h, v) for h, v in zip(high, values, strict=True)],
            "arrayminus": [_gap(v, lo) for v, lo in zip(values, low, strict=True)],
            "color": INK,
            "thickness": 1.2,
            "width": 4,
        }
        custom = [
            [_hover_name(names[i], marks[i]), lo, hi]
            for i, lo, hi in zip(rows, low, high, strict=True)
        ]
        hover = "%{customdata[0]}<br>%{x:.1%} (95%: %{customdata[1]:.0%}–%{customdata[2]:.0%})"
        data.append(
            _bars(name, values, colour, custom, f"{hover}<extra></extra>", y=rows, error_x=error_x)
        )
    layout = _layout(
        height=_items_height(labels),
        legend=selected is not None,
        xaxis=_share_axis(axis_title, [_share(high) for _low, high in ci95]),
        yaxis=_items_axis(labels),
        barmode="overlay",
    )
    return _figure(data, layout)


def coverage_figure(
    buildings: Sequence[str],
    answered: Sequence[int],
    households: Sequence[int],
    *,
    answered_name: str,
    missing_name: str,
    axis_title: str,
) -> Figure:
    """Draw, per building, the households that answered and those not yet, stacked."""
    n = _same_length(buildings=buildings, answered=answered, households=households)
    done = [max(0, int(a)) for a in answered]
    totals = [max(int(t), a) for t, a in zip(households, done, strict=True)]
    missing = [t - a for t, a in zip(totals, done, strict=True)]
    names = [_escape(b) for b in buildings]
    custom = [[name, total] for name, total in zip(names, totals, strict=True)]
    hover = "%{customdata[0]}<br>%{y} / %{customdata[1]}"
    data = [
        _bars(series, values, colour, custom, hover, orientation="v")
        for series, values, colour in ((answered_name, done, BLUE), (missing_name, missing, LIGHT))
    ]
    layout = _layout(
        height=320,
        legend=True,
        xaxis={
            "tickmode": "array",
            "tickvals": list(range(n)),
            "ticktext": [wrap_label(b, width=12) for b in buildings],
            "fixedrange": True,
            "automargin": True,
            "showgrid": False,
        },
        yaxis=_count_axis(axis_title),
        barmode="stack",
    )
    return _figure(data, layout)


def category_figure(
    categories: Sequence[str],
    approvals: Sequence[int],
    *,
    axis_title: str,
) -> Figure:
    """Draw the approvals each category of items received, one bar per category."""
    n = _same_length(categories=categories, approvals=approvals)
    counts = [int(a) for a in approvals]
    colours = [PALETTE[i % len(PALETTE)] for i in range(n)]
    escaped = [_escape(c) for c in categories]
    hover = "%{customdata}<br>%{x}<extra></extra>"
    data = [
        _bars(
            "",
            counts,
            colours,
            escaped,
            hover,
            text=counts,
            textposition="outside",
            cliponaxis=False,
        )
    ]
    layout = _layout(
        height=max(160, 70 + 40 * n),
        legend=False,
        xaxis=_count_axis(axis_title),
        yaxis=_items_axis([wrap_label(c) for c in categories]),
    )
    return _figure(data, layout)


def segments_figure(
    names: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    axis_title: str,
) -> Figure:
    """Draw each item's support (0..1) within each segment of households, as grouped bars.

    `series` maps a segment's name to one value per item, in the order of
    `names`; None stands for a segment with no household, drawn as no bar.
    """
    n = len(names)
    for segment, values in series.items():
        if len(values) != n:
            raise ValueError(f"{segment!r} has {len(values)} values for {n} items")
    escaped = [_escape(name) for name in names]
    labels = [wrap_label(name) for name in names]
    data = [
        _bars(
            segment,
            [_share(v) for v in values],
            PALETTE[k % len(PALETTE)],
            escaped,
            "%{customdata}<br>%{x:.0%}",
        )
        for k, (segment, values) in enumerate(series.items())
    ]
    layout = _layout(
        height=_items_height(labels, row=max(_row(labels), 8 + 10 * len(series))),
        legend=True,
        xaxis=_share_axis(axis_title, [_share(v) for values in series.values() for v in values]),
        yaxis=_items_axis(labels),
        barmode="group",
        bargap=0.3,
        bargroupgap=0.05,
    )
    return _figure(data, layout)


def demand_figure(
    names: Sequence[str],
    top5_compounds: Sequence[int],
    households: Sequence[int],
    *,
    top5_name: str,
    households_name: str,
    axis_title: str,
) -> Figure:
    """Draw the city-wide demand for each item in two panels sharing the items axis.

    Left: the compounds whose menu has the item in its top five; right: the
    households approving it. The scales differ a hundredfold, so each panel
    has its own axis, on top where a long list starts; `axis_title` heads both.
    """
    _same_length(names=names, top5_compounds=top5_compounds, households=households)
    escaped = [_escape(name) for name in names]
    labels = [wrap_label(name) for name in names]
    data = [
        _bars(
            series, [int(v) for v in values], colour, escaped, "%{customdata}<br>%{x}", xaxis=axis
        )
        for series, values, axis, colour in (
            (top5_name, top5_compounds, "x", PALETTE[0]),
            (households_name, households, "x2", BLUE),
        )
    ]
    layout = _layout(
        height=_items_height(labels, chrome=150),
        legend=False,
        xaxis=_count_axis(top5_name, domain=[0.0, 0.46], side="top", anchor="y"),
        xaxis2=_count_axis(households_name, domain=[0.54, 1.0], side="top", anchor="y"),
        yaxis=_items_axis(labels),
        bargap=0.25,
        annotations=[
            {
                "text": _escape(axis_title),
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 1,
                "yshift": 68,
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        ],
    )
    layout["margin"]["t"] = 100
    return _figure(data, layout)


@functools.lru_cache(maxsize=4096)  # the catalogue's names come back on every chart
def wrap_label(name: str, *, width: int = LABEL_WIDTH, lines: int = LABEL_LINES) -> str:
    """Break a name into at most `lines` lines of `width` (CJK counts double), cut with "…".

    Latin words stay whole where they fit; the result is escaped for plotly
    and its lines joined with <br>.
    """
    rows: list[str] = []
    line = ""
    for token in LATIN_WORD_OR_CHARACTER.findall(name.strip()):
        fits = _width(line + token.rstrip()) <= width
        if fits or (token[0] in CLOSING and line.strip()):  # a closing mark hangs at the end
            line += token
            continue
        if line.rstrip()[-1:] in OPENING and len(line.rstrip()) > 1:  # "(" goes down with its word
            token = line.rstrip()[-1] + token
            line = line.rstrip()[:-1]
        if line.strip():
            rows.append(line.rstrip())
            line = ""
        token = token.lstrip()
        while _width(token.rstrip()) > width:
            head = _cut(token, width)
            rows.append(head)
            token = token[len(head) :]
        line = token
    if line.strip():
        rows.append(line.rstrip())
    if len(rows) > lines:
        rows = rows[:lines]
        rows[-1] = _cut(rows[-1], width - 2).rstrip() + "…"
    return "<br>".join(_escape(row) for row in rows)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, width: int) -> str:
    """Return the longest start of `text` no wider than `width` (at least one character)."""
    used = 0
    for i, c in enumerate(text):
        used += _width(c)
        if used > width:
            return text[: max(i, 1)]
    return text


def _escape(text: str) -> str:
    """Escape a person's text for plotly, which reads <b>, <br>, <a> and entities in labels."""
    return html.escape(str(text), quote=False)


def _hover_name(name: str, tied: bool) -> str:
    return f"{TIED_MARK} {_escape(name)}" if tied else _escape(name)


def _share(value: float | None) -> float | None:
    """Return a share rounded to 4 places for the page; None for a missing or undefined one."""
    if value is None:
        return None
    number = float(value)
    return round(number, 4) if math.isfinite(number) else None


def _gap(far: float | None, near: float | None) -> float:
    if far is None or near is None:
        return 0.0
    return round(max(0.0, far - near), 4)


def _same_length(**sequences: Sequence[Any]) -> int:
    lengths = {name: len(values) for name, values in sequences.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"lengths differ: {lengths}")
    return next(iter(lengths.values()), 0)


def _row(labels: Sequence[str]) -> int:
    """Return the pixels an item needs: more when a label runs on two lines."""
    return TALL_ROW if any("<br>" in label for label in labels) else ROW


def _items_height(labels: Sequence[str], *, chrome: int = 90, row: int | None = None) -> int:
    """Return a height that gives each item its row, plus `chrome` for axes and legend."""
    return max(200, chrome + (row or _row(labels)) * len(labels))


def _share_axis(title: str, shares: Sequence[float | None]) -> dict[str, Any]:
    """A 0..x % axis, x the next tenth clear of the largest share: low support stays readable."""
    largest = max((share for share in shares if share is not None), default=0.0)
    top = min(1.0, math.ceil(largest * 10 + 0.25) / 10)
    return {
        "title": {"text": _escape(title)},
        "range": [0, top],
        "tickformat": ".0%",
        "fixedrange": True,
        "gridcolor": GRID,
        "zeroline": False,
        "automargin": True,
    }


def _count_axis(title: str, **more: Any) -> dict[str, Any]:
    return {
        "title": {"text": _escape(title), "standoff": 6},
        "rangemode": "tozero",
        "fixedrange": True,
        "gridcolor": GRID,
        "automargin": True,
        **more,
    }


def _items_axis(labels: list[str]) -> dict[str, Any]:
    """Items on numeric positions 0..n-1, the first on top, labelled by `labels`."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": labels,
        "autorange": "reversed",
        "fixedrange": True,
        "automargin": True,
        "showgrid": False,
        "ticks": "",
    }


def _bars(
    name: str,
    values: list[Any],
    colour: str | list[str],
    custom: list[Any],
    hover: str,
    *,
    orientation: str = "h",
    **more: Any,
) -> dict[str, Any]:
    """Return a bar trace: values on items 0..n-1 (or `y`), the hover from `custom`."""
    positions = more.pop("y", list(range(len(values))))
    x, y = (values, positions) if orientation == "h" else (positions, values)
    return {
        "type": "bar",
        "orientation": orientation,
        "name": _escape(name),
        "x": x,
        "y": y,
        "marker": {"color": colour},
        "customdata": custom,
        "hovertemplate": hover,
        **more,
    }


def _layout(*, height: int, legend: bool, **axes_and_more: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": {"family": FONT_FAMILY, "size": 13, "color": INK},
        "height": height,
        "margin": {"l": 8, "r": 24, "t": 40 if legend else 16, "b": 48, "pad": 4},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": legend,
        "hovermode": "closest",
        "dragmode": False,
        "hoverlabel": {"font": {"family": FONT_FAMILY}, "align": "left"},
    }
    if legend:
        layout["legend"] = {
            "orientation": "h",
            "traceorder": "normal",
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yanchor": "bottom",
        }
    layout.update(axes_and_more)
    return layout


def _figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    return {"data": data, "layout": layout, "config": dict(CONFIG)}
