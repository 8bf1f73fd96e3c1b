"""After the needs survey: the plan and its public notice, owners' consent, works, satisfaction.

One module for the tables of the renovation cycle that follow the survey
(see models/phases.py for the phases themselves):

- `Plan`, `PlanItem`, `PlanComment`: the renovation plan drafted from the menu,
  published for a notice period (公示) during which each household may comment
  or object once, and the facilitator answers.
- `ProgressNote`, `ProgressPhoto`: dated progress of a plan item during works.
- `ConsentVote`, `ConsentBallot`: a question put to the owners of a scope
  (业主表决), one vote per household with its floor area.
- `SatisfactionAnswer`, `SatisfactionRating`: the satisfaction survey (问效),
  asked through a `Survey` whose phase is `satisfaction`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class Scope(StrEnum):
    """What part of a compound a plan item or a consent vote concerns."""

    COMPOUND = "compound"
    BUILDING = "building"
    UNIT = "unit"


class WorkStatus(StrEnum):
    """Where the works on a plan item stand."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class Plan(SQLModel, table=True):
    """A compound's renovation plan; drafted, then published for its notice period."""

    id: int | None = Field(default=None, primary_key=True)
    #: The compound (one plan per compound; a new version is the same plan republished).
    compound_id: int = Field(foreign_key="compound.id", unique=True, index=True)
    #: 0 while a draft never published, then 1, 2... for each publication.
    version: int = Field(default=0)
    #: A short introduction in the facilitator's words.
    summary: str = Field(default="", max_length=2000)
    #: How residents object or comment besides this site (who, where, when).
    contact: str = Field(default="", max_length=1000)
    #: When it was last published (None: never).
    published_at: datetime | None = Field(default=None)
    #: The account that last published it.
    published_by: int | None = Field(default=None, foreign_key="account.id")
    #: The last day of the public notice for comments and objections (local date).
    notice_until: date | None = Field(default=None)
    #: How the menu decided what it supports when drafted: "budget" (the budget's
    #: selection) or "majority" (approved by more than half of the answers); "" never drafted.
    menu_rule: str = Field(default="", max_length=20)
    #: The answers the menu counted when the plan was last drafted from it.
    menu_responses: int | None = Field(default=None)
    #: When the plan was last drafted from the menu (UTC).
    drafted_at: datetime | None = Field(default=None)
    #: The plan as last published (what residents read): summary, contact, items.
    published: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Created / last edited (UTC).
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PlanItem(SQLModel, table=True):
    """One line of a plan: an item chosen (or, with a reason, left out), and its works."""

    id: int | None = Field(default=None, primary_key=True)
    #: The plan.
    plan_id: int = Field(foreign_key="plan.id", index=True)
    #: The catalogue item (None for an item written in by the facilitator).
    item_id: str | None = Field(default=None, foreign_key="catalogitem.id", max_length=60)
    #: The name shown (the catalogue's name when from the catalogue).
    title: str = Field(max_length=160)
    #: basic / improvement / enhancement.
    category: str = Field(max_length=20)
    #: True when the plan does it; False for an item left out (with the reason why).
    included: bool = Field(default=True)
    #: compound / building / unit.
    scope: Scope = Field(default=Scope.COMPOUND, sa_type=String(20))
    #: The building, when the scope is a building or a unit.
    building_id: int | None = Field(default=None, foreign_key="building.id")
    #: The unit, when the scope is a unit.
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    #: Estimated cost in yuan.
    cost: int | None = Field(default=None)
    #: Planned first and last day of the works.
    starts_on: date | None = Field(default=None)
    ends_on: date | None = Field(default=None)
    #: The menu supported it when the plan was drafted (budget selection or majority).
    supported: bool = Field(default=False)
    #: Its rank, approvals and support (share of answers) on the menu when drafted.
    menu_rank: int | None = Field(default=None)
    menu_approvals: int | None = Field(default=None)
    menu_support: float | None = Field(default=None)
    #: Why it is in the plan though the menu did not support it, or why it is left out.
    reason: str = Field(default="", max_length=500)
    #: Order in the plan.
    position: int = Field(default=0)
    #: Works: not_started / in_progress / done / dropped.
    status: WorkStatus = Field(default=WorkStatus.NOT_STARTED, sa_type=String(20))
    #: Works: how far along, 0-100.
    percent: int = Field(default=0)
    #: Works: the day the item was finished (for "late" and for the satisfaction survey).
    done_on: date | None = Field(default=None)
    #: Last change (UTC).
    updated_at: datetime = Field(default_factory=utcnow)


class CommentKind(StrEnum):
    """A household's entry on a published plan."""

    COMMENT = "comment"
    OBJECTION = "objection"


