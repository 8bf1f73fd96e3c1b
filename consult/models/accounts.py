"""Accounts of the people who run the platform; residents have none."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class Role(StrEnum):
    """What an account may do."""

    ADMIN = "admin"
    PLANNER = "planner"
    FACILITATOR = "facilitator"


class Account(SQLModel, table=True):
    """A facilitator's, planner's or admin's login."""

    id: int | None = Field(default=None, primary_key=True)
    #: Login name (lower case).
    username: str = Field(max_length=60, unique=True, index=True)
    #: argon2id hash of the password.
    password_hash: str = Field(max_length=255)
    #: admin / planner / facilitator.
    role: Role = Field(sa_type=String(20))
    #: Name shown in the audit log and on pages ("王主任").
    display_name: str = Field(default="", max_length=80)
    #: False once an admin switched the account off.
    active: bool = Field(default=True)
    #: When the account was created (UTC).
    created_at: datetime = Field(default_factory=utcnow)
    #: Last successful login (UTC).
    last_login_at: datetime | None = Field(default=None)

    # What Flask-Login asks of a user object.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Return the session's account key; a new password makes older sessions invalid."""
        return f"{self.id}:{self.password_hash[-16:]}"


class AccountScope(SQLModel, table=True):
    """A compound a facilitator runs, or a district a planner reads; a planner with none reads the city."""

    __table_args__ = (UniqueConstraint("account_id", "compound_id", "district_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The account.
    account_id: int = Field(foreign_key="account.id", index=True)
    #: A compound the facilitator runs.
    compound_id: int | None = Field(default=None, foreign_key="compound.id", index=True)
    #: A district the planner reads.
    district_id: int | None = Field(default=None, foreign_key="district.id")


class AuditEvent(SQLModel, table=True):
    """Who did what, when: every change, paper entry, publication and export by an account."""

    id: int | None = Field(default=None, primary_key=True)
    #: When (UTC).
    at: datetime = Field(default_factory=utcnow, index=True)
    #: The account that acted (None for the command line).
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    #: What was done, e.g. "codes.issue", "account.create", "login.failed".
    action: str = Field(max_length=60, index=True)
    #: What it was done to, e.g. "compound:dongzhuang".
    target: str = Field(default="", max_length=200)
    #: Details as JSON text (no codes, no passwords).
    detail: str = Field(default="{}", max_length=4000)
