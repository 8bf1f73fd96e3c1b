"""CSRF on every POST and the security headers on every response."""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask.wrappers import Response
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def security_headers(response: Response) -> Response:
    """Add the headers every response carries."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config["HTTPS"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def refuse_nul_characters() -> None:
    """Refuse input holding a NUL character: never meant by a person, refused by PostgreSQL."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method == "POST":
        values += [
            *request.form.keys(),
            *(v for k in request.form for v in request.form.getlist(k)),
        ]
    if any("\x00" in value for value in values):
        abort(400)


def init_app(app: Flask) -> None:
    """Protect every POST with a CSRF token and add the security headers."""
    app.before_request(refuse_nul_characters)
    csrf.init_app(app)
    app.after_request(security_headers)
