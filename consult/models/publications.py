"""Published results (公示): what residents read, frozen when the facilitator publishes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class Publication(SQLModel, table=True):
    """One published version of a compound's results; the latest is the one shown."""

    __table_args__ = (UniqueConstraint("compound_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The compound whose results these are.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: The needs survey tallied.
    survey_id: int = Field(foreign_key="survey.id")
    #: 1 for the first publication, then 2, 3... for updated versions.
    version: int
    #: When it was published.
    published_at: datetime = Field(default_factory=utcnow)
    #: The account that published it.
    published_by: int | None = Field(default=None, foreign_key="account.id")
    #: How residents object or comment (who, where, how), in the facilitator's words.
    contact: str = Field(default="", max_length=1000)
    #: The last day of the notice period for objections and comments.
    comments_until: date | None = Field(default=None)
    #: The frozen public figures: see `consult.services.publications.snapshot`.
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
