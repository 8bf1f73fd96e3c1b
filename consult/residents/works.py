"""Works in progress as residents see them, with the photos."""

from consult.residents import bp  # noqa: F401
