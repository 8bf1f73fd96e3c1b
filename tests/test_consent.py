"""Owners' consent decided at and around every threshold, counted by hand."""

from __future__ import annotations

from fractions import Fraction

from consult.consent import (
    RULES,
    Choice,
    Kind,
    Outcome,
    Owner,
    Threshold,
    decide,
    rule_with,
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
