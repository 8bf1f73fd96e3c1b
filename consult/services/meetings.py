"""Small-stool meetings: preparing, running and publishing them, and what they feed the tally.

The rule for phone votes (written in the README and on the meeting page): a vote
*for* a catalogue item by a signed-in household that has not answered the survey
becomes (part of) a ballot of channel `meeting` when the vote closes; for a
household that has answered, its votes change its ballot (for adds the item,
against removes it) only when the facilitator applies them. Hands counted in the
room are never merged into the survey: they are reported beside it.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from consult.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    Compound,
    Household,
    Meeting,
    MeetingStatus,
    Party,
    Survey,
    SurveyMode,
    VoteState,
)
from consult.models._base import row_id, utcnow
from consult.services.ballots import (
    ALPHABET,
    lock_household,
)

EDITABLE = (MeetingStatus.IN_PROGRESS, MeetingStatus.CLOSED)


class MeetingError(ValueError):
    """A step the meeting's state does not allow; `reason` is a key the pages translate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_meeting_code() -> str:
    """Return a fresh public code for a meeting's QR link."""
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


def meeting_by_code(session: Session, code: str) -> Meeting | None:
    """Return the meeting with this public code."""
    return session.exec(select(Meeting).where(Meeting.code == code.strip().upper()[:16])).first()


def create_meeting(
    session: Session,
    compound: Compound,
    *,
    title: str,
    starts_at: datetime,
    place: str,
    invited: list[Party],
) -> Meeting:
    """Plan a meeting; flush."""
    meeting = Meeting(
        compound_id=row_id(compound.id),
        code=new_meeting_code(),
        title=title.strip(),
        starts_at=starts_at,
        place=place.strip(),
        invited=" ".join(str(p) for p in invited),
    )
    session.add(meeting)
    session.flush()
    return meeting


def update_meeting(
    meeting: Meeting, *, title: str, starts_at: datetime, place: str, invited: list[Party]
) -> None:
    """Change a planned meeting's details."""
    _require(meeting, MeetingStatus.PLANNED)
    meeting.title, meeting.starts_at, meeting.place = title.strip(), starts_at, place.strip()
    meeting.invited = " ".join(str(p) for p in invited)


def invited_parties(meeting: Meeting) -> list[Party]:
    """Return the parties invited, in the 1+3+N order."""
    named = set(meeting.invited.split())
    return [party for party in Party if party in named]


def _require(meeting: Meeting, *states: MeetingStatus) -> None:
    if meeting.status in states:
        return
    if meeting.status == MeetingStatus.PUBLISHED:
        raise MeetingError("published")
    raise MeetingError("started" if states == (MeetingStatus.PLANNED,) else "wrong_state")


def agenda(session: Session, meeting: Meeting) -> list[AgendaItem]:
    """Return the agenda in order."""
    return list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(col(AgendaItem.position), col(AgendaItem.id))
        ).all()
    )


def add_agenda_item(
    session: Session, meeting: Meeting, *, item_id: str | None, topic: str
) -> AgendaItem:
    """Add a catalogue item or a free topic at the end of the agenda; flush."""
    _require(meeting, MeetingStatus.PLANNED)
    if not item_id and not topic.strip():
        raise MeetingError("empty_item")
    items = agenda(session, meeting)
    entry = AgendaItem(
        meeting_id=row_id(meeting.id),
        position=(items[-1].position + 1) if items else 1,
        item_id=item_id or None,
        topic=topic.strip(),
    )
    session.add(entry)
    session.flush()
    return entry


def move_agenda_item(session: Session, meeting: Meeting, entry: AgendaItem, step: int) -> None:
    """Move an item up (-1) or down (+1) the agenda; flush."""
    _require(meeting, MeetingStatus.PLANNED)
    items = agenda(session, meeting)
    index = next(i for i, e in enumerate(items) if e.id == entry.id)
    other = index + step
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, item in enumerate(items, start=1):
        item.position = position
        session.add(item)
    session.flush()


def remove_agenda_item(session: Session, meeting: Meeting, entry: AgendaItem) -> None:
    """Take an item off the agenda; flush."""
    _require(meeting, MeetingStatus.PLANNED)
    session.delete(entry)
    session.flush()


def edit_agenda_topic(meeting: Meeting, entry: AgendaItem, topic: str) -> None:
    """Reword an agenda item before the meeting starts."""
    _require(meeting, MeetingStatus.PLANNED)
    if not entry.item_id and not topic.strip():
        raise MeetingError("empty_item")
    entry.topic = topic.strip()


def set_status(
    session: Session, meeting: Meeting, status: MeetingStatus, survey: Survey | None
) -> None:
    """Start, close, publish or reopen a meeting; flush."""
    allowed = {
        MeetingStatus.IN_PROGRESS: (MeetingStatus.PLANNED,),
        MeetingStatus.CLOSED: (MeetingStatus.IN_PROGRESS, MeetingStatus.PUBLISHED),
        MeetingStatus.PUBLISHED: (MeetingStatus.CLOSED,),
    }
    if meeting.status not in allowed.get(status, ()):
        raise MeetingError("wrong_state")
    if status == MeetingStatus.CLOSED and meeting.status == MeetingStatus.IN_PROGRESS:
        from consult.services.meeting_votes import close_vote  # votes build on this module

        for entry in agenda(session, meeting):
            if entry.vote == VoteState.OPEN:
                close_vote(session, meeting, entry, survey)
    meeting.status = status
    if status == MeetingStatus.PUBLISHED:
        meeting.published_at = utcnow()
    session.add(meeting)
    session.flush()


