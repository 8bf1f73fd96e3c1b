"""Surveys: a compound asks its households, in a phase, over a set of items."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel


class SurveyPhase(StrEnum):
    """What a survey asks: needs before renovation, satisfaction after."""

    NEEDS = "needs"
    SATISFACTION = "satisfaction"


class SurveyStatus(StrEnum):
    """Lifecycle of a survey."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class SurveyMode(StrEnum):
    """How households reach the survey."""

    #: Anyone with the compound's QR link, choosing building, unit and room.
    OPEN = "open"
    #: Only with the household's own code (每户一码).
    CODES = "codes"
    #: Either; ballots cast with a code are marked verified.
    BOTH = "both"


class Survey(SQLModel, table=True):
    """A survey of one compound."""

    id: int | None = Field(default=None, primary_key=True)
    #: The compound asked.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: needs / satisfaction.
    phase: SurveyPhase = Field(default=SurveyPhase.NEEDS, sa_type=String(20))
    #: draft / open / closed.
    status: SurveyStatus = Field(default=SurveyStatus.DRAFT, sa_type=String(20))
    #: First day answers are taken (local date), if set.
    opens_on: date | None = Field(default=None)
    #: Last day answers are taken (local date), if set.
    closes_on: date | None = Field(default=None)
    #: How many priorities a household may rank.
    rank_depth: int = Field(default=3)
    #: open link only, household codes only, or both.
    mode: SurveyMode = Field(default=SurveyMode.OPEN, sa_type=String(20))


class SurveyItem(SQLModel, table=True):
    """A catalogue item offered by a survey, in the order the form shows it."""

    __table_args__ = (UniqueConstraint("survey_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The survey offering the item.
    survey_id: int = Field(foreign_key="survey.id", index=True)
    #: The catalogue item.
    item_id: str = Field(foreign_key="catalogitem.id", max_length=60)
    #: Order on the form.
    position: int = Field(default=0)
