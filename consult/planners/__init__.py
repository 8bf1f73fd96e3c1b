"""Planners' pages: the city, its districts and compounds compared, charts and exports."""

from flask import Blueprint

bp = Blueprint("planners", __name__, url_prefix="/p")

from consult.planners import assets, exports, routes, satisfaction, works  # noqa: E402, F401
