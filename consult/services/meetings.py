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
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from consult.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    Channel,
    Choice,
    Compound,
    Household,
    Meeting,
    MeetingStatus,
    Party,
    PhoneVote,
    Survey,
    SurveyMode,
    VoteState,
)
from consult.models._base import row_id, utcnow
from consult.services.ballots import (
    ALPHABET,
    Answers,
    answers_of,
    current_ballot,
    lock_household,
    submit_ballot,
)
from consult.services.surveys import why_closed

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


def open_vote(session: Session, meeting: Meeting, entry: AgendaItem) -> None:
    """Let signed-in households vote on the item from their phones; flush."""
    _require(meeting, MeetingStatus.IN_PROGRESS)
    if entry.vote != VoteState.NONE:
        raise MeetingError("vote_was_opened")
    entry.vote = VoteState.OPEN
    session.add(entry)
    session.flush()


def cast_vote(
    session: Session, meeting: Meeting, entry: AgendaItem, household: Household, choice: Choice
) -> PhoneVote:
    """Store one household's vote on an open item; flush. Raises on a second vote."""
    if entry.vote != VoteState.OPEN or meeting.status != MeetingStatus.IN_PROGRESS:
        raise MeetingError("vote_not_open")
    lock_household(session, household)  # a double tap waits here, then finds the first vote
    present = session.exec(
        select(Attendance.id).where(
            Attendance.meeting_id == meeting.id, Attendance.household_id == household.id
        )
    ).first()
    if present is None:
        raise MeetingError("not_signed_in")
    already = session.exec(
        select(PhoneVote.id).where(
            PhoneVote.agenda_item_id == entry.id, PhoneVote.household_id == household.id
        )
    ).first()
    if already is not None:
        raise MeetingError("voted_already")
    vote = PhoneVote(
        agenda_item_id=row_id(entry.id), household_id=row_id(household.id), choice=choice
    )
    session.add(vote)
    session.flush()
    return vote


def household_votes(session: Session, meeting: Meeting, household: Household) -> dict[int, str]:
    """Return the household's votes in the meeting, by agenda item id."""
    rows = session.exec(
        select(PhoneVote.agenda_item_id, PhoneVote.choice)
        .join(AgendaItem, col(AgendaItem.id) == PhoneVote.agenda_item_id)
        .where(AgendaItem.meeting_id == meeting.id, PhoneVote.household_id == household.id)
    ).all()
    return {agenda_id: str(choice) for agenda_id, choice in rows}


def vote_counts(session: Session, entry: AgendaItem) -> dict[str, int]:
    """Count the phone votes on an item."""
    counted = Counter(
        str(c)
        for c in session.exec(select(PhoneVote.choice).where(PhoneVote.agenda_item_id == entry.id))
    )
    return {str(choice): counted[str(choice)] for choice in Choice}


def close_vote(session: Session, meeting: Meeting, entry: AgendaItem, survey: Survey | None) -> int:
    """Freeze the votes; for a catalogue item, turn the votes *for* of households that have not
    answered the survey into meeting ballots. Returns how many ballots that made; flush."""
    if entry.vote != VoteState.OPEN:
        raise MeetingError("vote_not_open")
    entry.vote = VoteState.CLOSED
    session.add(entry)
    made = 0
    if entry.item_id and survey is not None and why_closed(survey) is None:
        for vote, household, verified in _votes_with_households(session, meeting, entry):
            ballot = current_ballot(session, survey, household)
            if vote.choice != Choice.FOR or (
                ballot is not None and ballot.channel != Channel.MEETING
            ):
                continue
            if ballot is not None and ballot.verified and not verified:
                continue  # an unverified vote never changes a verified answer
            approve = answers_of(session, ballot).approve if ballot else []
            if entry.item_id not in approve:
                submit_ballot(
                    session,
                    survey=survey,
                    household=household,
                    answers=Answers(approve=[*approve, entry.item_id]),
                    submission_key=f"meeting-{entry.id}-{household.id}",
                    channel=Channel.MEETING,
                    verified=verified,
                )
                made += 1
    session.flush()
    return made


