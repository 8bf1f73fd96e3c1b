"""Ballots (点单): one current answer per household and survey, history kept."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class Channel(StrEnum):
    """How a ballot reached the platform."""

    QR = "qr"
    INVITE = "invite"
    PAPER = "paper"
    MEETING = "meeting"


class Tenure(StrEnum):
    """Whether the household owns or rents its home."""

    OWNER = "owner"
    TENANT = "tenant"


class Ballot(SQLModel, table=True):
    """A household's order from the menu; replaced answers stay, not current."""

    __table_args__ = (
        # At most one current ballot per household and survey, enforced by the database
        # so that two concurrent submissions cannot both count.
        Index(
            "ux_ballot_current",
            "survey_id",
            "household_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The survey answered.
    survey_id: int = Field(foreign_key="survey.id", index=True)
    #: The household answering.
    household_id: int = Field(foreign_key="household.id", index=True)
    #: Idempotency key sent with the form: a retry or double tap finds this row.
    submission_key: str = Field(max_length=64, unique=True)
    #: Short code shown to the household on the thank-you page.
    receipt: str = Field(max_length=16, unique=True, index=True)
    #: qr / invite / paper / meeting.
    channel: Channel = Field(default=Channel.QR, sa_type=String(20))
    #: True when a household code or a facilitator vouched for the ballot.
    verified: bool = Field(default=False)
    #: Whether this is the household's counted answer.
    is_current: bool = Field(default=True)
    #: When it was submitted (UTC).
    created_at: datetime = Field(default_factory=utcnow)
    #: When a newer answer replaced it (UTC).
    replaced_at: datetime | None = Field(default=None)
    #: When the household withdrew it (UTC).
    withdrawn_at: datetime | None = Field(default=None)
    #: The account that entered it (paper questionnaires, meetings).
    entered_by: int | None = Field(default=None, foreign_key="account.id")
    #: Someone in the household is 60 or older.
    elderly: bool = Field(default=False)
    #: A child under 12 lives there.
    children: bool = Field(default=False)
    #: Someone has limited mobility.
    mobility: bool = Field(default=False)
    #: owner / tenant, if said.
    tenure: Tenure | None = Field(default=None, sa_type=String(20))
    #: "Anything else", in the household's own words.
    comment: str = Field(default="", max_length=500)


class BallotItem(SQLModel, table=True):
    """An item a ballot approves, with its priority if ranked."""

    id: int | None = Field(default=None, primary_key=True)
    #: The ballot.
    ballot_id: int = Field(foreign_key="ballot.id", index=True)
    #: The catalogue item approved.
    item_id: str = Field(foreign_key="catalogitem.id", max_length=60)
    #: 1 for the top priority, 2, 3 ...; None when approved but not ranked.
    rank: int | None = Field(default=None)
