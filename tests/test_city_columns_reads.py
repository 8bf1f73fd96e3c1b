"""Reading the city as columns: what another request commits meanwhile, and scopes."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlmodel import Session, select

from consult.models import Ballot
from consult.services import city_columns
from consult.services.ballots import Answers, submit_ballot
from consult.services.city_tally import city_tally
from tests.factories import create_compound, open_survey


@pytest.fixture
def city(session: Session) -> list[int]:
    """Two compounds with a survey and three ballots each; their ids."""
    ids = []
    for code in ("east", "west"):
        compound, households = create_compound(session, code=code, name=f"{code}小区")
        survey = open_survey(session, compound)
        for household, items in zip(
            households[:3],
            (["gas_pipeline"], ["gas_pipeline", "fire_safety"], ["fire_safety"]),
            strict=True,
        ):
            submit_ballot(
                session,
                survey=survey,
                household=household,
                answers=Answers(approve=items, priorities=items[:1]),
                submission_key=uuid.uuid4().hex,
            )
        session.commit()
        ids.append(int(compound.id or 0))
    return ids


def test_approvals_of_ballots_stored_after_the_ballots_were_read_are_left_out(
    session: Session, city: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approvals are read by a later statement: a ballot stored or replaced in between
    (an id past those read, or one between them no longer current) counts for nobody."""
    expected = city_tally(session).all_menus()
    read = city_columns._approvals

    def with_later_ballots(connection, ballots, code):  # type: ignore[no-untyped-def]
        ids, items, ranks = read(connection, ballots, code)
        later = np.array([0, int(ids.max()) + 1, int(ids.max()) + 500])
        unranked = np.full(3, city_columns.UNRANKED)
        gas, fire = code["gas_pipeline"], code["fire_safety"]
        return (
            np.concatenate([ids, later]),
            np.concatenate([items, [gas, fire, gas]]),
            np.concatenate([ranks, unranked]),
        )

    monkeypatch.setattr(city_columns, "_approvals", with_later_ballots)
    assert city_tally(session).all_menus() == expected


def test_a_tally_of_some_compounds_reads_only_theirs(session: Session, city: list[int]) -> None:
    whole = city_tally(session)
    assert sorted(whole) == ["east", "west"]
    west = city_tally(session, compound_ids=[city[1]])
    assert list(west) == ["west"]
    assert west["west"] == whole["west"]


def test_households_added_after_they_were_read_are_read_again(
    session: Session, city: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The households are read before the ballots: a ballot of a household added in
    between finds no building, and the households are read again for it."""
    expected = city_tally(session).all_menus()
    read = city_columns._households
    calls: list[int] = []
    answered = session.exec(select(Ballot.household_id)).first()

    def missing_one(connection, compound_ids):  # type: ignore[no-untyped-def]
        homes = read(connection, compound_ids)
        calls.append(1)
        if len(calls) > 1:
            return homes
        table = homes.building_of.copy()
        table[answered] = -1  # as if that household were not there yet
        return city_columns._Households(homes.counts, table)

    monkeypatch.setattr(city_columns, "_households", missing_one)
    assert city_tally(session).all_menus() == expected
    assert len(calls) == 2