# -- attendance --------------------------------------------------------------------------------


def sign_in(
    session: Session,
    meeting: Meeting,
    household: Household,
    *,
    verified: bool,
    mode: SurveyMode | None = None,
) -> Attendance:
    """Sign a household in (once) while the meeting runs; flush.

    A household that has been given a code signs in with it (unless the survey is run by
    open link only), as it answers the survey: nobody can sign in and vote in its name.
    """
    if meeting.status == MeetingStatus.PLANNED:
        raise MeetingError("signin_not_yet")
    if meeting.status != MeetingStatus.IN_PROGRESS:
        raise MeetingError("signin_closed")
    if not verified and household.code_hash is not None and mode != SurveyMode.OPEN:
        raise MeetingError("code_needed")
    lock_household(session, household)
    present = session.exec(
        select(Attendance).where(
            Attendance.meeting_id == meeting.id, Attendance.household_id == household.id
        )
    ).first()
    if present is not None:
        if verified and not present.verified:
            present.verified = True
            session.add(present)
        return present
    attendance = Attendance(
        meeting_id=row_id(meeting.id),
        household_id=household.id,
        party=Party.RESIDENTS,
        by_phone=True,
        verified=verified,
    )
    session.add(attendance)
    session.flush()
    return attendance


def add_attendees(session: Session, meeting: Meeting, party: Party, count: int) -> None:
    """Add people without phones by hand, by party; flush."""
    _require(meeting, MeetingStatus.PLANNED, MeetingStatus.IN_PROGRESS)
    if not 1 <= count <= 500:
        raise MeetingError("bad_count")
    for _ in range(count):
        session.add(Attendance(meeting_id=row_id(meeting.id), party=party))
    session.flush()


def attendance_by_party(session: Session, meeting: Meeting) -> dict[str, int]:
    """Count the people present per party (1+3+N order)."""
    counted = Counter(
        str(p)
        for p in session.exec(select(Attendance.party).where(Attendance.meeting_id == meeting.id))
    )
    return {str(party): counted[str(party)] for party in Party if counted[str(party)]}


# -- hands, phone votes, decisions -------------------------------------------------------------


def record_item(
    session: Session,
    meeting: Meeting,
    entry: AgendaItem,
    *,
    hands: tuple[int | None, int | None, int | None],
    notes: str,
    decision: str,
) -> None:
    """Record the hands counted, the notes and the decision of an agenda item; flush."""
    _require(meeting, *EDITABLE)
    if any(h is not None and h < 0 for h in hands):
        raise MeetingError("negative_hands")
    present = sum(attendance_by_party(session, meeting).values())
    if sum(h or 0 for h in hands) > present:
        raise MeetingError("more_hands_than_people")
    entry.hands_for, entry.hands_against, entry.hands_abstain = hands
    entry.notes, entry.decision = notes.strip()[:2000], decision.strip()[:500]
    session.add(entry)
    session.flush()


# -- action plan and the tally -----------------------------------------------------------------


def add_action(
    session: Session,
    meeting: Meeting,
    *,
    what: str,
    owner: Party,
    due_on: date | None,
    agenda_item_id: int | None,
) -> ActionItem:
    """Add an action item; flush."""
    _require(meeting, *EDITABLE)
    if not what.strip():
        raise MeetingError("empty_action")
    action = ActionItem(
        meeting_id=row_id(meeting.id),
        agenda_item_id=agenda_item_id,
        what=what.strip()[:300],
        owner=owner,
        due_on=due_on,
    )
    session.add(action)
    session.flush()
    return action


@dataclass(frozen=True)
class PlannedAction:
    """An action item with its meeting, and whether it is overdue."""

    action: ActionItem
    meeting: Meeting
    overdue: bool


_ACTIONS = (
    select(ActionItem, Meeting)
    .join(Meeting, col(Meeting.id) == ActionItem.meeting_id)
    .where(col(Meeting.compound_id) == bindparam("compound"))
)


def action_plan(session: Session, compound: Compound, today: date) -> list[PlannedAction]:
    """Return all the compound's action items, open ones first, by due date."""
    rows = session.exec(_ACTIONS, params={"compound": compound.id}).all()
    plan = [
        PlannedAction(
            action,
            meeting,
            bool(action.due_on and action.due_on < today and action.status != ActionStatus.DONE),
        )
        for action, meeting in rows
    ]
    plan.sort(
        key=lambda p: (
            p.action.status == ActionStatus.DONE,
            p.action.due_on or date.max,
            p.action.id or 0,
        )
    )
    return plan


def compound_meetings(session: Session, compound: Compound) -> list[Meeting]:
    """Return the compound's meetings, newest first."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.compound_id == compound.id)
            .order_by(col(Meeting.starts_at).desc())
        ).all()
    )
