"""The renovation cycle of a compound: the phase it is in, and each phase's dates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class Phase(StrEnum):
    """The phases of a renovation, in order (问需 → 公示 → 表决 → 施工 → 问效 → 长效管理)."""

    NEEDS = "needs"
    PLAN = "plan"
    NOTICE = "notice"
    CONSENT = "consent"
    WORKS = "works"
    EVALUATION = "evaluation"
    MAINTAINED = "maintained"


#: The phases in the order a compound goes through them.
PHASES: tuple[Phase, ...] = tuple(Phase)


class PhaseDates(SQLModel, table=True):
    """When a compound's phase starts and ends (planned, then as it happened)."""

    __table_args__ = (UniqueConstraint("compound_id", "phase"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The compound.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: The phase.
    phase: Phase = Field(sa_type=String(20))
    #: The first day of the phase (None: not set).
    starts_on: date | None = Field(default=None)
    #: The last day of the phase (None: not set).
    ends_on: date | None = Field(default=None)
    #: When the compound entered the phase (None: not yet, or not recorded).
    entered_at: datetime | None = Field(default=None)
    #: Last change.
    updated_at: datetime = Field(default_factory=utcnow)
