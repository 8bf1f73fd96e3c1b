"""Translated names of the codes stored in the database, for templates."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from consult.models import Survey

NAMES = {
    "role": {
        "admin": _l("Administrator"),
        "planner": _l("Planner"),
        "facilitator": _l("Facilitator"),
    },
    "mode": {
        "open": _l("with the compound's QR link only"),
        "codes": _l("with their household code only"),
        "both": _l("with the QR link or their household code"),
    },
    "method": {
        "approval": _l("by approvals"),
        "borda": _l("by priority points (Borda)"),
        "schulze": _l("by pairwise comparison (Schulze)"),
    },
    "channel": {
        "qr": _l("QR link"),
        "invite": _l("household code"),
        "paper": _l("paper"),
        "meeting": _l("meeting"),
    },
    "status": {
        "draft": _l("draft"),
        "open": _l("open"),
        "closed": _l("closed"),
    },
}


def name_of(kind: str, code: object) -> str:
    """Return the translated name of a stored code (the code itself if unknown)."""
    return str(NAMES[kind].get(str(code), code))


def survey_status(survey: Survey) -> str:
    """Return the survey's status as people say it."""
    return name_of("status", survey.status)


def init_app(app: Flask) -> None:
    """Make the names available in every template."""
    app.add_template_global(lambda code: name_of("role", code), "role_name")
    app.add_template_global(lambda code: name_of("mode", code), "mode_name")
    app.add_template_global(lambda code: name_of("method", code), "method_name")
    app.add_template_global(lambda code: name_of("channel", code), "channel_name")
    app.add_template_global(survey_status, "survey_status")
