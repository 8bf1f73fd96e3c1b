"""The satisfaction survey (问效) as residents answer it."""

from consult.residents import bp  # noqa: F401
