"""Satisfaction across the city: compounds ranked, items with low satisfaction flagged."""

from consult.planners import bp  # noqa: F401
