"""Owners' consent votes: setting a question, paper votes, closing and the result."""

from consult.facilitators import bp  # noqa: F401
