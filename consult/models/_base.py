"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (SQLModel stores aware datetimes)."""
    return datetime.now(UTC)


def row_id(value: int | None) -> int:
    """Return a flushed row's id (ids are None only before the first flush)."""
    assert value is not None, "flush the row before using its id"
    return value
