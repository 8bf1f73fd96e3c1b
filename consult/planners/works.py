"""Late works across the city."""

from consult.planners import bp  # noqa: F401
