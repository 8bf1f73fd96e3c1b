"""Small-stool meetings (小马扎议事会): agenda, attendance, hands, phone votes, action items."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from consult.models._base import utcnow


class MeetingStatus(StrEnum):
    """Where a meeting stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    PUBLISHED = "published"


class Party(StrEnum):
    """The parties of the 1+3+N mechanism."""

    PARTY_ORGANISATION = "party_organisation"
    RESIDENTS_COMMITTEE = "residents_committee"
    OWNERS_COMMITTEE = "owners_committee"
    PROPERTY_COMPANY = "property_company"
    RESIDENTS = "residents"
    SOCIAL_ORGANISATIONS = "social_organisations"
    VOLUNTEERS = "volunteers"
    PARTY_MEMBERS = "party_members"


class VoteState(StrEnum):
    """Phone voting on an agenda item."""

    NONE = "none"
    OPEN = "open"
    CLOSED = "closed"


class Choice(StrEnum):
    """A hand or a phone vote."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class ActionStatus(StrEnum):
    """Progress of an action item."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Meeting(SQLModel, table=True):
    """A meeting of one compound."""

    id: int | None = Field(default=None, primary_key=True)
    #: The compound meeting.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: Short public code in the meeting's QR link /m/<code>.
    code: str = Field(max_length=16, unique=True, index=True)
    #: What the meeting is about.
    title: str = Field(max_length=120)
    #: When it starts (UTC).
    starts_at: datetime
    #: Where the stools stand.
    place: str = Field(default="", max_length=120)
    #: Parties invited, as space-separated Party values.
    invited: str = Field(default="", max_length=400)
    #: planned / in_progress / closed / published.
    status: MeetingStatus = Field(default=MeetingStatus.PLANNED, sa_type=String(20))
    #: When the minutes were (last) published (UTC).
    published_at: datetime | None = Field(default=None)


class AgendaItem(SQLModel, table=True):
    """A point of the agenda: a catalogue item, or a free topic."""

    id: int | None = Field(default=None, primary_key=True)
    #: The meeting.
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    #: Order on the agenda.
    position: int = Field(default=0)
    #: The catalogue item discussed, if any.
    item_id: str | None = Field(default=None, foreign_key="catalogitem.id", max_length=60)
    #: The topic in words ("how do we manage pets?"); for catalogue items, optional.
    topic: str = Field(default="", max_length=200)
    #: Hands counted for, against, abstaining (None until counted).
    hands_for: int | None = Field(default=None)
    hands_against: int | None = Field(default=None)
    hands_abstain: int | None = Field(default=None)
    #: Notes of the discussion.
    notes: str = Field(default="", max_length=2000)
    #: The decision, in one or two sentences.
    decision: str = Field(default="", max_length=500)
    #: Phone voting: none / open / closed.
    vote: VoteState = Field(default=VoteState.NONE, sa_type=String(20))
    #: Phone votes were applied to the households' ballots.
    applied_at: datetime | None = Field(default=None)


class Attendance(SQLModel, table=True):
    """Someone at the meeting: a signed-in household, or a person added by hand."""

    __table_args__ = (UniqueConstraint("meeting_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The meeting.
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    #: The household, when known.
    household_id: int | None = Field(default=None, foreign_key="household.id")
    #: Which of the 1+3+N parties.
    party: Party = Field(default=Party.RESIDENTS, sa_type=String(30))
    #: Signed in by phone (with a household code: verified), or added by the facilitator.
    by_phone: bool = Field(default=False)
    #: Signed in with the household's code.
    verified: bool = Field(default=False)
    #: When (UTC).
    at: datetime = Field(default_factory=utcnow)


class PhoneVote(SQLModel, table=True):
    """One household's vote on one agenda item: once."""

    __table_args__ = (UniqueConstraint("agenda_item_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The agenda item.
    agenda_item_id: int = Field(foreign_key="agendaitem.id", index=True)
    #: The household voting.
    household_id: int = Field(foreign_key="household.id")
    #: for / against / abstain.
    choice: Choice = Field(sa_type=String(10))
    #: When (UTC).
    at: datetime = Field(default_factory=utcnow)


class ActionItem(SQLModel, table=True):
    """Something to do, by a party, by a date: the compound's action plan."""

    id: int | None = Field(default=None, primary_key=True)
    #: The meeting that agreed it.
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    #: The agenda item (decision) it comes from, if any.
    agenda_item_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    #: What is to be done.
    what: str = Field(max_length=300)
    #: Which party owns it.
    owner: Party = Field(sa_type=String(30))
    #: By when.
    due_on: date | None = Field(default=None)
    #: open / in_progress / done.
    status: ActionStatus = Field(default=ActionStatus.OPEN, sa_type=String(20))