def pending_changes(
    session: Session, meeting: Meeting, entry: AgendaItem, survey: Survey | None
) -> int:
    """Count the votes that would change an answered household's ballot if applied."""
    if not entry.item_id or survey is None or entry.applied_at is not None:
        return 0
    count = 0
    for vote, household, _ in _votes_with_households(session, meeting, entry):
        ballot = current_ballot(session, survey, household)
        if ballot is None or ballot.channel == Channel.MEETING:
            continue
        approved = entry.item_id in answers_of(session, ballot).approve
        count += (vote.choice == Choice.FOR and not approved) or (
            vote.choice == Choice.AGAINST and approved
        )
    return count


def apply_votes(session: Session, meeting: Meeting, entry: AgendaItem, survey: Survey) -> int:
    """Change answered households' ballots by their votes (for adds, against removes); flush."""
    if entry.vote != VoteState.CLOSED or not entry.item_id:
        raise MeetingError("vote_not_closed")
    if entry.applied_at is not None:
        raise MeetingError("applied_already")
    if why_closed(survey) is not None:
        raise MeetingError("survey_closed")
    changed = 0
    for vote, household, verified in _votes_with_households(session, meeting, entry):
        ballot = current_ballot(session, survey, household)
        if ballot is None or ballot.channel == Channel.MEETING or vote.choice == Choice.ABSTAIN:
            continue
        if ballot.verified and not verified:
            continue  # an unverified vote never changes a verified answer
        answers = answers_of(session, ballot)
        approve, priorities = list(answers.approve), list(answers.priorities)
        if vote.choice == Choice.FOR and entry.item_id not in approve:
            approve.append(entry.item_id)
        elif vote.choice == Choice.AGAINST and entry.item_id in approve:
            approve.remove(entry.item_id)
            priorities = [p for p in priorities if p != entry.item_id]
        else:
            continue
        submit_ballot(
            session,
            survey=survey,
            household=household,
            answers=replace(answers, approve=approve, priorities=priorities),
            submission_key=f"meeting-apply-{entry.id}-{household.id}",
            channel=Channel(ballot.channel),
            verified=ballot.verified,
            entered_by=ballot.entered_by,
        )
        changed += 1
    entry.applied_at = utcnow()
    session.add(entry)
    session.flush()
    return changed


def _votes_with_households(
    session: Session, meeting: Meeting, entry: AgendaItem
) -> list[tuple[PhoneVote, Household, bool]]:
    rows = session.exec(
        select(PhoneVote, Household, Attendance.verified)
        .join(Household, col(Household.id) == PhoneVote.household_id)
        .join(
            Attendance,
            (col(Attendance.household_id) == Household.id)
            & (col(Attendance.meeting_id) == meeting.id),
        )
        .where(PhoneVote.agenda_item_id == entry.id)
        .order_by(col(PhoneVote.id))
    ).all()
    return [(vote, household, bool(verified)) for vote, household, verified in rows]


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


def action_plan(session: Session, compound: Compound, today: date) -> list[PlannedAction]:
    """Return all the compound's action items, open ones first, by due date."""
    rows = session.exec(
        select(ActionItem, Meeting)
        .join(Meeting, col(Meeting.id) == ActionItem.meeting_id)
        .where(Meeting.compound_id == compound.id)
    ).all()
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


def meetings_input(session: Session, compound: Compound, offered: set[str]) -> list[dict[str, Any]]:
    """Return the compound's counted hands on catalogue items, as the tally's `meetings`."""
    meetings = session.exec(
        select(Meeting)
        .where(
            Meeting.compound_id == compound.id,
            col(Meeting.status).in_([MeetingStatus.CLOSED, MeetingStatus.PUBLISHED]),
        )
        .order_by(col(Meeting.starts_at))
    ).all()
    result = []
    for meeting in meetings:
        votes = [
            {
                "item": entry.item_id,
                "for": entry.hands_for or 0,
                "against": entry.hands_against or 0,
                "abstain": entry.hands_abstain or 0,
            }
            for entry in agenda(session, meeting)
            if entry.item_id in offered and entry.hands_for is not None
        ]
        if votes:
            result.append(
                {"id": meeting.code, "date": meeting.starts_at.date().isoformat(), "votes": votes}
            )
    return result


def compound_meetings(session: Session, compound: Compound) -> list[Meeting]:
    """Return the compound's meetings, newest first."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.compound_id == compound.id)
            .order_by(col(Meeting.starts_at).desc())
        ).all()
    )
