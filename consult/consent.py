"""Owners' consent (业主表决): does a vote carry, by area and by headcount? Pure.

Civil Code art. 278: owners holding at least 2/3 of the floor area and at least
2/3 of the owners take part; raising maintenance funds (item 6), rebuilding
(item 7) and changing the use of common parts or using them for business
(item 8) need at least 3/4 of the participating area and owners; other
matters need more than half of each, among them using the maintenance funds
(item 5), the management rules (item 2) and the property company (item 4). In Chinese law "以上"
includes the number itself (art. 1259) and "过半数" means more than half.
Elevator retrofits follow local rules, commonly: 2/3 of the unit's area and
owners agree and no owner objects. Every threshold is a setting (a `Rule`);
the defaults are `RULES`. Arithmetic is exact (fractions), never floats.

`rules_from` reads local rules from the CONSENT_RULES setting, per kind::

    {"elevator": {"approval": "3/4", "no_objection": false},
     "ordinary": {"approval": {"share": "1/2", "strict": true}}}

A share is a fraction "a/b" ("at least"), or {"share": "a/b", "strict": true}
("more than"); `of_all` and `no_objection` are true or false. A bad setting
raises `RulesError` naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any


class Choice(StrEnum):
    """An owner's vote."""

    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class Kind(StrEnum):
    """Kinds of question, each with its rule."""

    #: Other matters (art. 278 items 1-5 and 9, e.g. the plan, management rules, using the
    #: maintenance funds): more than half of the participating area and owners.
    ORDINARY = "ordinary"
    #: Raising maintenance funds, rebuilding, changing the use of common parts (items 6-8):
    #: 3/4 of the participating area and owners.
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
    #: Each half of the participation threshold (both must be met).
    participation_by_area: bool = False
    participation_by_owners: bool = False


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

    by_area_taking_part = rule.participation.met(voting_area, total_area)
    by_owners_taking_part = rule.participation.met(Fraction(len(voted)), Fraction(len(everyone)))
    participation = by_area_taking_part and by_owners_taking_part
    base_area = total_area if rule.of_all else voting_area
    base_owners = len(everyone) if rule.of_all else len(voted)
    by_area = rule.approval.met(area_for, base_area)
    by_owners = rule.approval.met(Fraction(len(agree)), Fraction(base_owners))

    if unknown:
        # Areas unknown: only what the headcount decides alone can be said.
        if not by_owners_taking_part:
            outcome = Outcome.NO_QUORUM
        elif rule.no_objection and against:
            outcome = Outcome.OBJECTED
        elif not by_owners:
            outcome = Outcome.REJECTED
        else:
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
        participation_by_area=by_area_taking_part,
        participation_by_owners=by_owners_taking_part,
    )


def rule_with(kind: Kind, **changes: object) -> Rule:
    """Return the default rule of a kind with some thresholds changed (local rules)."""
    return replace(RULES[kind], **changes)  # type: ignore[arg-type]


# -- Local rules from a setting, and tallies kept as JSON ------------------------------------

_FRACTION = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*")
_FLAGS = ("of_all", "no_objection")
_AREAS = frozenset({"area", "voting_area", "area_for", "area_against"})


class RulesError(ValueError):
    """The CONSENT_RULES setting cannot be read; the message names the key."""


def rules_from(setting: object) -> dict[Kind, Rule]:
    """Return the rule of every kind: the defaults with the setting's changes."""
    if isinstance(setting, str):
        try:
            setting = json.loads(setting) if setting.strip() else {}
        except ValueError as error:
            raise RulesError(f"CONSENT_RULES is not JSON: {error}") from None
    if not setting:
        return dict(RULES)
    if not isinstance(setting, Mapping):
        raise RulesError("CONSENT_RULES must map kinds (ordinary, major, elevator) to changes")
    rules = dict(RULES)
    for name, changes in setting.items():
        where = f"CONSENT_RULES[{name!r}]"
        try:
            kind = Kind(name)
        except ValueError:
            raise RulesError(f"{where}: no such kind; use ordinary, major or elevator") from None
        if not isinstance(changes, Mapping):
            raise RulesError(f"{where} must map settings to values, not {changes!r}")
        rules[kind] = rule_with(
            kind, **{k: _setting(f"{where}[{k!r}]", k, v) for k, v in changes.items()}
        )
    return rules


def _setting(where: str, key: str, value: object) -> object:
    if key in ("participation", "approval"):
        return _threshold(where, value)
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise RulesError(f"{where} must be true or false, not {value!r}")
        return value
    raise RulesError(f"{where}: no such setting; use participation, approval, of_all, no_objection")


def _threshold(where: str, value: object) -> Threshold:
    strict = False
    if isinstance(value, Mapping):
        if "share" not in value or set(value) - {"share", "strict"}:
            raise RulesError(f'{where} must be "a/b" or {{"share": "a/b", "strict": true}}')
        flag, value = value.get("strict", False), value["share"]
        if not isinstance(flag, bool):
            raise RulesError(f"{where}['strict'] must be true or false, not {flag!r}")
        strict = flag
    match = _FRACTION.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[2]) == 0:
        raise RulesError(f'{where} must be a fraction written "a/b", such as "2/3", not {value!r}')
    share = Fraction(int(match[1]), int(match[2]))
    if not 0 < share <= 1 or (strict and share == 1):
        raise RulesError(f"{where} must be a share above 0 and at most 1, not {value!r}")
    return Threshold(share, strict)


def rule_terms(rule: Rule) -> dict[str, Any]:
    """Return a rule as plain JSON (kept with a closed vote's result, and read by pages)."""
    return {
        "participation": str(rule.participation.share),
        "participation_strict": rule.participation.strict,
        "approval": str(rule.approval.share),
        "approval_strict": rule.approval.strict,
        "of_all": rule.of_all,
        "no_objection": rule.no_objection,
    }


def rule_of_terms(terms: Mapping[str, Any]) -> Rule:
    """Return the rule `rule_terms` wrote."""
    return Rule(
        Threshold(Fraction(terms["participation"]), bool(terms["participation_strict"])),
        Threshold(Fraction(terms["approval"]), bool(terms["approval_strict"])),
        of_all=bool(terms["of_all"]),
        no_objection=bool(terms["no_objection"]),
    )


def tally_record(tally: Tally, rule: Rule) -> dict[str, Any]:
    """Return a tally and its rule as plain JSON (areas as exact fractions "a/b")."""
    record: dict[str, Any] = {"rule": rule_terms(rule)}
    for item in fields(Tally):
        value = getattr(tally, item.name)
        record[item.name] = str(value) if item.name in _AREAS or item.name == "outcome" else value
    return record


def tally_of_record(record: Mapping[str, Any]) -> tuple[Tally, Rule]:
    """Return the tally and rule `tally_record` wrote."""
    values: dict[str, Any] = {
        item.name: Fraction(record[item.name]) if item.name in _AREAS else record[item.name]
        for item in fields(Tally)
        if item.name in record
    }
    values["outcome"] = Outcome(values["outcome"])
    return Tally(**values), rule_of_terms(record["rule"])
