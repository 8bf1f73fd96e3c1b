"""A survey submission's round trips to the database: few, and each one counted here.

On PostgreSQL each statement is a round trip that costs about as much as a whole
SQLite statement, so the open link's submission reads what it must in as few
statements as it can (see consult/residents/routes.py and services/ballots.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlmodel import Session, select

from consult.models import Ballot, BallotItem, Survey, SurveyStatus
from consult.services import ballots, surveys
from tests.conftest import hidden_fields
from tests.factories import create_compound, open_survey


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Collect the statements the app's engine sends (and the commits) meanwhile."""
    engine = app.extensions["consult.engine"]
    statements: list[str] = []

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        statements.append(text.split(None, 1)[0].upper())

    def commit(_conn: Any) -> None:
        statements.append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


ANSWER = {
    "building": "1",
    "unit": "2",
    "room": "301",
    "approve": ["roof_waterproofing", "elevator_retrofit", "internal_roads"],
    "priority": ["elevator_retrofit", ""],
}


def open_form(session: Session, client: FlaskClient) -> dict[str, str]:
    """Open a survey in a new compound; return its open-link form's hidden fields."""
    compound, _ = create_compound(session)
    open_survey(session, compound)
    return hidden_fields(client.get("/c/testyard/survey").get_data(as_text=True))


def test_an_open_link_submission_takes_few_round_trips(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    fields = open_form(session, client)
    with counted(app) as statements:
        response = client.post("/c/testyard/survey", data={**fields, **ANSWER})
    assert response.status_code == 303
    if session.get_bind().dialect.name == "postgresql":
        # The compound with its survey and offered ids; the household with its lock; the
        # key or current ballot; the ballot with its items. (Before: nine, with COMMIT.)
        assert statements == ["SELECT", "SELECT", "SELECT", "WITH", "COMMIT"]
    else:
        # SQLite's lock is the no-op UPDATE that opens the write transaction.
        assert statements == ["SELECT", "SELECT", "UPDATE", "SELECT", "INSERT", "INSERT", "COMMIT"]
    [ballot] = session.exec(select(Ballot)).all()
    assert response.headers["Location"].endswith(f"/thanks/{ballot.receipt}")
    items = session.exec(select(BallotItem).where(BallotItem.ballot_id == ballot.id)).all()
    assert {i.item_id: i.rank for i in items} == {
        "roof_waterproofing": None,
        "elevator_retrofit": 1,
        "internal_roads": None,
    }


def test_a_form_error_still_shows_the_whole_menu(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    fields = open_form(session, client)
    response = client.post("/c/testyard/survey", data={**fields, **ANSWER, "approve": ["nope"]})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert html.count('name="approve"') == 53
    assert session.exec(select(Ballot)).all() == []


def test_the_compound_and_survey_read_as_one_match_the_separate_reads(
    session: Session,
) -> None:
    compound, _ = create_compound(session)
    assert surveys.compound_and_survey(session, "nowhere") is None
    alone = surveys.compound_and_survey(session, "testyard")
    assert alone is not None and alone.compound.id == compound.id
    assert alone.survey is None and alone.offered == frozenset()
    first = open_survey(session, compound, status=SurveyStatus.CLOSED)
    second = open_survey(session, compound)
    session.add(Survey(compound_id=compound.id, status=SurveyStatus.DRAFT))  # type: ignore[arg-type]
    session.commit()
    found = surveys.compound_and_survey(session, "testyard")
    assert found is not None and found.survey is not None
    assert found.survey.id == second.id != first.id
    assert found.survey.id == (surveys.current_survey(session, compound) or first).id
    assert found.offered == {item.id for item in surveys.offered_menu(session, second)}
    assert len(found.offered) == 53


def test_a_household_found_with_its_lock_is_locked_again_after_a_rollback(
    app: Flask, session: Session
) -> None:
    compound, households = create_compound(session)
    household = ballots.find_and_lock_household(session, compound, "1", "2", "301")
    assert household is not None and household.id in {h.id for h in households}
    postgres = session.get_bind().dialect.name == "postgresql"
    # PostgreSQL locked it in the same statement; SQLite locks when storing.
    assert ballots._holds_lock(session, household) is postgres
    session.rollback()  # a retry runs in a new transaction: the lock is gone
    assert not ballots._holds_lock(session, household)
    session.refresh(household)  # (the rollback expired it)
    with counted(app) as statements:
        ballots.lock_household(session, household)
        ballots.lock_household(session, household)  # once per transaction
    assert statements == (["SELECT"] if postgres else ["UPDATE", "UPDATE"])
    session.rollback()
