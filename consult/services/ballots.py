"""Storing a household's order: exactly once, replacing its earlier answer."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import and_, bindparam, insert, or_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from consult.models import Ballot, BallotItem, Channel, Household, Survey, Tenure
from consult.models._base import row_id, utcnow

#: Receipt and code alphabet: no 0/O, 1/I/L, so that a code read aloud survives.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 8

T = TypeVar("T")


class Outcome(StrEnum):
    """What a submission did."""

    CREATED = "created"
    REPLACED = "replaced"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Answers:
    """A household's answers, already validated against the survey."""

    approve: list[str]
    priorities: list[str] = field(default_factory=list)
    elderly: bool = False
    children: bool = False
    mobility: bool = False
    tenure: Tenure | None = None
    comment: str = ""


class VerifiedAnswerExists(Exception):
    """An unverified answer may not replace one cast with the household's code."""


@dataclass(frozen=True)
class Submitted:
    """The stored ballot and what the submission did."""

    ballot: Ballot
    outcome: Outcome


def new_receipt() -> str:
    """Return a fresh random receipt code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(RECEIPT_LENGTH))


def format_receipt(receipt: str) -> str:
    """Return the receipt as shown to people: two groups of four."""
    return f"{receipt[:4]}-{receipt[4:]}" if len(receipt) == RECEIPT_LENGTH else receipt


def content_key(form_key: str, household: Household, answers: Answers) -> str:
    """Return the key stored for a form's key together with what it said."""
    said = repr((household.id, answers))
    return hashlib.sha256(f"{form_key}|{said}".encode()).hexdigest()


#: Statements every submission runs, built once.
_TOUCH_HOUSEHOLD = (
    update(Household)
    .where(col(Household.id) == bindparam("household"))
    .values(id=Household.id)
    .execution_options(synchronize_session=False)
)
_LOCK_HOUSEHOLD = (
    select(Household.id).where(col(Household.id) == bindparam("household")).with_for_update()
)
#: A household's current ballots, found by the household's index (see _KEY_OR_CURRENT).
_CURRENT_BALLOTS = select(Ballot).where(
    col(Ballot.household_id) == bindparam("household"), col(Ballot.is_current)
)
#: The ballot under a key and the household's current ballots (of every survey: a
#: household has a few, and so each term has its own index, on SQLite too, whose planner
#: without statistics would otherwise walk the survey's every ballot).
_KEY_OR_CURRENT = select(Ballot).where(
    or_(
        col(Ballot.submission_key) == bindparam("key"),
        and_(col(Ballot.household_id) == bindparam("household"), col(Ballot.is_current)),
    )
)
_INSERT_ITEMS = insert(BallotItem)


def lock_household(session: Session, household: Household) -> None:
    """Make answers for one household queue here, each seeing the one stored before it.

    PostgreSQL locks the household's row. SQLite has no row locks: a no-op UPDATE opens
    the write transaction at once (pysqlite begins it at the first write), so the reads
    that follow see the latest answer and no other writer can slip in between.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(_TOUCH_HOUSEHOLD, {"household": household.id})
    else:
        session.exec(_LOCK_HOUSEHOLD, params={"household": household.id}).one()


def current_ballot(session: Session, survey: Survey, household: Household) -> Ballot | None:
    """Return the household's counted ballot in the survey, if any."""
    found = session.exec(_CURRENT_BALLOTS, params={"household": household.id})
    return next((ballot for ballot in found if ballot.survey_id == survey.id), None)


