"""`consult seed-city`: the synthetic city's figures, its skews, its determinism, its tally."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlmodel import Session, col, select

from consult.catalog import load_catalog
from consult.city_cli import seed_city_command
from consult.db import create_schema, make_engine
from consult.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Ballot,
    BallotItem,
    Building,
    Compound,
    District,
    Household,
    Meeting,
    MeetingStatus,
    Survey,
    SurveyItem,
    SurveyStatus,
    Unit,
)
from consult.services.ballots import ALPHABET
from consult.services.city import seed_city
from consult.services.city_tally import city_menus
from consult.services.seed import DISTRICTS
from consult.services.tallies import compound_menu
from tests.conftest import SeededCity
from tests.test_city_tally import one_by_one
from tests.test_dashboards import check_rows_against_menus


def test_seed_city_makes_the_programme_city(seeded_city: SeededCity) -> None:
    # The shared city was made by `consult seed-city --seed 2026` (tests/conftest.py).
    output, app = seeded_city.output, seeded_city.app
    assert "466 compounds" in output and "49,011 households" in output
    engine = make_engine(seeded_city.url)
    with Session(engine) as session:
        _check_city(app, session)
    engine.dispose()


def _check_city(app: Flask, session: Session) -> None:

    def count(column: Any) -> int:
        return int(session.exec(select(func.count(column))).one())

    # Places: the programme's exact figures, realistic sizes.
    assert count(Compound.id) == 466
    assert {d.code for d in session.exec(select(District))} == {c for c, _ in DISTRICTS}
    assert count(Household.id) == 49_011
    sizes = Counter(session.exec(select(Household.compound_id)).all())
    buildings = Counter(session.exec(select(Building.compound_id)).all())
    assert len(sizes) == 466 and max(sizes.values()) >= 700
    assert min(buildings.values()) == 1 and max(buildings.values()) >= 15
    unit_floors = dict(
        session.exec(
            select(Household.unit_id, func.max(Household.floor)).group_by(col(Household.unit_id))
        ).all()
    )
    assert count(Unit.id) == len(unit_floors)
    floors = Counter(unit_floors.values())
    assert floors[6] > 0.6 * len(unit_floors) and set(floors) <= {1, 2, 3, 4, 5, 6, 7}
    elderly = session.exec(select(func.count()).where(col(Household.elderly))).one()
    assert 0.32 < elderly / 49_011 < 0.38  # the committee's register

    # One open needs survey per compound, offering the whole catalogue.
    catalog = {entry.id: entry for entry in load_catalog()}
    assert count(Survey.id) == 466
    assert set(session.exec(select(Survey.status)).all()) == {SurveyStatus.OPEN}
    assert count(SurveyItem.id) == 466 * len(catalog)

    # Ballots: about 80 % answered, one current each, receipts unique.
    ballots = session.exec(select(Ballot)).all()
    assert 0.78 < len(ballots) / 49_011 < 0.82
    assert all(b.is_current for b in ballots)
    assert len({b.household_id for b in ballots}) == len(ballots)
    receipts = {b.receipt for b in ballots}
    assert len(receipts) == len(ballots) and all(set(r) <= set(ALPHABET) for r in receipts)
    channels = Counter(str(b.channel) for b in ballots)
    assert channels["qr"] > 0.6 * len(ballots) and channels["paper"] and channels["invite"]
    assert all(b.verified == (b.channel != "qr") for b in ballots)

    # The skews: basic items most, elevators by upper floors, 一老一小 items by the elderly.
    floor_of = dict(session.exec(select(Household.id, Household.floor)).all())
    approved: dict[int, set[str]] = defaultdict(set)
    ranks: dict[int, list[int]] = defaultdict(list)
    for ballot_id, item_id, rank in session.exec(
        select(BallotItem.ballot_id, BallotItem.item_id, BallotItem.rank)
    ):
        approved[ballot_id].add(item_id)
        if rank is not None:
            ranks[ballot_id].append(rank)
    assert 5.5 < sum(map(len, approved.values())) / len(ballots) < 7
    assert 2.5 < sum(map(len, ranks.values())) / len(ballots) <= 3
    assert all(sorted(r) == list(range(1, len(r) + 1)) for r in ranks.values())
    share = Counter(item for items in approved.values() for item in items)

    def mean_share(category: str) -> float:
        ids = [i for i, entry in catalog.items() if entry.category == category]
        return sum(share[i] for i in ids) / len(ids) / len(ballots)

    assert mean_share("basic") > 1.5 * mean_share("enhancement")

    def rate(item: str, where: Any) -> float:
        group = [b for b in ballots if where(b)]
        return sum(item in approved[b.id or 0] for b in group) / len(group)

    low = rate("elevator_retrofit", lambda b: floor_of[b.household_id] <= 2)
    high = rate("elevator_retrofit", lambda b: floor_of[b.household_id] >= 4)
    assert high > 3 * low
    for entry in catalog.values():
        if entry.elderly_children and entry.id not in ("kindergarten", "childcare"):
            assert rate(entry.id, lambda b: b.elderly) > 1.3 * rate(
                entry.id, lambda b: not b.elderly
            )

    # Meetings in about one compound in four, hands counted, a few action items.
    meetings = session.exec(select(Meeting)).all()
    assert 100 <= len(meetings) <= 130
    assert {m.status for m in meetings} == {MeetingStatus.CLOSED, MeetingStatus.PUBLISHED}
    present = Counter(session.exec(select(Attendance.meeting_id)).all())
    agenda = session.exec(select(AgendaItem)).all()
    per_meeting = Counter(a.meeting_id for a in agenda)
    assert set(per_meeting.values()) <= {2, 3, 4} and len(per_meeting) == len(meetings)
    for point in agenda:
        counted = (point.hands_for, point.hands_against, point.hands_abstain)
        assert None not in counted and sum(h or 0 for h in counted) <= present[point.meeting_id]
    assert len(meetings) <= count(ActionItem.id) <= 3 * len(meetings)

    # The tally takes it: the biggest, the smallest and a meeting's compound.
    by_size = sorted(sizes, key=lambda cid: sizes[cid])
    for compound_id in (by_size[0], by_size[-1], meetings[0].compound_id):
        compound = session.get(Compound, compound_id)
        survey = session.exec(select(Survey).where(Survey.compound_id == compound_id)).one()
        assert compound is not None
        menu = compound_menu(session, compound, survey)
        answered = sum(1 for b in ballots if b.survey_id == survey.id)
        assert menu["responses"] == answered and menu["households"] == sizes[compound_id]
        assert len(menu["items"]) == len(catalog)
    hands = [e for e in menu["items"] if e.get("meeting", {}).get("for")]
    assert hands, "the meeting's hands are reported beside the survey"
    biggest = session.get(Compound, by_size[-1])
    assert biggest is not None
    assert app.test_client().get(f"/c/{biggest.code}/results").status_code == 200

    # A second run refuses: the city goes only into an empty database.
    again = app.test_cli_runner().invoke(seed_city_command, [])
    assert again.exit_code != 0 and "already has compounds" in again.output
    assert count(Compound.id) == 466


def _digest(url: str, seed: int | None = None) -> str:
    """A digest of every ballot's household, receipt, channel and choices (seeding first if asked)."""
    engine = make_engine(url)
    with Session(engine) as session:
        if seed is not None:
            create_schema(engine)
            seed_city(session, seed=seed, today=date(2026, 5, 1))
            session.commit()
        who = session.exec(
            select(Ballot, Household.label, Compound.code)
            .join(Household, col(Household.id) == Ballot.household_id)
            .join(Compound, col(Compound.id) == Household.compound_id)
        ).all()
        chosen: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
        for ballot_id, item, rank in session.exec(
            select(BallotItem.ballot_id, BallotItem.item_id, BallotItem.rank)
        ):
            chosen[ballot_id].append((item, rank))
    rows = sorted(
        (
            code,
            label,
            ballot.receipt,
            str(ballot.channel),
            sorted(item for item, _ in chosen[ballot.id or 0]),
            sorted((rank, item) for item, rank in chosen[ballot.id or 0] if rank is not None),
        )
        for ballot, label, code in who
    )
    engine.dispose()
    assert len(rows) > 30_000
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_seed_city_is_deterministic(seeded_city: SeededCity, tmp_path: Path) -> None:
    # A fresh SQLite database, the same seed on another day: the same ballots as the shared
    # city's (dates are counted back from the day; nothing else depends on it).
    if not seeded_city.url.startswith("sqlite"):
        pytest.skip("one comparison is enough: it runs against the SQLite city")
    assert _digest(f"sqlite:///{tmp_path / 'again.db'}", seed=2026) == _digest(seeded_city.url)


def test_the_seeded_city_tallied_at_once_equals_each_compound_alone(
    seeded_city: SeededCity,
) -> None:
    # Here rather than in test_city_tally.py, so that the tests of one seeded city run
    # together (the suite runs a file's tests in one process).
    engine = make_engine(seeded_city.url)
    with Session(engine) as session:
        menus = city_menus(session)
        assert len(menus) == 466
        assert menus == one_by_one(session)
        # The planners' city page orders every compound as these menus do (one aggregate).
        check_rows_against_menus(session, menus)
    engine.dispose()
