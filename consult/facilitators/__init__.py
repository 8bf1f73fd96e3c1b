"""Facilitators' pages: their compounds, the menu, household codes and slips."""

from flask import Blueprint

bp = Blueprint("facilitators", __name__, url_prefix="/f")

from consult.facilitators import (  # noqa: E402, F401
    consent,
    coverage,
    paper,
    phases,
    plan,
    publish,
    routes,
    satisfaction,
    setup,
    works,
)
