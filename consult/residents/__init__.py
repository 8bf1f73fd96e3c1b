"""Residents' pages: the QR landing, the survey, the thank-you page, results, posters."""

from flask import Blueprint

bp = Blueprint("residents", __name__)

from consult.residents import consent, plan, routes, satisfaction, works  # noqa: E402, F401
