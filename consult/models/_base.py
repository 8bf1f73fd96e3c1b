"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, aware, in UTC (SQLModel stores aware datetimes)."""
    return datetime.now(UTC)
