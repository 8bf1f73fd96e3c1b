"""Small-stool meetings: the facilitator's console and the residents' phones."""

from flask import Blueprint

bp = Blueprint("meetings", __name__)

from consult.meetings import documents, residents, routes  # noqa: E402, F401
