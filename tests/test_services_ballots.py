"""Storing ballots: exactly once per key, one current per household, even under races."""

from __future__ import annotations

import threading
import uuid

import pytest
from flask import Flask
from sqlalchemy import func
from sqlmodel import Session, select

from consult.models import Ballot, BallotItem, Household, Survey
from consult.services.ballots import (
    ALPHABET,
    Answers,
    Outcome,
    commit_with_retry,
    format_receipt,
    new_receipt,
    submit_ballot,
)
from tests.factories import create_compound, open_survey


@pytest.fixture
def place(session: Session) -> tuple[Survey, list[Household]]:
    compound, households = create_compound(session)
    return open_survey(session, compound), households


def store(app: Flask, survey_id: int, household_id: int, key: str, items: list[str]) -> Outcome:
    """Submit in a session of its own, committing with the retry rule, as a request does."""
    with Session(app.extensions["consult.engine"], expire_on_commit=False) as session:
        survey = session.get(Survey, survey_id)
        household = session.get(Household, household_id)
        assert survey is not None and household is not None
        result = commit_with_retry(
            session,
            lambda: submit_ballot(
                session,
                survey=survey,
                household=household,
                answers=Answers(approve=items, priorities=items[:1]),
                submission_key=key,
            ),
        )
        return result.outcome


def test_receipts_use_the_unambiguous_alphabet() -> None:
    receipts = {new_receipt() for _ in range(200)}
    assert len(receipts) == 200
    assert all(len(r) == 8 and set(r) <= set(ALPHABET) for r in receipts)
    assert not set("01OIL") & set(ALPHABET)
    assert format_receipt("ABCD2345") == "ABCD-2345"


def test_created_then_duplicate_then_replaced(
    app: Flask, place: tuple[Survey, list[Household]], session: Session
) -> None:
    survey, households = place
    key = uuid.uuid4().hex
    assert store(app, survey.id, households[0].id, key, ["gas_pipeline"]) == Outcome.CREATED
    assert store(app, survey.id, households[0].id, key, ["gas_pipeline"]) == Outcome.DUPLICATE
    assert store(app, survey.id, households[0].id, uuid.uuid4().hex, ["fire_safety"]) == (
        Outcome.REPLACED
    )
    rows = session.exec(select(Ballot).order_by(Ballot.id)).all()
    assert [b.is_current for b in rows] == [False, True]
    assert rows[0].replaced_at is not None
    ranks = session.exec(select(BallotItem.item_id, BallotItem.rank)).all()
    assert sorted(ranks) == [("fire_safety", 1), ("gas_pipeline", 1)]


def test_the_database_refuses_two_current_ballots_for_one_household(
    place: tuple[Survey, list[Household]], session: Session
) -> None:
    from sqlalchemy.exc import IntegrityError

    survey, households = place
    for n in range(2):
        session.add(
            Ballot(
                survey_id=survey.id,
                household_id=households[0].id,
                submission_key=f"k{n}",
                receipt=f"R{n}",
            )
        )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_concurrent_double_taps_store_exactly_one_ballot(
    app: Flask, place: tuple[Survey, list[Household]], session: Session
) -> None:
    survey, households = place
    key = uuid.uuid4().hex
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                store(app, survey.id, households[1].id, key, ["gas_pipeline"])
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == sorted([Outcome.CREATED] + [Outcome.DUPLICATE] * 7)
    assert session.exec(select(func.count()).select_from(Ballot)).one() == 1


def test_concurrent_answers_of_one_household_leave_one_current(
    app: Flask, place: tuple[Survey, list[Household]], session: Session
) -> None:
    survey, households = place
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                store(app, survey.id, households[2].id, uuid.uuid4().hex, ["fire_safety"])
            )
        )
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 12, "every acknowledged answer was stored"
    assert outcomes.count(Outcome.CREATED) == 1
    counts = session.exec(select(func.count()).select_from(Ballot).where(Ballot.is_current)).one()
    assert counts == 1
    assert session.exec(select(func.count()).select_from(Ballot)).one() == 12


def test_a_ballot_left_with_no_items_is_stored_without_any(
    session: Session, place: tuple[Survey, list[Household]]
) -> None:
    """A meeting's "against" may take a household's only item: the answer still counts."""
    survey, households = place
    first = submit_ballot(
        session,
        survey=survey,
        household=households[0],
        answers=Answers(approve=["gas_pipeline"], priorities=["gas_pipeline"]),
        submission_key=uuid.uuid4().hex,
    )
    session.commit()
    emptied = submit_ballot(
        session,
        survey=survey,
        household=households[0],
        answers=Answers(approve=[], priorities=[]),
        submission_key=uuid.uuid4().hex,
    )
    session.commit()
    assert emptied.outcome == Outcome.REPLACED
    assert emptied.ballot.is_current and not first.ballot.is_current
    items = session.exec(select(BallotItem).where(BallotItem.ballot_id == emptied.ballot.id))
    assert items.all() == []


def answer(session: Session, survey: Survey, home: Household, item: str) -> Ballot:
    """Submit one household's answer (not committed); return its ballot."""
    return submit_ballot(
        session,
        survey=survey,
        household=home,
        answers=Answers(approve=[item]),
        submission_key=uuid.uuid4().hex,
    ).ballot


def test_a_ballot_rolled_back_leaves_the_session_as_a_flushed_one_does(
    session: Session, place: tuple[Survey, list[Household]]
) -> None:
    """On PostgreSQL the ballot is inserted past the flush and joins the session as
    persistent; rolled back, it must leave the session as on SQLite, not stay with its
    row gone (reading it would then fail)."""
    survey, homes = place
    kept = answer(session, survey, homes[1], "gas_pipeline")
    session.commit()
    rolled_back = answer(session, survey, homes[0], "gas_pipeline")
    receipt = rolled_back.receipt
    session.rollback()
    assert rolled_back not in session
    assert rolled_back.receipt == receipt
    assert kept in session and kept.receipt  # committed before: untouched
    assert session.exec(select(func.count()).select_from(Ballot)).one() == 1
    # The same household answers again in a new transaction: stored once.
    again = answer(session, survey, homes[0], "water_supply")
    session.commit()
    assert again in session
    assert session.exec(select(func.count()).select_from(Ballot)).one() == 2


def test_a_savepoint_rolled_back_forgets_only_its_own_ballots(
    session: Session, place: tuple[Survey, list[Household]]
) -> None:
    survey, homes = place
    outer = answer(session, survey, homes[0], "gas_pipeline")
    savepoint = session.begin_nested()
    inner = answer(session, survey, homes[1], "gas_pipeline")
    savepoint.rollback()
    assert inner not in session
    assert outer in session and outer.receipt
    session.commit()
    assert session.exec(select(Ballot.household_id)).all() == [homes[0].id]
