"""The compound page's menu section, tallied, charted and rendered once per reading.

Everything the section shows (the ranked menu, its chart and tables, coverage by
building, the category mix, the segments) is a function of what was read for it:
the survey's ballots and items, the meetings' hands, the compound's households and
budget, the buildings' sizes, and the request's method, verified-only choice and
language. The section is kept under exactly that reading (`BallotsRead` compares all
of it), so any write that changes what the page would show (a submission, a
replacement, a withdrawal, a paper entry or correction, a verification, a meeting's
hands, a budget, a cost, an item offered or withdrawn, a household added) gives a
different key and a fresh section, while the queries still run on every request.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import current_app, render_template, request, session
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

import consult.tally as engine
from consult import charts
from consult.i18n import large_text
from consult.labels import name_of
from consult.services import dashboards
from consult.services.tallies import METHODS, BallotsRead, document_of

T = TypeVar("T")

#: Sections (and pages) kept per application (the most recently used); the largest compound's is ~0.35 MB.
KEPT = 32


@dataclass(frozen=True)
class MenuSection:
    """The rendered section and the figures the page's header shows beside it."""

    responses: int
    coverage: float
    html: Markup


class _Key:
    """A section's key: its parts, hashed once (a large compound's reading is thousands
    of values, and a lookup would otherwise hash it again)."""

    __slots__ = ("_hash", "parts")

    def __init__(self, *parts: Any) -> None:
        self.parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self._hash == other._hash and self.parts == other.parts


class _Kept(Generic[T]):
    """The most recently used sections (or pages), by key (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[_Key, T] = {}
        self._lock = threading.Lock()

    def get(self, key: _Key) -> T | None:
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self._items[key] = found  # last in the dict's order: used most recently
            return found

    def put(self, key: _Key, section: T) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = section
            while len(self._items) > self.size:
                del self._items[next(iter(self._items))]

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def kept_sections() -> _Kept[MenuSection]:
    """Return the application's kept sections."""
    kept: _Kept[MenuSection] = current_app.extensions.setdefault(
        "planners.menu_sections", _Kept(KEPT)
    )
    return kept


def kept_pages() -> _Kept[str]:
    """Return the application's kept compound pages (their CSRF tokens taken out)."""
    kept: _Kept[str] = current_app.extensions.setdefault("planners.compound_pages", _Kept(KEPT))
    return kept


#: Stands for the request's CSRF token in a kept page; NUL never occurs in a rendered page.
CSRF_MARK = "\x00csrf-token\x00"


def kept_page(render: Callable[[], str], *shown: Hashable) -> str:
    """Return the page render() makes, kept under everything it shows (`shown`, with the
    request's language, text size and path, and the logged-in account added here).

    Only the CSRF token differs between two requests showing the same things: it is
    taken out of the kept page and the request's put in. A request with messages to
    flash renders afresh and keeps nothing (they show once), as does debug mode.
    """
    if current_app.debug or "_flashes" in session:
        return render()
    account = current_user
    key = _Key(
        *shown,
        str(get_locale()),
        large_text(),
        request.path,
        (account.get_id(), account.role, account.username, account.display_name),
    )
    kept = kept_pages()
    token = generate_csrf()
    page = kept.get(key)
    if page is None:
        page = render()
        if "\x00" in page or "_flashes" in session:
            return page
        kept.put(key, page.replace(token, CSRF_MARK))
        return page
    return page.replace(CSRF_MARK, token)


def menu_section(
    read: BallotsRead,
    rooms: list[tuple[str, int]],
    *,
    method: str,
    verified_only: bool,
    mode: str,
) -> MenuSection:
    """Return the compound page's menu section for the reading, made once per key.

    `rooms` are the buildings in residents' order with their households; `mode` is
    the survey's (the section offers the verified-only choice unless it asks for codes).
    """
    key = _Key(read, tuple(rooms), method, verified_only, str(mode), str(get_locale()))
    kept = None if current_app.debug else kept_sections()  # debug: templates reload
    section = kept.get(key) if kept is not None else None
    if section is None:
        section = _section(read, rooms, method=method, verified_only=verified_only, mode=mode)
        if kept is not None:
            kept.put(key, section)
    return section


def _section(
    read: BallotsRead,
    rooms: list[tuple[str, int]],
    *,
    method: str,
    verified_only: bool,
    mode: str,
) -> MenuSection:
    document = document_of(read)
    menu = engine.tally(document, method=method, verified_only=verified_only)
    english = str(get_locale()).startswith("en")
    names = {item["id"]: item["name_en" if english else "name_zh"] for item in document["items"]}
    # Counted as the menu counts (verified ballots only where the survey asks for codes).
    counted = Counter(
        ballot["building"]
        for ballot in document["ballots"]
        if ballot.get("verified") or not verified_only
    )
    buildings = [(number, counted.get(number, 0), total) for number, total in rooms]
    segments = dashboards.segment_support(document, menu, verified_only=verified_only)
    categories = dashboards.category_mix(menu)
    building_names = [_("Building %(n)s", n=number) for number, _total in rooms]
    html = render_template(
        "planners/_compound_menu.html",
        menu=menu,
        names=names,
        method=method,
        methods=METHODS,
        verified_only=verified_only,
        mode=str(mode),
        buildings=buildings,
        segments=segments,
        categories=categories,
        figures=_figures(menu, names, building_names, buildings, segments, categories),
        building_names=building_names,
        category_names=_category_names(),
        selection=menu.get("selection"),
    )
    return MenuSection(menu["responses"], menu["coverage"], Markup(html))


def _category_names() -> defaultdict[str, str]:
    """Each category's name, translated once (an unknown one is named as enhancement)."""
    enhancement = name_of("category", "enhancement")
    return defaultdict(
        lambda: enhancement,
        {"basic": name_of("category", "basic"), "improvement": name_of("category", "improvement")},
    )


def _figures(
    menu: dict[str, Any],
    names: dict[str, str],
    building_names: list[str],
    buildings: list[tuple[str, int, int]],
    segments: dashboards.Segments,
    categories: list[tuple[str, int]],
) -> dict[str, Any]:
    entries = menu["items"]
    selection = menu.get("selection")
    return {
        "menu": charts.menu_figure(
            [names[e["id"]] for e in entries],
            [e["support"] for e in entries],
            [tuple(e["ci95"]) for e in entries],
            selected=[bool(e.get("selected")) for e in entries] if selection else None,
            tied=[bool(e["tied_with"]) for e in entries],
            axis_title=_("Share of households that answered"),
            selected_name=_("Within the budget"),
            other_name=_("Beyond the budget") if selection else _("Support"),
        ),
        "coverage": charts.coverage_figure(
            building_names,
            [answered for _n, answered, _t in buildings],
            [total for _n, _a, total in buildings],
            answered_name=_("Answered"),
            missing_name=_("Not yet"),
            axis_title=_("Households"),
        ),
        "categories": charts.category_figure(
            [name_of("category", category) for category, _count in categories],
            [count for _category, count in categories],
            axis_title=_("Approvals"),
        ),
        "segments": charts.segments_figure(
            [names[row.id] for row in segments.rows],
            {
                _("With someone 60+"): [row.elderly for row in segments.rows],
                _("With children"): [row.children for row in segments.rows],
                _("Neither"): [row.others for row in segments.rows],
            },
            axis_title=_("Share of households that answered"),
        ),
    }
