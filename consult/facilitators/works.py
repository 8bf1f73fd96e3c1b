"""Works in progress: each plan item's status, percentage, dated notes and photos."""

from consult.facilitators import bp  # noqa: F401
