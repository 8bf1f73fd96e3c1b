"""The published plan, and residents' comments and objections during its notice."""

from consult.residents import bp  # noqa: F401
