"""The planners' figures: every compound's leading items and the city's demand, checked."""

from __future__ import annotations

from sqlmodel import Session, select

import consult.tally as engine
from consult.models import CatalogItem, Compound
from consult.services import dashboards
from consult.services.surveys import current_survey
from consult.services.tallies import ballots_document
from tests.factories import create_compound, open_survey
from tests.test_city_tally import answer, one_by_one, small_city


def leading(menu: dict[str, object], k: int = dashboards.TOP) -> list[str]:
    """The menu's first k items that some household approves."""
    return [item["id"] for item in menu["items"] if item["approvals"]][:k]  # type: ignore[attr-defined, index]


def check_rows_against_menus(
    session: Session, menus: dict[str, dict[str, object]] | None = None
) -> None:
    """The city page's leading items and counts equal each compound's menu (test_city_tally
    runs this on the seeded city with the menus it has already proven)."""
    menus = one_by_one(session) if menus is None else menus
    compounds = list(session.exec(select(Compound).order_by(Compound.code)).all())
    rows = dashboards.compound_rows(session, compounds)
    assert [row.code for row in rows] == [compound.code for compound in compounds]
    for row in rows:
        menu = menus.get(row.code)
        if menu is None:
            assert row.top == [] and row.ballots == 0
        else:
            assert row.top == leading(menu), row.code
            assert row.ballots == menu["responses"], row.code
            assert row.households == menu["households"], row.code


def test_leading_items_equal_the_menus_in_every_case(session: Session) -> None:
    # Ranks shifted by an item taken off the menu, codes-only counting, old surveys,
    # drafts, compounds without survey: the aggregate order is the tally's order.
    small_city(session)
    check_rows_against_menus(session)
    rows = {
        row.code: row
        for row in dashboards.compound_rows(session, session.exec(select(Compound)).all())
    }
    assert rows["alpha"].survey_stage == "open" and rows["alpha"].phase == "needs"
    assert rows["delta"].survey_stage == "none"  # a draft is not a current needs survey
    assert rows["epsilon"].survey_stage == "none"
    assert rows["beta"].ballots == 1  # codes only: the unverified ballot does not count
    assert rows["alpha"].budget == 300_000


def test_ties_in_approvals_are_broken_by_priority_points_then_id(session: Session) -> None:
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    answer(session, survey, homes[0], ["parking", "water_supply"], ["water_supply"])
    answer(session, survey, homes[1], ["parking", "water_supply", "gas_pipeline"], ["parking"])
    answer(session, survey, homes[2], ["gas_pipeline", "drainage_sewer"])
    answer(session, survey, homes[3], ["drainage_sewer", "water_supply"], ["drainage_sewer"])
    # water_supply 3; parking, gas_pipeline, drainage_sewer 2 each; points: parking 3,
    # drainage_sewer 3, gas_pipeline 0: drainage_sewer before parking by id.
    (row,) = dashboards.compound_rows(session, [compound])
    assert row.top == ["water_supply", "drainage_sewer", "parking", "gas_pipeline"]
    check_rows_against_menus(session)


def test_city_demand_hand_counted(session: Session) -> None:
    priced = session.get(CatalogItem, "parking")
    assert priced is not None
    priced.cost = 200_000
    session.add(priced)
    session.commit()
    one, homes_one = create_compound(session, "one", "一号小区")
    survey = open_survey(session, one)
    answer(session, survey, homes_one[0], ["parking", "water_supply"], elderly=True)
    answer(session, survey, homes_one[1], ["parking"])
    answer(session, survey, homes_one[2], ["water_supply"], elderly=True)
    two, homes_two = create_compound(session, "two", "二号小区")
    survey = open_survey(session, two)
    answer(session, survey, homes_two[0], ["parking"], elderly=True)
    three, _ = create_compound(session, "three", "三号小区")  # no survey: not counted

    demand = {d.id: d for d in dashboards.city_demand(session, [one, two, three])}
    parking = demand["parking"]
    assert (parking.offered, parking.top, parking.approvals, parking.ballots) == (2, 2, 3, 4)
    assert (parking.elderly_ballots, parking.elderly_approvals) == (3, 2)
    assert parking.share == 3 / 4 and parking.elderly_share == 2 / 3
    assert parking.cost == 200_000 and parking.money == 400_000  # top 5 in both compounds
    water = demand["water_supply"]
    assert (water.top, water.approvals, water.elderly_approvals) == (1, 2, 2)
    assert water.money is None  # no cost estimate
    assert demand["gas_pipeline"].top == 0 and demand["gas_pipeline"].approvals == 0
    ordered = dashboards.city_demand(session, [one, two])
    assert [d.id for d in ordered[:2]] == ["parking", "water_supply"]
    # Only the compounds asked about are counted (a district planner's view).
    only_two = {d.id: d for d in dashboards.city_demand(session, [two])}
    assert only_two["parking"].approvals == 1 and only_two["water_supply"].approvals == 0


def test_segments_and_category_mix(session: Session) -> None:
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    answer(session, survey, homes[0], ["parking", "water_supply"], elderly=True)
    answer(session, survey, homes[1], ["parking"])
    answer(session, survey, homes[2], ["elevator_retrofit", "parking"])
    document = ballots_document(session, compound, survey)
    menu = engine.tally(document)
    segments = dashboards.segment_support(document, menu, verified_only=False)
    assert (segments.elderly, segments.children, segments.others) == (1, 0, 2)
    rows = {row.id: row for row in segments.rows}
    assert [row.id for row in segments.rows] == ["parking", "elevator_retrofit", "water_supply"]
    assert rows["parking"].elderly == 1.0 and rows["parking"].others == 1.0
    assert rows["water_supply"].others == 0.0 and rows["water_supply"].elderly == 1.0
    assert rows["elevator_retrofit"].others == 0.5 and rows["elevator_retrofit"].children == 0.0
    mix = dict(dashboards.category_mix(menu))
    assert mix == {"basic": 1, "improvement": 4, "enhancement": 0}
    assert current_survey(session, compound) is not None
