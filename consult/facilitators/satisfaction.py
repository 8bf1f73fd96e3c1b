"""The satisfaction survey (问效): opening it and reading its results beside the needs."""

from consult.facilitators import bp  # noqa: F401
