"""Owners' consent decided at and around every threshold, counted by hand."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from consult.consent import (
    RULES,
    Choice,
    Kind,
    Outcome,
    Owner,
    RulesError,
    Threshold,
    decide,
    rule_with,
    rules_from,
    tally_of_record,
    tally_record,
)

FOR, AGAINST, ABSTAIN = Choice.FOR, Choice.AGAINST, Choice.ABSTAIN


def owners(*choices: Choice | None, area: float = 100) -> list[Owner]:
    """Owners of equal area with these votes (None: did not vote)."""
    return [Owner(area, choice) for choice in choices]


def test_participation_at_exactly_two_thirds_counts() -> None:
    # 9 owners of equal area: 6 taking part is 2/3 exactly ("以上" includes it), 5 is not.
    six = decide(owners(*[FOR] * 6, *[None] * 3), RULES[Kind.ORDINARY])
    assert six.participation_met and six.outcome == Outcome.APPROVED
    five = decide(owners(*[FOR] * 5, *[None] * 4), RULES[Kind.ORDINARY])
    assert not five.participation_met and five.outcome == Outcome.NO_QUORUM


def test_abstaining_owners_take_part_without_agreeing() -> None:
    # 6 of 9 take part (2 for, 4 abstain): quorate, but 2/6 is not more than half.
    tally = decide(owners(FOR, FOR, *[ABSTAIN] * 4, None, None, None), RULES[Kind.ORDINARY])
    assert tally.participation_met and tally.outcome == Outcome.REJECTED
    assert (tally.voters, tally.owners_for, tally.owners_against) == (6, 2, 0)


def test_ordinary_matters_need_more_than_half() -> None:
    # All 6 take part: 3 for is exactly half (not more), 4 for is more.
    half = decide(owners(*[FOR] * 3, *[AGAINST] * 3), RULES[Kind.ORDINARY])
    assert half.outcome == Outcome.REJECTED
    assert not half.approval_by_area and not half.approval_by_owners
    more = decide(owners(*[FOR] * 4, *[AGAINST] * 2), RULES[Kind.ORDINARY])
    assert more.outcome == Outcome.APPROVED


def test_major_matters_need_three_quarters_of_those_taking_part() -> None:
    # 12 owners, all vote: 9 for is 3/4 exactly (enough), 8 for is not.
    assert decide(owners(*[FOR] * 9, *[AGAINST] * 3), RULES[Kind.MAJOR]).outcome == (
        Outcome.APPROVED
    )
    assert decide(owners(*[FOR] * 8, *[AGAINST] * 4), RULES[Kind.MAJOR]).outcome == (
        Outcome.REJECTED
    )
    # 8 of 12 take part (2/3): 6 for of 8 is 3/4 of those taking part: carried.
    tally = decide(owners(*[FOR] * 6, AGAINST, ABSTAIN, *[None] * 4), RULES[Kind.MAJOR])
    assert tally.outcome == Outcome.APPROVED


def test_area_and_headcount_must_both_agree() -> None:
    # Areas 50, 50, 50, 150 (300 m²), all vote.
    small, big = 50, 150
    # Three small owners for: 3/4 of heads, but 150/300 = 1/2 of the area: not more than half.
    tally = decide(
        [Owner(small, FOR), Owner(small, FOR), Owner(small, FOR), Owner(big, AGAINST)],
        RULES[Kind.ORDINARY],
    )
    assert tally.approval_by_owners and not tally.approval_by_area
    assert tally.outcome == Outcome.REJECTED
    # The big owner and one small for: 200/300 of the area, but 2/4 of heads: not more.
    tally = decide(
        [Owner(small, FOR), Owner(small, AGAINST), Owner(small, AGAINST), Owner(big, FOR)],
        RULES[Kind.ORDINARY],
    )
    assert tally.approval_by_area and not tally.approval_by_owners
    assert tally.outcome == Outcome.REJECTED
    assert tally.area_for == 200 and tally.area == 300


def test_participation_by_area_can_fail_alone() -> None:
    # 3 of 4 owners take part (3/4 of heads) but they hold 150 of 300 m²: no quorum.
    tally = decide(
        [Owner(50, FOR), Owner(50, FOR), Owner(50, FOR), Owner(150, None)],
        RULES[Kind.ORDINARY],
    )
    assert not tally.participation_met and tally.outcome == Outcome.NO_QUORUM


def test_areas_are_counted_exactly() -> None:
    # 40 + 45.4 of 128.1 m² is 2/3 exactly; in floats 85.4 >= 128.1 * 2 / 3 is False.
    assert not (40.0 + 45.4 >= (40.0 + 45.4 + 42.7) * 2 / 3)  # the float trap
    tally = decide([Owner(40, FOR), Owner(45.4, FOR), Owner(42.7, None)], RULES[Kind.MAJOR])
    assert tally.voting_area == Fraction(854, 10) and tally.area == Fraction(1281, 10)
    assert tally.participation_met and tally.outcome == Outcome.APPROVED


def test_elevators_need_two_thirds_of_the_unit_and_no_objection() -> None:
    rule = RULES[Kind.ELEVATOR]
    # A unit of 6: 4 for, 2 silent: 2/3 of all owners and area agree.
    assert decide(owners(*[FOR] * 4, None, None), rule).outcome == Outcome.APPROVED
    # 3 for: half, not 2/3 (counted among all, not among those voting).
    assert decide(owners(*[FOR] * 3, None, None, None), rule).outcome == Outcome.NO_QUORUM
    assert decide(owners(*[FOR] * 3, *[ABSTAIN] * 3), rule).outcome == Outcome.REJECTED
    # 5 for and one against: one objection defeats it.
    tally = decide(owners(*[FOR] * 5, AGAINST), rule)
    assert tally.outcome == Outcome.OBJECTED and tally.owners_against == 1
    # A ground-floor owner with the most area keeps 2/3 of the area from agreeing.
    units = [Owner(120, None), *[Owner(60, FOR)] * 4, Owner(60, ABSTAIN)]
    tally = decide(units, rule)
    assert tally.approval_by_owners and not tally.approval_by_area  # 240/480 m²
    assert tally.outcome == Outcome.REJECTED


def test_local_rules_change_the_thresholds() -> None:
    lenient = rule_with(Kind.ELEVATOR, no_objection=False, approval=Threshold(Fraction(3, 4)))
    votes = owners(*[FOR] * 6, AGAINST, ABSTAIN)
    assert decide(votes, RULES[Kind.ELEVATOR]).outcome == Outcome.OBJECTED
    assert decide(votes, lenient).outcome == Outcome.APPROVED  # 6 of 8 = 3/4, objection allowed
    assert RULES[Kind.ELEVATOR].no_objection  # the default is untouched


def test_unknown_areas_and_empty_scopes_decide_nothing() -> None:
    tally = decide([Owner(None, FOR), *owners(FOR, FOR)], RULES[Kind.ORDINARY])
    assert tally.outcome == Outcome.AREA_UNKNOWN and tally.unknown_area == 1
    empty = decide([], RULES[Kind.ORDINARY])
    assert empty.outcome == Outcome.NO_QUORUM and empty.owners == 0


def test_impossible_areas_are_refused() -> None:
    for bad in (-1, float("nan"), float("inf")):
        try:
            decide([Owner(bad, FOR)], RULES[Kind.ORDINARY])
        except ValueError as error:
            assert "floor area" in str(error)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_participation_by_area_at_exactly_two_thirds_and_a_tenth_under() -> None:
    # 300 m²: voters holding 200 m² are 2/3 exactly; 199.9 m² is just under.
    at = decide([Owner(120, FOR), Owner(80, FOR), Owner(100, None)], RULES[Kind.ORDINARY])
    assert at.participation_by_area and at.participation_by_owners
    assert at.outcome == Outcome.APPROVED
    under = decide([Owner(120, FOR), Owner(79.9, FOR), Owner(100.1, None)], RULES[Kind.ORDINARY])
    assert not under.participation_by_area and under.participation_by_owners
    assert under.outcome == Outcome.NO_QUORUM


def test_major_matters_at_exactly_three_quarters_of_the_area() -> None:
    # All four vote, 3 of 4 heads for; the area for is 300 of 400 m² (3/4), then 299.9.
    at = [Owner(100, FOR), Owner(100, FOR), Owner(100, FOR), Owner(100, AGAINST)]
    assert decide(at, RULES[Kind.MAJOR]).outcome == Outcome.APPROVED
    under = [Owner(100, FOR), Owner(100, FOR), Owner(99.9, FOR), Owner(100.1, AGAINST)]
    tally = decide(under, RULES[Kind.MAJOR])
    assert tally.approval_by_owners and not tally.approval_by_area
    assert tally.outcome == Outcome.REJECTED


def test_exactly_half_the_area_is_not_more_than_half() -> None:
    # 3 of 5 owners for (more than half by heads) holding 150 of 300 m²: exactly half.
    votes = [Owner(50, FOR), Owner(50, FOR), Owner(50, FOR), Owner(75, AGAINST), Owner(75, ABSTAIN)]
    tally = decide(votes, RULES[Kind.ORDINARY])
    assert tally.approval_by_owners and not tally.approval_by_area
    assert tally.outcome == Outcome.REJECTED
    # A tenth of a square metre more and it carries.
    votes[0] = Owner(50.1, FOR)
    assert decide(votes, RULES[Kind.ORDINARY]).outcome == Outcome.APPROVED


def test_elevators_at_exactly_two_thirds_of_the_unit_and_abstaining_is_no_objection() -> None:
    rule = RULES[Kind.ELEVATOR]
    # 6 owners, 360 m²: 4 for holding 240 m² is 2/3 of all; two abstain: no objection.
    unit = [*[Owner(60, FOR)] * 4, Owner(60, ABSTAIN), Owner(60, ABSTAIN)]
    assert decide(unit, rule).outcome == Outcome.APPROVED
    # The same with one of the abstaining owners against: one objection is enough.
    unit[5] = Owner(60, AGAINST)
    assert decide(unit, rule).outcome == Outcome.OBJECTED
    # Four for but holding 239.9 m² of 360: just under 2/3 of the area.
    short = [Owner(59.9, FOR), *[Owner(60, FOR)] * 3, Owner(60.1, ABSTAIN), Owner(60, None)]
    assert decide(short, rule).outcome == Outcome.REJECTED


def test_an_unknown_area_of_an_owner_who_did_not_vote_still_decides_nothing() -> None:
    tally = decide([*owners(FOR, FOR, FOR), Owner(None, None)], RULES[Kind.ORDINARY])
    assert tally.outcome == Outcome.AREA_UNKNOWN and tally.voters == 3


def test_what_the_headcount_decides_alone_is_decided_though_areas_are_unknown() -> None:
    unknown = Owner(None, None)
    # 1 of 4 owners voted: under 2/3 of the owners, whatever the areas.
    assert decide([*owners(FOR), unknown, unknown, unknown], RULES[Kind.ORDINARY]).outcome == (
        Outcome.NO_QUORUM
    )
    # An elevator with one owner against: objected, whatever the areas.
    unit = [*owners(FOR, FOR, FOR, AGAINST), Owner(None, FOR)]
    assert decide(unit, RULES[Kind.ELEVATOR]).outcome == Outcome.OBJECTED
    # 1 of 4 voters for: not more than half by heads, whatever the areas.
    heads = [*owners(FOR, AGAINST, AGAINST), Owner(None, AGAINST)]
    assert decide(heads, RULES[Kind.ORDINARY]).outcome == Outcome.REJECTED
    # Enough heads for: only the areas could tell, and they are not known.
    enough = [*owners(FOR, FOR, FOR), Owner(None, AGAINST)]
    assert decide(enough, RULES[Kind.ORDINARY]).outcome == Outcome.AREA_UNKNOWN


def test_local_rules_come_from_the_setting() -> None:
    rules = rules_from(
        {
            "elevator": {"approval": "3/4", "no_objection": False},
            "ordinary": {"participation": {"share": "1/2", "strict": True}},
        }
    )
    assert rules[Kind.ELEVATOR].approval == Threshold(Fraction(3, 4))
    assert not rules[Kind.ELEVATOR].no_objection and rules[Kind.ELEVATOR].of_all
    assert rules[Kind.ORDINARY].participation == Threshold(Fraction(1, 2), strict=True)
    assert rules[Kind.MAJOR] == RULES[Kind.MAJOR]
    assert rules_from('{"major": {"approval": "2/3"}}')[Kind.MAJOR].approval.share == Fraction(2, 3)
    assert rules_from({}) == RULES and rules_from("") == RULES


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ({"lift": {}}, "CONSENT_RULES['lift']"),
        ({"major": {"approval": "3/0"}}, "CONSENT_RULES['major']['approval']"),
        ({"major": {"approval": 0.75}}, "CONSENT_RULES['major']['approval']"),
        ({"major": {"approval": "5/4"}}, "CONSENT_RULES['major']['approval']"),
        ({"major": {"approval": {"share": "1/1", "strict": True}}}, "['approval']"),
        ({"major": {"approval": {"share": "1/2", "strict": "yes"}}}, "['strict']"),
        ({"major": {"no_objection": 1}}, "CONSENT_RULES['major']['no_objection']"),
        ({"major": {"quorum": "1/2"}}, "CONSENT_RULES['major']['quorum']"),
        ({"major": "3/4"}, "CONSENT_RULES['major']"),
        ("{not json", "CONSENT_RULES is not JSON"),
        (["major"], "CONSENT_RULES must map"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_key(setting: object, named: str) -> None:
    with pytest.raises(RulesError) as refused:
        rules_from(setting)
    assert named in str(refused.value)


def test_a_tally_is_kept_and_read_back_exactly() -> None:
    tally = decide([Owner(40, FOR), Owner(45.4, AGAINST), Owner(42.7, None)], RULES[Kind.MAJOR])
    record = tally_record(tally, RULES[Kind.MAJOR])
    assert record["voting_area"] == "427/5" and record["outcome"] == "rejected"
    assert tally_of_record(json.loads(json.dumps(record))) == (tally, RULES[Kind.MAJOR])
