"""Configuration: defaults here, CONSULT_* environment variables, then instance/config.py."""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # The UI speaks Simplified Chinese unless a person asks for English.
    "BABEL_DEFAULT_LOCALE": "zh_Hans",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
    "LANGUAGES": ("zh_Hans", "en"),
    # A resident may leave the survey open on the kitchen table for a while.
    "WTF_CSRF_TIME_LIMIT": 24 * 3600,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "COMMENT_MAX_LENGTH": 500,
    #: A worker serves the survey's open-link form it checked against the database less
    #: than this many milliseconds ago without checking again (0: always check).
    "SURVEY_FORM_FRESH_MS": 1000,
    # Public figures drawn from fewer households than this are withheld.
    "PUBLIC_MIN_COUNT": 5,
    #: Days residents have to object to published results, by default.
    "PUBLIC_NOTICE_DAYS": 7,
    #: A progress photo as a phone sends it may be this large; it is stored re-encoded.
    "PHOTO_MAX_UPLOAD": 12 * 1024 * 1024,
    #: Stored progress photos are scaled to fit this many pixels on their longer side.
    "PHOTO_MAX_SIDE": 1600,
    #: Owners' consent thresholds changed from the Civil Code defaults, per kind of
    #: question (see consult/consent.py and services/consent_votes.py), e.g.
    #: {"elevator": {"approval": "3/4"}}.
    "CONSENT_RULES": {},
    "SEND_FILE_MAX_AGE_DEFAULT": 7 * 24 * 3600,
    # Served over HTTPS (behind nginx): secure cookies, https links, HSTS.
    "HTTPS": False,
    # How many proxies (nginx) stand in front: trust that many X-Forwarded-* hops.
    "PROXY_COUNT": 0,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    #: The cyclic garbage collector's young-generation threshold for the process (net
    #: new containers between collections), raised from Python 3.11's 700 to 2,000 as
    #: in CPython's newer collectors: a planner's page holds a thousand rows at once,
    #: and at 700 each page paid for two or three collections of them (~0.4 ms of 7).
    #: A higher threshold, or the collector turned off, is kept; 0 leaves it alone.
    "GC_YOUNG_THRESHOLD": 2000,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def secret_key_for(instance_path: Path) -> str:
    """Return the instance's secret key, generating and keeping it on first use."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def from_environment() -> dict[str, Any]:
    """Read CONSULT_* variables (CONSULT_DATABASE_URL -> DATABASE_URL)."""
    return {
        key.removeprefix("CONSULT_"): _typed(value)
        for key, value in os.environ.items()
        if key.startswith("CONSULT_") and not key.startswith("CONSULT_TEST_")
    }


def _typed(value: str) -> Any:
    """Read "true"/"false" as booleans and whole numbers as ints; keep the rest."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return int(lowered) if lowered.isascii() and lowered.isdecimal() else value


def raise_collector_threshold(threshold: int) -> None:
    """Raise the garbage collector's young-generation threshold to `threshold` (never
    lower it, never turn a collector set off back on; 0 leaves it as it is).
    Process-wide, as the setting is."""
    young, *older = gc.get_threshold()
    if young and threshold > young:  # a young threshold of 0 is the collector turned off
        gc.set_threshold(threshold, *older)
