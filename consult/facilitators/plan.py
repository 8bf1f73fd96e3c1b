"""The renovation plan: drafting it from the menu, publishing it, answering comments."""

from consult.facilitators import bp  # noqa: F401
