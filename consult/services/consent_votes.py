"""Owners' consent votes (业主表决): the question, its owners, the result.

The decision is `consult.consent.decide`'s alone: this module gathers the owners
of the scope (one per household), their floor areas and their votes, and freezes
the tally into `ConsentVote.result` when the vote closes. Casting votes (by
code, on paper) and the demo are in consent_ballots.py. Functions flush, never
commit; the ones that change a vote write the audit log with the change.

The thresholds are `consent.RULES` with the changes of the CONSENT_RULES setting
(`settled_rules`; a bad setting stops the app at startup, naming the key).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from consult.consent import (
    Choice,
    Kind,
    Owner,
    Rule,
    Tally,
    decide,
    rules_from,
    tally_of_record,
    tally_record,
)
from consult.models import (
    PHASES,
    Account,
    Building,
    Compound,
    ConsentBallot,
    ConsentStatus,
    ConsentVote,
    Household,
    Phase,
    Scope,
    Unit,
)
from consult.models._base import row_id, utcnow
from consult.services import audit
from consult.services.phases import current_phase

#: Owners' votes belong to the consent phase and the phases after it (rules, elevators).
VOTING_PHASES = frozenset(PHASES[PHASES.index(Phase.CONSENT) :])


class ConsentError(ValueError):
    """A change to a consent vote was refused; `reason` says why (the views translate it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Question:
    """What a facilitator asks the owners, as typed (validated by `set_question`)."""

    question: str
    kind: Kind
    scope: Scope
    details: str = ""
    building_id: int | None = None
    unit_id: int | None = None
    opens_on: date | None = None
    closes_on: date | None = None


@dataclass(frozen=True)
class OwnerRow:
    """A household of the scope and its vote (None: not voted)."""

    household: Household
    ballot: ConsentBallot | None

    @property
    def area(self) -> float | None:
        """The area counted: the one on the ballot, else the household's record."""
        if self.ballot is not None and self.ballot.area is not None:
            return sane_area(self.ballot.area)
        return sane_area(self.household.area)


def sane_area(area: float | None) -> float | None:
    """The area if it is a finite number >= 0, else None (unknown)."""
    return area if area is not None and math.isfinite(area) and area >= 0 else None


def settled_rules(config: Mapping[str, Any]) -> dict[Kind, Rule]:
    """Return the rule of every kind under the app's CONSENT_RULES (RulesError if bad)."""
    return rules_from(config.get("CONSENT_RULES"))


# -- Votes ----------------------------------------------------------------------------------


def takes_votes(compound: Compound) -> bool:
    """Whether the compound is in a phase where owners vote."""
    return current_phase(compound) in VOTING_PHASES


def votes_of(session: Session, compound: Compound, *, drafts: bool = True) -> list[ConsentVote]:
    """Return the compound's votes, newest first."""
    query = select(ConsentVote).where(ConsentVote.compound_id == compound.id)
    if not drafts:
        query = query.where(ConsentVote.status != ConsentStatus.DRAFT)
    return list(session.exec(query.order_by(col(ConsentVote.id).desc())).all())


def vote_of(session: Session, compound: Compound, vote_id: int) -> ConsentVote | None:
    """Return the compound's vote with this id, or None."""
    vote = session.get(ConsentVote, vote_id)
    return vote if vote is not None and vote.compound_id == compound.id else None


def scope_names(session: Session, vote: ConsentVote) -> tuple[str | None, str | None]:
    """Return the building's and the unit's numbers of the scope (None where it is wider)."""
    building = session.get(Building, vote.building_id) if vote.building_id else None
    unit = session.get(Unit, vote.unit_id) if vote.unit_id else None
    return (building.number if building else None, unit.number if unit else None)


def scope_choices(session: Session, compound: Compound) -> list[tuple[Building, list[Unit]]]:
    """Return the compound's buildings with their units, in residents' order (the pickers)."""
    rows = session.exec(
        select(Building, Unit)
        .join(Unit, col(Unit.building_id) == Building.id)
        .where(Building.compound_id == compound.id)
        .order_by(col(Building.position), col(Unit.position))
    ).all()
    choices: list[tuple[Building, list[Unit]]] = []
    for building, unit in rows:
        if not choices or choices[-1][0].id != building.id:
            choices.append((building, []))
        choices[-1][1].append(unit)
    return choices


def set_question(
    session: Session, compound: Compound, account: Account, asked: Question
) -> ConsentVote:
    """Add a draft vote; flush. Raises ConsentError when the question cannot be asked."""
    if not takes_votes(compound):
        raise ConsentError("phase")
    question, details = asked.question.strip(), asked.details.strip()
    if not question:
        raise ConsentError("no_question")
    if len(question) > 500 or len(details) > 2000:
        raise ConsentError("too_long")
    if asked.kind == Kind.ELEVATOR and asked.scope != Scope.UNIT:
        raise ConsentError("elevator_unit")
    building_id, unit_id = _scope_ids(session, compound, asked)
    if asked.opens_on and asked.closes_on and asked.closes_on < asked.opens_on:
        raise ConsentError("dates")
    vote = ConsentVote(
        compound_id=row_id(compound.id),
        question=question,
        details=details,
        kind=str(asked.kind),
        scope=asked.scope,
        building_id=building_id,
        unit_id=unit_id,
        opens_on=asked.opens_on,
        closes_on=asked.closes_on,
        created_by=account.id,
    )
    if not _owner_count(session, vote):
        raise ConsentError("empty_scope")
    session.add(vote)
    session.flush()
    audit.record(session, account, "consent.ask", _target(compound, vote), question=question)
    return vote


def _scope_ids(
    session: Session, compound: Compound, asked: Question
) -> tuple[int | None, int | None]:
    if asked.scope == Scope.COMPOUND:
        return None, None
    if asked.scope == Scope.BUILDING:
        building = session.get(Building, asked.building_id) if asked.building_id else None
        if building is None or building.compound_id != compound.id:
            raise ConsentError("no_building")
        return building.id, None
    unit = session.get(Unit, asked.unit_id) if asked.unit_id else None
    building = session.get(Building, unit.building_id) if unit else None
    if unit is None or building is None or building.compound_id != compound.id:
        raise ConsentError("no_unit")
    return building.id, unit.id


def _target(compound: Compound, vote: ConsentVote) -> str:
    return f"consent:{compound.code}/{vote.id}"


def open_vote(session: Session, vote: ConsentVote, account: Account, today: date) -> None:
    """Open a draft for votes (from today unless it has its first day); flush."""
    compound = compound_of(session, vote)
    if not takes_votes(compound):
        raise ConsentError("phase")
    if vote.status != ConsentStatus.DRAFT:
        raise ConsentError("not_draft")
    if vote.closes_on is not None and vote.closes_on < today:
        raise ConsentError("ended")
    vote.status = ConsentStatus.OPEN
    vote.opens_on = vote.opens_on or today
    session.add(vote)
    audit.record(session, account, "consent.open", _target(compound, vote))


def close_vote(
    session: Session, vote: ConsentVote, account: Account, rule: Rule, today: date
) -> Tally:
    """Close an open vote and freeze its tally under the rule; flush.

    Raises ConsentError("still_running") before the vote's last day has passed,
    unless every owner has voted: the owners keep every day they were given.
    """
    compound = compound_of(session, vote)
    if not takes_votes(compound):
        raise ConsentError("phase")
    if vote.status != ConsentStatus.OPEN:
        raise ConsentError("not_open")
    tally = count(session, vote, rule)
    if vote.closes_on is not None and today <= vote.closes_on and tally.voters < tally.owners:
        raise ConsentError("still_running")
    vote.result = tally_record(tally, rule)
    vote.status = ConsentStatus.CLOSED
    vote.closed_at = utcnow()
    session.add(vote)
    audit.record(
        session,
        account,
        "consent.close",
        _target(compound, vote),
        outcome=str(tally.outcome),
        voters=tally.voters,
        owners=tally.owners,
    )
    return tally


def compound_of(session: Session, vote: ConsentVote) -> Compound:
    """The compound whose owners are asked."""
    compound = session.get(Compound, vote.compound_id)
    assert compound is not None
    return compound


# -- Owners and their votes -----------------------------------------------------------------


def _in_scope(query: Any, vote: ConsentVote) -> Any:
    query = query.where(Household.compound_id == vote.compound_id)
    if vote.scope == Scope.UNIT:
        return query.where(Household.unit_id == vote.unit_id)
    if vote.scope == Scope.BUILDING:
        return query.where(Unit.building_id == vote.building_id)
    return query


def _owner_count(session: Session, vote: ConsentVote) -> int:
    query = (
        select(func.count()).select_from(Household).join(Unit, col(Unit.id) == Household.unit_id)
    )
    return int(session.exec(_in_scope(query, vote)).one())


def owners_of(session: Session, vote: ConsentVote) -> list[OwnerRow]:
    """Return the households of the scope in building-unit-room order, with their votes."""
    query = (
        select(Household, ConsentBallot)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .join(
            ConsentBallot,
            and_(
                col(ConsentBallot.household_id) == Household.id,
                col(ConsentBallot.vote_id) == vote.id,
            ),
            isouter=True,
        )
        .order_by(
            col(Building.position), col(Unit.position), col(Household.floor), col(Household.room)
        )
    )
    return [OwnerRow(h, b) for h, b in session.exec(_in_scope(query, vote)).all()]


def count(session: Session, vote: ConsentVote, rule: Rule) -> Tally:
    """Decide the vote as it stands, under the rule."""
    return decide(_owners(owners_of(session, vote)), rule)


def _owners(rows: Iterable[OwnerRow]) -> list[Owner]:
    return [Owner(row.area, Choice(row.ballot.choice) if row.ballot else None) for row in rows]


def result(session: Session, vote: ConsentVote, rules: Mapping[Kind, Rule]) -> tuple[Tally, Rule]:
    """Return the frozen tally of a closed vote, else the tally as it stands now."""
    if vote.status == ConsentStatus.CLOSED and vote.result:
        return tally_of_record(vote.result)
    rule = rules[Kind(vote.kind)]
    return count(session, vote, rule), rule


def in_scope(session: Session, vote: ConsentVote, household: Household) -> bool:
    """Whether the household is one of the owners the vote asks."""
    if household.compound_id != vote.compound_id:
        return False
    if vote.scope == Scope.UNIT:
        return household.unit_id == vote.unit_id
    if vote.scope == Scope.BUILDING:
        unit = session.get(Unit, household.unit_id)
        return unit is not None and unit.building_id == vote.building_id
    return True


def ballot_of(session: Session, vote: ConsentVote, household: Household) -> ConsentBallot | None:
    """Return the household's vote, if it has voted."""
    return session.exec(
        select(ConsentBallot).where(
            ConsentBallot.vote_id == vote.id, ConsentBallot.household_id == household.id
        )
    ).first()


def why_not_voting(vote: ConsentVote, compound: Compound, today: date) -> str | None:
    """Why owners cannot vote online now ("phase", "draft", "closed", "not_yet", "ended"), or None."""
    if not takes_votes(compound):
        return "phase"
    if vote.status != ConsentStatus.OPEN:
        return str(vote.status)
    if vote.opens_on is not None and today < vote.opens_on:
        return "not_yet"
    if vote.closes_on is not None and today > vote.closes_on:
        return "ended"
    return None
