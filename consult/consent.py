"""Owners' consent (业主表决): does a vote carry, by area and by headcount? Pure.

Civil Code art. 278: owners holding at least 2/3 of the floor area and at least
2/3 of the owners take part; raising or using maintenance funds, rebuilding and
changing the use of common parts need at least 3/4 of the participating area
and owners; other matters need more than half of each. In Chinese law "以上"
includes the number itself (art. 1259) and "过半数" means more than half.
Elevator retrofits follow local rules, commonly: 2/3 of the unit's area and
owners agree and no owner objects. Every threshold is a setting (a `Rule`);
the defaults are `RULES`. Arithmetic is exact (fractions), never floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction


class Choice(StrEnum):
    """An owner's vote."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class Kind(StrEnum):
    """Kinds of question, each with its rule."""

    #: Other matters on common parts: more than half of the participating area and owners.
    ORDINARY = "ordinary"
    #: Maintenance funds, rebuilding, changes of use: 3/4 of the participating area and owners.
    MAJOR = "major"
    #: Adding an elevator to a unit: the local rule (2/3 of all, and nobody against).
    ELEVATOR = "elevator"


class Outcome(StrEnum):
    """What the vote decided."""

    APPROVED = "approved"
    REJECTED = "rejected"
    #: Too few owners (by area or by headcount) took part: no decision.
    NO_QUORUM = "no_quorum"
    #: An owner voted against where the rule allows no objection.
    OBJECTED = "objected"
    #: Some owners' floor areas are unknown: the area thresholds cannot be judged.
    AREA_UNKNOWN = "area_unknown"


@dataclass(frozen=True)
class Threshold:
    """A share that must be reached: at least `share`, or more than it when `strict`."""

    share: Fraction
    strict: bool = False

    def met(self, part: Fraction, whole: Fraction) -> bool:
        if whole == 0:
            return False
        ratio = part / whole
        return ratio > self.share if self.strict else ratio >= self.share


@dataclass(frozen=True)
class Rule:
    """The thresholds of one kind of question."""

    #: Share of all owners' area, and of all owners, that must take part.
    participation: Threshold
    #: Share that must agree, by area and by headcount.
    approval: Threshold
    #: Approval counted among all owners of the scope (True) or among those taking part.
    of_all: bool = False
    #: A single vote against defeats the question.
    no_objection: bool = False


TWO_THIRDS = Threshold(Fraction(2, 3))
RULES: dict[Kind, Rule] = {
    Kind.ORDINARY: Rule(TWO_THIRDS, Threshold(Fraction(1, 2), strict=True)),
    Kind.MAJOR: Rule(TWO_THIRDS, Threshold(Fraction(3, 4))),
    Kind.ELEVATOR: Rule(TWO_THIRDS, TWO_THIRDS, of_all=True, no_objection=True),
}


@dataclass(frozen=True)
class Owner:
    """One owner (household) of the scope, with its floor area and its vote (None: did not vote)."""

    area: Decimal | float | int | None
    choice: Choice | None = None


@dataclass(frozen=True)
class Tally:
    """Participation and approval, by area and by headcount, and the outcome."""

    owners: int
    area: Fraction
    voters: int
    voting_area: Fraction
    owners_for: int
    area_for: Fraction
    owners_against: int
    area_against: Fraction
    participation_met: bool
    approval_by_area: bool
    approval_by_owners: bool
    outcome: Outcome
    #: Owners whose floor area is unknown.
    unknown_area: int = 0


def _area(value: Decimal | float | int) -> Fraction:
    # Through the decimal string, so that 68.1 m² is 681/10, not a binary float.
    area = Decimal(str(value))
    if not area.is_finite() or area < 0:
        raise ValueError(f"a floor area must be a finite number >= 0, not {value!r}")
    return Fraction(area)


def decide(owners: Iterable[Owner], rule: Rule) -> Tally:
    """Count the owners' votes under the rule and decide."""
    everyone = list(owners)
    unknown = sum(owner.area is None for owner in everyone)
    areas = [_area(owner.area) if owner.area is not None else Fraction(0) for owner in everyone]
    total_area = sum(areas, Fraction(0))
    voted = [(o, a) for o, a in zip(everyone, areas, strict=True) if o.choice is not None]
    voting_area = sum((a for _, a in voted), Fraction(0))
    agree = [(o, a) for o, a in voted if o.choice == Choice.FOR]
    against = [(o, a) for o, a in voted if o.choice == Choice.AGAINST]
    area_for = sum((a for _, a in agree), Fraction(0))
    area_against = sum((a for _, a in against), Fraction(0))

    participation = rule.participation.met(voting_area, total_area) and rule.participation.met(
        Fraction(len(voted)), Fraction(len(everyone))
    )
    base_area = total_area if rule.of_all else voting_area
    base_owners = len(everyone) if rule.of_all else len(voted)
    by_area = rule.approval.met(area_for, base_area)
    by_owners = rule.approval.met(Fraction(len(agree)), Fraction(base_owners))

    if unknown:
        outcome = Outcome.AREA_UNKNOWN
    elif not participation:
        outcome = Outcome.NO_QUORUM
    elif rule.no_objection and against:
        outcome = Outcome.OBJECTED
    elif by_area and by_owners:
        outcome = Outcome.APPROVED
    else:
        outcome = Outcome.REJECTED
    return Tally(
        owners=len(everyone),
        area=total_area,
        voters=len(voted),
        voting_area=voting_area,
        owners_for=len(agree),
        area_for=area_for,
        owners_against=len(against),
        area_against=area_against,
        participation_met=participation,
        approval_by_area=by_area,
        approval_by_owners=by_owners,
        outcome=outcome,
        unknown_area=unknown,
    )


def rule_with(kind: Kind, **changes: object) -> Rule:
    """Return the default rule of a kind with some thresholds changed (local rules)."""
    return replace(RULES[kind], **changes)  # type: ignore[arg-type]
