"""The needs survey's form as rendered, kept while nothing it shows has changed.

Rendering the form (every item of the menu three times over, the pickers, the
layout for the script) costs ten times what the rest of the request does, and it
is the same page for every phone that scans a compound's QR code. Each worker
keeps the pages it rendered, keyed by everything a page shows: the compound's
and the survey's rows, the menu as read by this request, the layout's stamp, the
language and the text size. A change to any of them is a new key, so a stale page
is never served; old keys simply age out.

What differs between two phones is filled in per request: the CSRF token and the
signed submission key. A page is kept only when each appears exactly once in it.

Checking the key costs four small queries. At a meeting a hundred phones scan the
same code within seconds, so a worker that checked a compound's key less than
`SURVEY_FORM_FRESH_MS` ago (1,000 by default) serves the kept page without asking
the database again: what a phone gets is then at most that old, exactly as if it
had loaded the page that much earlier; what it sends is checked in full as ever.
Any write this process commits to what the page shows (a compound, survey, menu
item or household) makes every check stale at once: a check notes the count of
such commits taken before its reads, so a change committed while a request read
leaves that request's check stale too. A worker never serves a page older than
its own changes; only another worker's changes take up to that long to show.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from itertools import chain, count
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from consult.models import Building, CatalogItem, Compound, Household, Survey, SurveyItem, Unit

#: Stand-ins for the per-request tokens; NUL never occurs in a rendered page.
CSRF_MARK = "\x00csrf-token\x00"
KEY_MARK = "\x00submission-key\x00"


class RenderedForms:
    """A bounded, thread-safe store of rendered forms with their tokens taken out."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()
        #: Per open link (compound code, language, text size): the key last checked
        #: against the database, when, and in which generation of this process's writes.
        self._checked: dict[Hashable, tuple[Hashable, float, int]] = {}

    def checked(self, link: Hashable, key: Hashable, since: int) -> None:
        """Note that the open link's page was checked to be the one under key by reads
        begun in generation `since` (taken before them)."""
        with self._lock:
            if len(self._checked) >= 4 * self.size:
                self._checked.clear()
            self._checked[link] = (key, time.monotonic(), since)

    def recent(self, link: Hashable, max_age: float) -> Hashable | None:
        """Return the key the open link was checked to have less than max_age seconds
        ago, with no write to what it shows committed by this process since; else None."""
        if max_age <= 0:
            return None
        entry = self._checked.get(link)
        if entry is None:
            return None
        key, at, generation = entry
        if generation != _generation or time.monotonic() - at >= max_age:
            return None
        return key

    def fill(self, key: Hashable, csrf_token: str, submission_token: str) -> str | None:
        """Return the kept page for key with these tokens in it, or None."""
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                return None
            self._pages.move_to_end(key)
        return page.replace(CSRF_MARK, csrf_token, 1).replace(KEY_MARK, submission_token, 1)

    def keep(self, key: Hashable, page: str, csrf_token: str, submission_token: str) -> bool:
        """Keep a rendered page under key, its tokens taken out; False if they are not
        each there exactly once (the page is then not kept)."""
        if not csrf_token or not submission_token or CSRF_MARK in page or KEY_MARK in page:
            return False
        if page.count(csrf_token) != 1 or page.count(submission_token) != 1:
            return False
        template = page.replace(csrf_token, CSRF_MARK).replace(submission_token, KEY_MARK)
        with self._lock:
            self._pages[key] = template
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return True

    def clear(self) -> None:
        """Forget every kept page and every check."""
        with self._lock:
            self._pages.clear()
            self._checked.clear()

    def __len__(self) -> int:
        return len(self._pages)


def rendered_forms() -> RenderedForms:
    """Return the forms kept by the current app (each app keeps its own)."""
    from flask import current_app

    forms = current_app.extensions.get("consult.rendered_forms")
    if forms is None:
        forms = current_app.extensions.setdefault("consult.rendered_forms", RenderedForms())
    return forms  # type: ignore[no-any-return]


#: Counts the commits of this process that wrote something a kept page shows.
_writes = count(1)
_generation = 0
_SHOWN = (Compound, Survey, SurveyItem, CatalogItem, Household, Building, Unit)
_WROTE = "consult.wrote_form_data"


def generation() -> int:
    """Return the count of this process's commits that changed what a kept page shows.

    A request takes it before it reads anything, and notes its check under it: a
    change committed while it reads then leaves its check stale.
    """
    return _generation


@event.listens_for(Session, "after_flush")
def _page_data_flushed(session: Session, _context: Any) -> None:
    """Note that the transaction writes what the survey form shows."""
    if any(isinstance(row, _SHOWN) for row in chain(session.new, session.dirty, session.deleted)):
        session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _page_data_committed(session: Session) -> None:
    """Make every check stale once such a write is committed (others can read it now)."""
    global _generation
    if session.info.pop(_WROTE, False):
        _generation = next(_writes)


@event.listens_for(Session, "after_soft_rollback")
def _page_data_rolled_back(session: Session, _previous: Any) -> None:
    session.info.pop(_WROTE, None)
