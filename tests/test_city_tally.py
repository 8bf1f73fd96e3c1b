"""The city's menus read at once equal each compound's menu read on its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

import consult.tally as engine
from consult.models import (
    AgendaItem,
    BallotItem,
    CatalogItem,
    Compound,
    Household,
    Meeting,
    MeetingStatus,
    Survey,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
)
from consult.services import city_columns
from consult.services.ballots import Answers, submit_ballot
from consult.services.city_tally import city_menus, city_tally
from consult.services.surveys import current_survey, offer_items, offered_items
from consult.services.tallies import compound_menu
from tests.factories import create_compound, open_survey


def one_by_one(session: Session, method: str = "approval") -> dict[str, dict[str, object]]:
    """Every compound's menu by `compound_menu`, for those with a current needs survey."""
    menus = {}
    for compound in session.exec(select(Compound)).all():
        survey = current_survey(session, compound)
        if survey is not None:
            menus[compound.code] = compound_menu(session, compound, survey, method=method)
    return menus


def answer(
    session: Session,
    survey: Survey,
    household: Household,
    approve: list[str],
    priorities: list[str] | None = None,
    *,
    verified: bool = False,
    elderly: bool = False,
) -> None:
    submit_ballot(
        session,
        survey=survey,
        household=household,
        answers=Answers(approve=approve, priorities=priorities or [], elderly=elderly),
        submission_key=uuid.uuid4().hex,
        verified=verified,
    )
    session.commit()


def meeting(
    session: Session,
    compound: Compound,
    status: MeetingStatus,
    day: int,
    hands: list[tuple[str | None, int | None]],
) -> None:
    """A meeting with hands counted (for, against 1, abstaining 0) on these agenda items."""
    row = Meeting(
        compound_id=compound.id or 0,
        code=uuid.uuid4().hex[:8],
        title="议事",
        starts_at=datetime(2026, 4, day, 9, tzinfo=UTC),
        status=status,
    )
    session.add(row)
    session.flush()
    for position, (item, yes) in zip(range(len(hands), 0, -1), hands, strict=True):  # not id order
        session.add(
            AgendaItem(
                meeting_id=row.id or 0,
                position=position,
                item_id=item,
                topic="" if item else "养宠物怎么管",
                hands_for=yes,
                hands_against=None if yes is None else 1,
                hands_abstain=None if yes is None else 0,
            )
        )
    session.commit()


def small_city(session: Session) -> None:
    """Compounds covering every case the city's reading must get right."""
    priced = session.get(CatalogItem, "parking")
    assert priced is not None
    priced.cost = 250_000
    session.add(priced)
    session.commit()

    # Ballots with ranks, one answer replaced, an item later taken off the menu, meetings.
    alpha, homes = create_compound(session, "alpha", "alpha小区", units=(2, 2, 1), floors=4)
    alpha.budget = 300_000  # the selection is attached alike
    session.add(alpha)
    survey = open_survey(session, alpha)
    answer(session, survey, homes[0], ["parking", "gas_pipeline"], ["gas_pipeline"], elderly=True)
    answer(session, survey, homes[1], ["fire_safety", "parking", "water_supply"], ["parking"])
    answer(
        session, survey, homes[1], ["water_supply", "fire_safety"], ["fire_safety", "water_supply"]
    )
    answer(session, survey, homes[2], ["elevator_retrofit"])
    answer(session, survey, homes[9], ["gas_pipeline", "parking"], verified=True)
    offer_items(
        session, survey, [i for i in offered_items(session, survey) if i.id != "fire_safety"]
    )
    session.commit()
    meeting(
        session, alpha, MeetingStatus.CLOSED, 3, [("parking", 9), (None, 4), ("fire_safety", 2)]
    )
    meeting(
        session,
        alpha,
        MeetingStatus.PUBLISHED,
        1,
        [("gas_pipeline", 5), ("parking", 3), ("water_supply", None)],
    )
    meeting(session, alpha, MeetingStatus.PLANNED, 2, [("parking", 30)])
    # A satisfaction survey after the needs survey: the needs survey is still the one.
    session.add(
        Survey(compound_id=alpha.id or 0, phase=SurveyPhase.SATISFACTION, status=SurveyStatus.OPEN)
    )
    session.commit()

    # Household codes only: the menu counts verified ballots.
    beta, homes = create_compound(session, "beta", "beta小区")
    survey = open_survey(session, beta)
    survey.mode = SurveyMode.CODES
    session.add(survey)
    session.commit()
    answer(session, survey, homes[0], ["parking"], verified=True)
    answer(session, survey, homes[1], ["gas_pipeline"])

    # An older survey's ballots do not count in the newer one's menu.
    gamma, homes = create_compound(session, "gamma", "gamma小区")
    old = open_survey(session, gamma, status=SurveyStatus.CLOSED)
    answer(session, old, homes[0], ["parking"])
    answer(session, open_survey(session, gamma), homes[1], ["water_supply"], ["water_supply"])

    # A draft only, no survey at all, an open survey nobody answered.
    delta, _ = create_compound(session, "delta", "delta小区")
    open_survey(session, delta, status=SurveyStatus.DRAFT)
    create_compound(session, "epsilon", "epsilon小区")
    zeta, _ = create_compound(session, "zeta", "zeta小区")
    open_survey(session, zeta)