def submit_ballot(
    session: Session,
    *,
    survey: Survey,
    household: Household,
    answers: Answers,
    submission_key: str,
    channel: Channel = Channel.QR,
    verified: bool = False,
    entered_by: int | None = None,
) -> Submitted:
    """Store the answers as the household's current ballot; flush, do not commit.

    A key seen before returns the ballot stored then (a double tap or a retry).
    An earlier current ballot of the household is kept as history, not counted.
    """
    # The key a form carries stands for this answer: the same form sent again with other
    # answers (Back, change, send) is a new answer, not a repeat of the first.
    submission_key = content_key(submission_key, household, answers)
    lock_household(session, household)
    # One query for both: the ballot stored under this key, and the household's current one.
    found = session.exec(
        _KEY_OR_CURRENT,
        params={"key": submission_key, "household": household.id},
    ).all()
    stored = next((b for b in found if b.submission_key == submission_key), None)
    if stored is not None:
        return Submitted(stored, Outcome.DUPLICATE)
    previous = next(
        (
            b
            for b in found
            if b.is_current and b.survey_id == survey.id and b.household_id == household.id
        ),
        None,
    )
    if previous is not None and previous.verified and not verified:
        raise VerifiedAnswerExists(household.label)
    if previous is not None:
        previous.is_current = False
        previous.replaced_at = utcnow()
        session.add(previous)
        session.flush()
    ballot = Ballot(
        survey_id=row_id(survey.id),
        household_id=row_id(household.id),
        submission_key=submission_key,
        receipt=new_receipt(),
        channel=channel,
        verified=verified,
        entered_by=entered_by,
        elderly=answers.elderly,
        children=answers.children,
        mobility=answers.mobility,
        tenure=answers.tenure,
        comment=answers.comment,
    )
    session.add(ballot)
    session.flush()
    rank_of = {item: position for position, item in enumerate(answers.priorities, start=1)}
    # The items in one statement, past the ORM: nothing reads them back as objects here.
    # (A meeting's "against" may leave a household's ballot with none: nothing to insert.)
    if answers.approve:
        session.connection().execute(
            _INSERT_ITEMS,
            [
                {"ballot_id": ballot.id, "item_id": item, "rank": rank_of.get(item)}
                for item in answers.approve
            ],
        )
    return Submitted(ballot, Outcome.REPLACED if previous else Outcome.CREATED)


def normalize_receipt(text: str) -> str:
    """Return a typed receipt as stored: upper case, without dashes or spaces."""
    return text.replace("-", "").replace(" ", "").strip().upper()


def ballot_by_receipt(session: Session, receipt: str) -> Ballot | None:
    """Return the ballot with this receipt (typed with or without the dash), or None."""
    cleaned = normalize_receipt(receipt)
    if len(cleaned) != RECEIPT_LENGTH or any(c not in ALPHABET for c in cleaned):
        return None
    return session.exec(select(Ballot).where(Ballot.receipt == cleaned)).first()


def answers_of(session: Session, ballot: Ballot) -> Answers:
    """Return a stored ballot's answers (to show them, or to prefill the form)."""
    rows = session.exec(
        select(BallotItem.item_id, BallotItem.rank).where(BallotItem.ballot_id == ballot.id)
    ).all()
    ranked = sorted((rank, item) for item, rank in rows if rank is not None)
    return Answers(
        approve=[item for item, _ in rows],
        priorities=[item for _, item in ranked],
        elderly=ballot.elderly,
        children=ballot.children,
        mobility=ballot.mobility,
        tenure=Tenure(ballot.tenure) if ballot.tenure else None,
        comment=ballot.comment,
    )


def withdraw_ballot(session: Session, ballot: Ballot) -> bool:
    """Stop counting the ballot (kept as history); flush. False if it no longer counted."""
    if not ballot.is_current:
        return False
    ballot.is_current = False
    ballot.withdrawn_at = utcnow()
    session.add(ballot)
    session.flush()
    return True


def commit_with_retry(session: Session, work: Callable[[], T], attempts: int = 5) -> T:
    """Run work and commit; on a write conflict roll back and run it again.

    Two submissions racing for the same household (or the same key) collide on a
    unique index; the loser runs again and then sees the winner's row.
    """
    for attempt in range(attempts):
        try:
            result = work()
            session.commit()
            return result
        except (IntegrityError, OperationalError):
            session.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
