"""Storing a household's order: exactly once, replacing its earlier answer."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import Integer, String, and_, bindparam, event, func, insert, or_, true, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient, make_transient_to_detached
from sqlmodel import Session, col, select

from consult.models import Ballot, BallotItem, Channel, Compound, Household, Survey, Tenure
from consult.models._base import row_id, utcnow
from consult.services import places

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
#: PostgreSQL: a ballot and its items in one statement (one round trip, not two): the
#: ballot's row, then its items in the order given, the ballot's new id returned.
_BALLOT_COLUMNS = [column for column in Ballot.__table__.columns if column.key != "id"]  # type: ignore[attr-defined]
_NEW_BALLOT = (
    insert(Ballot)
    .values({column.key: bindparam(column.key, type_=column.type) for column in _BALLOT_COLUMNS})
    .returning(col(Ballot.id))
    .cte("new_ballot")
)
_NEW_ITEMS = (
    func.unnest(bindparam("items", type_=ARRAY(String)), bindparam("ranks", type_=ARRAY(Integer)))
    .table_valued("item_id", "rank", with_ordinality="position")
    .render_derived("new_item")
)
_INSERT_BALLOT_AND_ITEMS = sql_select(_NEW_BALLOT.c.id).add_cte(
    insert(BallotItem)
    .from_select(
        ["ballot_id", "item_id", "rank"],
        sql_select(_NEW_BALLOT.c.id, _NEW_ITEMS.c.item_id, _NEW_ITEMS.c.rank)
        .select_from(_NEW_BALLOT.join(_NEW_ITEMS, true()))
        .order_by(_NEW_ITEMS.c.position),
    )
    .returning(col(BallotItem.ballot_id))
    .cte("new_items")
)
#: Where the lock of `lock_household` is noted: (transaction, household id).
_LOCKED = "consult.locked_household"


def _innermost(session: Session) -> object | None:
    """The transaction (or savepoint, whose rollback releases its locks) now open."""
    return session.get_nested_transaction() or session.get_transaction()


def _note_locked(session: Session, household_id: int | None) -> None:
    session.info[_LOCKED] = (_innermost(session), household_id)


def _holds_lock(session: Session, household: Household) -> bool:
    """Whether this transaction locked the household already (a rollback forgets it)."""
    noted = session.info.get(_LOCKED)
    transaction = _innermost(session)
    return (
        noted is not None
        and transaction is not None
        and noted[0] is transaction
        and noted[1] == household.id
    )


def find_and_lock_household(
    session: Session, compound: Compound, building: str, unit: str, room: str
) -> Household | None:
    """Return the household at building-unit-room of the compound, locked on PostgreSQL.

    PostgreSQL finds and locks it in one statement (`SELECT ... FOR UPDATE`), so that
    `submit_ballot` need not lock it again in this transaction. SQLite only finds it:
    there the lock opens the write transaction, which `lock_household` does later.
    """
    if session.get_bind().dialect.name == "sqlite":
        return places.find_household(session, compound, building, unit, room)
    found = places.find_household(session, compound, building, unit, room, lock=True)
    if found is not None:
        _note_locked(session, found.id)
    return found


def lock_household(session: Session, household: Household) -> None:
    """Make answers for one household queue here, each seeing the one stored before it.

    PostgreSQL locks the household's row. SQLite has no row locks: a no-op UPDATE opens
    the write transaction at once (pysqlite begins it at the first write), so the reads
    that follow see the latest answer and no other writer can slip in between.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(_TOUCH_HOUSEHOLD, {"household": household.id})
        return
    if _holds_lock(session, household):  # found with its lock (find_and_lock_household)
        return
    session.exec(_LOCK_HOUSEHOLD, params={"household": household.id}).one()
    _note_locked(session, household.id)


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
    rank_of = {item: position for position, item in enumerate(answers.priorities, start=1)}
    if session.get_bind().dialect.name == "postgresql":
        _insert_with_items(session, ballot, answers.approve, rank_of)
        return Submitted(ballot, Outcome.REPLACED if previous else Outcome.CREATED)
    session.add(ballot)
    session.flush()
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


def _insert_with_items(
    session: Session, ballot: Ballot, approve: list[str], rank_of: dict[str, int]
) -> None:
    """Insert a new ballot and its items in one statement; the ballot joins the session.

    The ballot's every column is set here (no server defaults), so once its new id is
    known it is exactly the stored row: it joins the session as persistent, as a flush
    would have left it. Items are not read back as objects, as on the other path.
    """
    params: dict[str, object] = {
        column.key: getattr(ballot, column.key) for column in _BALLOT_COLUMNS
    }
    params["items"] = approve
    params["ranks"] = [rank_of.get(item) for item in approve]
    ballot.id = session.connection().execute(_INSERT_BALLOT_AND_ITEMS, params).scalar_one()
    make_transient_to_detached(ballot)
    session.add(ballot)
    # A flushed new object leaves the session if its transaction is rolled back; one
    # joined as persistent would stay, its row gone: noted, to leave alike (below).
    session.info.setdefault(_INSERTED, []).append((_innermost(session), ballot))


#: Ballots inserted past the flush in a transaction not yet committed: (transaction, ballot).
_INSERTED = "consult.inserted_ballots"


@event.listens_for(OrmSession, "after_rollback")
def _forget_inserted(session: OrmSession) -> None:
    """Make the ballots inserted in the transaction rolled back transient, as a flush's
    are (here, before the session expires what it holds)."""
    inserted = session.info.get(_INSERTED)
    if not inserted:
        return
    kept = []
    for transaction, ballot in inserted:
        if transaction is not None and transaction.is_active:
            kept.append((transaction, ballot))
            continue
        if ballot in session:
            session.expunge(ballot)
        make_transient(ballot)
    session.info[_INSERTED] = kept


@event.listens_for(OrmSession, "after_commit")
def _inserted_committed(session: OrmSession) -> None:
    session.info.pop(_INSERTED, None)


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
