"""Rate limits on what can be guessed or flooded: submissions, codes, receipts, logins.

Memory storage by default (one process); set CONSULT_RATELIMIT_STORAGE_URI to a
Redis URL (redis://host:6379/0) so that several workers and nodes share counts.
"""

from __future__ import annotations

from flask import Flask, request
from flask.wrappers import Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)

#: Many residents share one address (a carrier's NAT, the committee's Wi-Fi): be generous.
SUBMIT_LIMIT = "60 per minute; 1000 per hour"
#: Failed household-code or receipt look-ups per address.
GUESS_LIMIT = "20 per minute; 200 per day"
#: Failed logins per address, and per username from any address.
LOGIN_LIMIT = "10 per minute; 100 per day"
LOGIN_USER_LIMIT = "10 per hour"


def failed(response: Response) -> bool:
    """Count only the attempts that found nothing (a guess, not a resident)."""
    return response.status_code in (400, 401, 404)


def login_username() -> str:
    """Key the per-user login limit by the username tried and the address trying it.

    Keyed by username alone, anybody could lock a facilitator out by failing ten times.
    """
    username = request.form.get("username", "").strip().lower()[:60]
    return f"login:{username}:{get_remote_address()}"


def init_app(app: Flask) -> None:
    """Bind the limiter to the app, storage from RATELIMIT_STORAGE_URI."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
