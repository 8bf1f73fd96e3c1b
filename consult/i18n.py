"""Languages (Simplified Chinese by default, English on request) and the large-text switch."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, g, request
from flask.wrappers import Response
from flask_babel import Babel, format_date, format_datetime, get_locale, get_translations
from jinja2.ext import (  # the i18n extension's own newstyle wrappers
    _make_new_gettext,
    _make_new_ngettext,
    _make_new_npgettext,
    _make_new_pgettext,
)

LANG_COOKIE = "lang"
SIZE_COOKIE = "size"
ONE_YEAR = 365 * 24 * 3600
#: Words people put in ?lang= mapped to our locales.
LANG_ALIASES = {
    "zh": "zh_Hans",
    "zh_hans": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh_cn": "zh_Hans",
    "en": "en",
}


def _asked_locale() -> str | None:
    """Return the locale named by ?lang=, if it is one we speak."""
    return LANG_ALIASES.get(request.args.get("lang", "").strip().lower())


def select_locale() -> str:
    """Pick the locale: ?lang=, then the cookie, then Simplified Chinese."""
    asked = _asked_locale()
    if asked:
        return asked
    cookie = request.cookies.get(LANG_COOKIE, "")
    return str(cookie) if cookie in ("zh_Hans", "en") else "zh_Hans"


def large_text() -> bool:
    """Return whether the person asked for large text (?size= or its cookie)."""
    asked = request.args.get("size")
    if asked in ("large", "normal"):
        return asked == "large"
    return request.cookies.get(SIZE_COOKIE) == "large"


def remember_choices(response: Response) -> Response:
    """Keep a ?lang= or ?size= choice in a cookie for the next pages."""
    asked = _asked_locale()
    if asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    size = request.args.get("size")
    if size in ("large", "normal"):
        response.set_cookie(SIZE_COOKIE, size, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response


def html_lang() -> str:
    """Return the BCP 47 tag for <html lang>."""
    return "en" if str(get_locale()).startswith("en") else "zh-Hans"


def format_day(day: date | str) -> str:
    """Format a date (or an ISO date string) as people of the locale write it.

    2026年12月26日 / December 26, 2026.
    """
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return str(format_date(day, format="long"))


def format_moment(moment: datetime) -> str:
    """Format a stored UTC time in the compounds' time zone, briefly."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str(format_datetime(moment, format="short"))


def init_app(app: Flask) -> None:
    """Register Flask-Babel and the template helpers."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale)
    app.after_request(remember_choices)
    app.add_template_filter(format_day, "format_day")
    app.add_template_filter(format_moment, "format_moment")

    @app.context_processor
    def _language_helpers() -> dict[str, object]:
        g.large_text = large_text()
        # The request's catalogue found once for the whole page: Flask-Babel's template
        # gettext looks it up again (through the request's context) on every string.
        translations = get_translations()
        return {
            "html_lang": html_lang,
            "large_text": g.large_text,
            "current_locale": lambda: str(get_locale()),
            "gettext": _make_new_gettext(translations.ugettext),
            "ngettext": _make_new_ngettext(translations.ungettext),
            "pgettext": _make_new_pgettext(translations.upgettext),
            "npgettext": _make_new_npgettext(translations.unpgettext),
        }
