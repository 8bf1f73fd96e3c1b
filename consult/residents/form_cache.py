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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

#: Stand-ins for the per-request tokens; NUL never occurs in a rendered page.
CSRF_MARK = "\x00csrf-token\x00"
KEY_MARK = "\x00submission-key\x00"


class RenderedForms:
    """A bounded, thread-safe store of rendered forms with their tokens taken out."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

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
        if not csrf_token or not submission_token:
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
        """Forget every kept page."""
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        return len(self._pages)


def rendered_forms() -> RenderedForms:
    """Return the forms kept by the current app (each app keeps its own)."""
    from flask import current_app

    forms = current_app.extensions.get("consult.rendered_forms")
    if forms is None:
        forms = current_app.extensions.setdefault("consult.rendered_forms", RenderedForms())
    return forms  # type: ignore[no-any-return]