def test_a_small_city_every_case(session: Session) -> None:
    small_city(session)
    expected = one_by_one(session)
    assert sorted(expected) == ["alpha", "beta", "gamma", "zeta"]
    assert city_menus(session) == expected
    assert dict(city_tally(session)) == expected
    assert city_menus(session, method="schulze") == one_by_one(session, "schulze")


def test_the_city_read_row_by_row_when_an_item_id_holds_the_separator(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Item ids hold "_": joined by it, they no longer split back into as many ids.
    small_city(session)
    expected = one_by_one(session)
    monkeypatch.setattr(city_columns, "ITEM_SEPARATOR", "_")
    assert dict(city_tally(session)) == expected
    assert city_menus(session, method="borda") == one_by_one(session, "borda")


def test_a_faulty_ballot_in_the_database_is_named_as_the_compound_menu_names_it(
    session: Session,
) -> None:
    small_city(session)
    compound, homes = create_compound(session, "eta", "eta小区")
    survey = open_survey(session, compound)
    answer(session, survey, homes[3], ["parking", "gas_pipeline"], ["gas_pipeline", "parking"])
    answer(session, survey, homes[4], ["parking"], ["parking"])
    survey.rank_depth = 1  # lowered after the answers: one ballot now ranks too many
    session.add(survey)
    session.commit()
    with pytest.raises(engine.TallyInputError) as alone:
        compound_menu(session, compound, survey)
    with pytest.raises(engine.TallyInputError) as at_once:
        city_tally(session)
    expected = (alone.value.field, alone.value.household, alone.value.compound)
    assert expected == ("rank", homes[3].label, "eta")
    assert (at_once.value.field, at_once.value.household, at_once.value.compound) == expected


def test_ranks_are_ordered_as_stored_whatever_their_numbers(session: Session) -> None:
    small_city(session)
    for item in session.exec(select(BallotItem).where(BallotItem.rank == 1)).all():
        item.rank = 70_000  # now last: the menu's priorities follow the stored order
        session.add(item)
    session.commit()
    assert dict(city_tally(session)) == one_by_one(session)


def test_the_city_read_as_text_when_the_catalogue_hashes_cannot_be_told_apart(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL packs each approval in one number by its item's hash; without a small
    # number of bits telling the catalogue's hashes apart, the ids are read as text.
    small_city(session)
    expected = one_by_one(session)
    monkeypatch.setattr(city_columns, "_slot_bits", lambda hashes: None)
    assert dict(city_tally(session)) == expected


def test_slot_bits_are_the_fewest_telling_the_hashes_apart() -> None:
    assert city_columns._slot_bits((5,)) == 1
    assert city_columns._slot_bits((0, 1, 2, 3)) == 2
    assert city_columns._slot_bits((0, 4, -8)) == 4  # 0, 4 and -8 share their low 2 bits
    assert city_columns._slot_bits((0, 1 << 16, 1 << 17)) is None  # the same low 16 bits
