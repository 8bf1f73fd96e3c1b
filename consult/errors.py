"""Error pages: translated, plain, never a traceback."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


def _message(code: int) -> tuple[str, str]:
    """Return the title and the explanation for an HTTP status."""
    messages = {
        400: (_("This request could not be understood"), _("Please go back and try again.")),
        404: (
            _("Page not found"),
            _("Check the link or scan the QR code on the poster again."),
        ),
        405: (_("This action is not allowed here"), _("Please go back and try again.")),
        413: (_("What you sent is too large"), _("Please shorten it and try again.")),
        429: (_("Too many attempts"), _("Please wait a minute and try again.")),
    }
    return messages.get(
        code,
        (
            _("Something went wrong on our side"),
            _("Your answer was not lost if you saw a receipt. Please try again in a moment."),
        ),
    )


def csrf_message() -> str:
    """Explain a refused CSRF token."""
    return str(
        _(
            "The form had expired or did not come from this site. Nothing was saved. "
            "Please go back, reload the page and send it again."
        )
    )


def render_error(code: int, detail: str | None = None) -> tuple[str, int]:
    """Render the error page for the status, with an optional detail."""
    title, explanation = _message(code)
    return render_template(
        "errors/error.html", code=code, title=title, explanation=detail or explanation
    ), code


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(400, csrf_message())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        return render_error(code if code < 500 else 500)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error", exc_info=error)
        return render_error(InternalServerError.code)
