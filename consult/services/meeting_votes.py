"""Phone votes at a meeting: open, cast once per household, close, apply to answers.

The rule (README, and the meeting console): a vote *for* a catalogue item by a signed-in
household that has not answered the survey becomes (part of) a ballot of channel `meeting`
when the vote closes; for a household that has answered, its votes change its ballot (for
adds the item, against removes it) only when the facilitator applies them. An unverified
vote never changes a verified answer, and a closed survey takes none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlmodel import Session, col, select

from consult.models import (
    AgendaItem,
    Attendance,
    Channel,
    Choice,
    Household,
    Meeting,
    MeetingStatus,
    PhoneVote,
    Survey,
    VoteState,
)
from consult.models._base import row_id, utcnow
from consult.services.ballots import (
    Answers,
    answers_of,
    current_ballot,
    lock_household,
    submit_ballot,
)
from consult.services.meetings import MeetingError, _require
from consult.services.surveys import why_closed


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
