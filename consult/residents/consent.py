"""Owners' consent: voting by household code, and the public result."""

from consult.residents import bp  # noqa: F401