class PlanComment(SQLModel, table=True):
    """A household's comment or objection on a plan during its notice; one per household."""

    __table_args__ = (UniqueConstraint("plan_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The plan.
    plan_id: int = Field(foreign_key="plan.id", index=True)
    #: The household (one entry each; sending again replaces the text).
    household_id: int = Field(foreign_key="household.id", index=True)
    #: The plan item it refers to (None: the plan as a whole).
    plan_item_id: int | None = Field(default=None, foreign_key="planitem.id")
    #: comment / objection.
    kind: CommentKind = Field(default=CommentKind.COMMENT, sa_type=String(20))
    #: In the household's own words.
    text: str = Field(max_length=1000)
    #: True when sent with the household's code.
    verified: bool = Field(default=False)
    #: Idempotency key of the form that sent it.
    submission_key: str = Field(max_length=64, unique=True)
    #: The facilitator's answer ("" until answered), published with the plan.
    answer: str = Field(default="", max_length=1000)
    answered_at: datetime | None = Field(default=None)
    answered_by: int | None = Field(default=None, foreign_key="account.id")
    #: Sent / last changed (UTC).
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProgressNote(SQLModel, table=True):
    """A dated note on the works of a plan item, optionally with photos."""

    id: int | None = Field(default=None, primary_key=True)
    #: The plan item.
    plan_item_id: int = Field(foreign_key="planitem.id", index=True)
    #: The day it describes (local date).
    noted_on: date
    #: What happened.
    text: str = Field(default="", max_length=1000)
    #: The status and percentage the item had after this note.
    status: WorkStatus = Field(default=WorkStatus.IN_PROGRESS, sa_type=String(20))
    percent: int = Field(default=0)
    #: Who wrote it, and when (UTC).
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow)
    #: Idempotency key of the form that sent it (a second tap on Save adds nothing).
    submission_key: str | None = Field(default=None, max_length=64, unique=True)


class ProgressPhoto(SQLModel, table=True):
    """A photo of a progress note: re-encoded JPEG, size-limited, no location metadata."""

    id: int | None = Field(default=None, primary_key=True)
    #: The note.
    note_id: int = Field(foreign_key="progressnote.id", index=True)
    #: The JPEG bytes as stored (metadata stripped when it was re-encoded).
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    #: Its size in pixels.
    width: int
    height: int
    #: A small JPEG of it for the residents' page (light on a weak signal).
    thumb: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class ConsentStatus(StrEnum):
    """Where a consent vote stands."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ConsentVote(SQLModel, table=True):
    """One question put to the owners of a scope (业主表决)."""

    id: int | None = Field(default=None, primary_key=True)
    #: The compound.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: The question, as owners read it.
    question: str = Field(max_length=500)
    #: Explanation (what is decided, the cost, who pays).
    details: str = Field(default="", max_length=2000)
    #: ordinary / major / elevator (see consult/consent.py).
    kind: str = Field(max_length=20)
    #: compound / building / unit.
    scope: Scope = Field(default=Scope.COMPOUND, sa_type=String(20))
    building_id: int | None = Field(default=None, foreign_key="building.id")
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    #: draft / open / closed.
    status: ConsentStatus = Field(default=ConsentStatus.DRAFT, sa_type=String(20))
    #: Voting days (local dates).
    opens_on: date | None = Field(default=None)
    closes_on: date | None = Field(default=None)
    #: The tally as decided when the vote closed (figures and the rule used), for the record.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = Field(default=None)


class ConsentBallot(SQLModel, table=True):
    """One owner's (household's) vote on a consent question; one per household."""

    __table_args__ = (UniqueConstraint("vote_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="consentvote.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    #: for / against / abstain.
    choice: str = Field(max_length=20)
    #: The household's floor area when it voted (m²), None if unknown.
    area: float | None = Field(default=None)
    #: "code" (by household code) or "paper" (entered by a facilitator).
    channel: str = Field(max_length=20)
    #: The account that entered a paper vote.
    entered_by: int | None = Field(default=None, foreign_key="account.id")
    #: Idempotency key of the form that cast or last corrected it (a resent form is no new vote).
    submission_key: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SatisfactionAnswer(SQLModel, table=True):
    """A household's answer to a satisfaction survey (问效); one per household and survey."""

    __table_args__ = (UniqueConstraint("survey_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The survey (phase "satisfaction").
    survey_id: int = Field(foreign_key="survey.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    #: 1 (very dissatisfied) to 5 (very satisfied); None: not answered.
    overall: int | None = Field(default=None)
    #: The construction process (noise, safety, tidiness, schedule).
    process: int | None = Field(default=None)
    #: Long-term management after the works.
    management: int | None = Field(default=None)
    #: Free text in the household's own words.
    comment: str = Field(default="", max_length=500)
    #: qr / invite / paper (see Channel); True when a code or facilitator vouched for it.
    channel: str = Field(default="qr", max_length=20)
    verified: bool = Field(default=False)
    #: Idempotency key of the form that sent it (the latest).
    submission_key: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SatisfactionRating(SQLModel, table=True):
    """An answer's 1-5 score for one done plan item."""

    __table_args__ = (UniqueConstraint("answer_id", "plan_item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="satisfactionanswer.id", index=True)
    plan_item_id: int = Field(foreign_key="planitem.id", index=True)
    score: int
