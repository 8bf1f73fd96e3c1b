"""Render a `consult.menu/1` menu as a plain-text table for a terminal."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

_LABELS: dict[str, dict[str, Any]] = {
    "en": {
        "answered": "{n} of {N} households answered ({pct})",
        "method": "method",
        "channels": "channels",
        "verified": "verified ballots only",
        "columns": ("#", "item", "approvals", "support", "95% CI", "bounds", "borda", "tied with"),
        "selected": "selected",
        "selection": (
            "selection ({rule}, budget {budget}): {count} items, spend {spend}, left {left}"
        ),
        "satisfied": "households with at least one approved item selected: {share}",
        "greedy": "(greedy would give {share})",
    },
    "zh": {
        "answered": "{N} 户中 {n} 户作答（{pct}）",
        "method": "排序方法",
        "channels": "渠道",
        "verified": "仅计已核验选票",
        "columns": ("#", "项目", "赞成", "支持率", "95% 区间", "上下界", "优先分", "难分高下"),
        "selected": "入选",
        "selection": "选定（{rule}，预算 {budget}）：{count} 项，花费 {spend}，结余 {left}",
        "satisfied": "至少一项所选项目获得本户赞成的住户占比：{share}",
        "greedy": "（按顺序选取则为 {share}）",
    },
}


def width(text: str) -> int:
    """Return how many terminal columns `text` takes (wide CJK characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, size: int, *, right: bool = False) -> str:
    gap = " " * max(size - width(text), 0)
    return gap + text if right else text + gap


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def item_name(entry: Mapping[str, Any], names: Mapping[str, str], lang: str) -> str:
    """Return an item's name in `lang` from the menu entry, then `names`, then its id."""
    own = entry.get("name_en" if lang == "en" else "name_zh")
    return str(own or names.get(entry["id"]) or entry["id"])


def render_table(
    menu: Mapping[str, Any], *, names: Mapping[str, str] | None = None, lang: str = "zh"
) -> str:
    """Return the menu as an aligned text table, names in Chinese ("zh") or English ("en").

    Names come from the menu entries' `name_zh` / `name_en`, else `names`
    (id -> name), else the id. "tied with" lists menu positions.
    """
    labels = _LABELS["en" if lang == "en" else "zh"]
    names = names or {}
    items: Sequence[Mapping[str, Any]] = menu["items"]
    compound = menu["compound"]
    n, big_n = menu["responses"], menu["households"]
    lines = [
        f"{compound.get('name') or compound['code']} ({compound['code']})",
        labels["answered"].format(n=n, N=big_n, pct=_pct(menu["coverage"])),
        f"{labels['method']}: {menu['method']}"
        + (f" · {labels['verified']}" if menu.get("verified_only") else ""),
        f"{labels['channels']}: "
        + " · ".join(f"{name} {count}" for name, count in menu["channels"].items()),
        "",
    ]
    position = {entry["id"]: entry["rank"] for entry in items}
    header = list(labels["columns"])
    selection = menu.get("selection")
    if selection is not None:
        header.append(labels["selected"])
    rows = [header]
    for entry in items:
        row = [
            str(entry["rank"]),
            item_name(entry, names, lang),
            str(entry["approvals"]),
            _pct(entry["support"]),
            f"{_pct(entry['ci95'][0])}–{_pct(entry['ci95'][1])}",
            f"{_pct(entry['bounds'][0])}–{_pct(entry['bounds'][1])}",
            str(entry["borda"]),
            ",".join(str(position[other]) for other in entry["tied_with"]) or "-",
        ]
        if selection is not None:
            row.append("✓" if entry.get("selected") else "")
        rows.append(row)
    sizes = [max(width(row[k]) for row in rows) for k in range(len(header))]
    numeric = {0, 2, 3, 6}
    for row in rows:
        cells = [_pad(cell, sizes[k], right=k in numeric) for k, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    if selection is not None:
        lines.extend(["", *_selection_lines(selection, labels)])
    return "\n".join(lines) + "\n"


def _selection_lines(selection: Mapping[str, Any], labels: Mapping[str, Any]) -> list[str]:
    lines = [
        labels["selection"].format(
            rule=selection["rule"],
            budget=_amount(selection["budget"]),
            count=len(selection["selected"]),
            spend=_amount(selection["spend"]),
            left=_amount(selection["leftover"]),
        ),
        labels["satisfied"].format(share=_pct(selection["voters_satisfied_share"])),
    ]
    if "greedy_voters_satisfied_share" in selection:
        lines[-1] += " " + labels["greedy"].format(
            share=_pct(selection["greedy_voters_satisfied_share"])
        )
    return lines
