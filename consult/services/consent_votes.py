"""Owners' consent votes (业主表决): the question, votes by code and on paper, the result.

The decision is `consult.consent.decide`'s alone: this module gathers the owners
of the scope (one per household), their floor areas and their votes, and freezes
the tally into `ConsentVote.result` when the vote closes. Functions flush, never
commit; the ones that change a vote write the audit log with the change.

The thresholds are `consent.RULES` with the changes of the CONSENT_RULES setting
(`settled_rules`; a bad setting stops the app at startup, naming the key).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from consult.consent import (
    RULES,
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


class Cast(StrEnum):
    """What casting a vote did."""

    COUNTED = "counted"
    #: The same form arrived again (a double tap, a retry): nothing new.
    REPEATED = "repeated"
    #: The household had voted already; its vote stands unchanged.
    ALREADY = "already"
    #: A facilitator corrected the household's vote.
    CORRECTED = "corrected"


@dataclass(frozen=True)
class Voted:
    """The household's ballot after casting, and what casting did."""

    ballot: ConsentBallot
    outcome: Cast


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
            return _sane(self.ballot.area)
        return _sane(self.household.area)


def _sane(area: float | None) -> float | None:
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
    compound = _compound(session, vote)
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


def close_vote(session: Session, vote: ConsentVote, account: Account, rule: Rule) -> Tally:
    """Close an open vote and freeze its tally under the rule; flush."""
    compound = _compound(session, vote)
    if not takes_votes(compound):
        raise ConsentError("phase")
    if vote.status != ConsentStatus.OPEN:
        raise ConsentError("not_open")
    tally = count(session, vote, rule)
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


def _compound(session: Session, vote: ConsentVote) -> Compound:
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


def _repeat(session: Session, vote: ConsentVote, household: Household, key: str) -> Voted | None:
    stored = session.exec(select(ConsentBallot).where(ConsentBallot.submission_key == key)).first()
    if stored is None:
        return None
    if stored.vote_id != vote.id or stored.household_id != household.id:
        raise ConsentError("stale_form")
    return Voted(stored, Cast.REPEATED)


def cast_by_code(
    session: Session,
    vote: ConsentVote,
    household: Household,
    choice: Choice,
    *,
    key: str,
    today: date,
) -> Voted:
    """Count the vote of a household that gave its code, once; flush.

    A household that voted already keeps its vote (ALREADY); the same form sent
    again is REPEATED. Raises ConsentError when voting is closed or the household
    is not among the owners asked ("out_of_scope").
    """
    why = why_not_voting(vote, _compound(session, vote), today)
    if why is not None:
        raise ConsentError(why)
    if not in_scope(session, vote, household):
        raise ConsentError("out_of_scope")
    if (repeated := _repeat(session, vote, household, key)) is not None:
        return repeated
    if (existing := ballot_of(session, vote, household)) is not None:
        return Voted(existing, Cast.ALREADY)
    ballot = ConsentBallot(
        vote_id=row_id(vote.id),
        household_id=row_id(household.id),
        choice=str(choice),
        area=_sane(household.area),
        channel="code",
        submission_key=key,
    )
    session.add(ballot)
    session.flush()
    return Voted(ballot, Cast.COUNTED)


def enter_paper(
    session: Session,
    vote: ConsentVote,
    household: Household,
    choice: Choice,
    *,
    account: Account,
    key: str,
    area: float | None = None,
    correct: bool = False,
) -> Voted:
    """Count a vote on paper, or correct the household's vote when `correct`; flush.

    The area typed is stored on the household when its record has none ("area_needed"
    when neither has one). Without `correct`, a household that voted keeps its vote
    (ALREADY) for the facilitator to see and decide. Paper votes are taken until the
    vote is closed, so that ballots collected on the last day can be typed in after it.
    """
    compound = _compound(session, vote)
    if not takes_votes(compound):
        raise ConsentError("phase")
    if vote.status != ConsentStatus.OPEN:
        raise ConsentError("not_open")
    if not in_scope(session, vote, household):
        raise ConsentError("out_of_scope")
    if (repeated := _repeat(session, vote, household, key)) is not None:
        return repeated
    existing = ballot_of(session, vote, household)
    if existing is not None and not correct:
        return Voted(existing, Cast.ALREADY)
    recorded = _sane(household.area)
    if recorded is None and area is None:
        raise ConsentError("area_needed")
    target = f"household:{compound.code}/{household.label}"
    if recorded is None:
        household.area = area
        session.add(household)
        audit.record(session, account, "household.area", target, area=area, vote=vote.id)
    if existing is None:
        ballot = ConsentBallot(
            vote_id=row_id(vote.id),
            household_id=row_id(household.id),
            choice=str(choice),
            area=household.area,
            channel="paper",
            entered_by=account.id,
            submission_key=key,
        )
        session.add(ballot)
        session.flush()
        audit.record(session, account, "consent.paper", target, vote=vote.id, choice=str(choice))
        return Voted(ballot, Cast.COUNTED)
    was = (existing.choice, existing.channel)
    existing.choice, existing.channel, existing.entered_by = str(choice), "paper", account.id
    existing.submission_key, existing.updated_at = key, utcnow()
    existing.area = existing.area if existing.area is not None else household.area
    session.add(existing)
    session.flush()
    audit.record(
        session,
        account,
        "consent.correct",
        target,
        vote=vote.id,
        was=was[0],
        was_channel=was[1],
        now=str(choice),
    )
    return Voted(existing, Cast.CORRECTED)


# -- Demo -----------------------------------------------------------------------------------


def demo_consent(
    session: Session,
    compound: Compound,
    account: Account,
    today: date,
    rules: Mapping[Kind, Rule] | None = None,
) -> list[ConsentVote]:
    """Give the compound floor areas where missing, an approved vote on the plan, an elevator vote.

    The plan vote (ordinary, whole compound) closed a week ago with most owners for;
    the elevator vote (the first unit of four or more households) is open with some
    votes in. Deterministic; flush. Returns the two votes.
    """
    rules = rules or RULES
    homes = session.exec(
        select(Household).where(Household.compound_id == compound.id).order_by(col(Household.id))
    ).all()
    for home in homes:
        if _sane(home.area) is None:
            home.area = 50 + (row_id(home.id) * 37 % 91) / 2  # 50-95 m²
            session.add(home)
    plan = _demo_vote(
        session,
        compound,
        account,
        question="您是否同意本小区改造方案（整体）？",
        details="方案列明改造内容、范围、估算费用和工期，已公示7天，居民意见和答复随方案一并公布。",
        kind=Kind.ORDINARY,
        days=(today.toordinal() - 20, today.toordinal() - 7),
    )
    # Of every 20 owners: 3 do not vote, 1 against, 1 abstains, 15 for; every 5th on paper.
    choices = {3: Choice.AGAINST, 4: Choice.ABSTAIN}
    for index, home in enumerate(homes):
        if index % 20 in (0, 1, 2):
            continue
        _demo_ballot(session, plan, home, choices.get(index % 20, Choice.FOR), account, index)
    session.flush()
    plan.result = tally_record(count(session, plan, rules[Kind.ORDINARY]), rules[Kind.ORDINARY])
    plan.status, plan.closed_at = ConsentStatus.CLOSED, utcnow()
    session.add(plan)
    unit_id = session.exec(
        select(Household.unit_id)
        .where(Household.compound_id == compound.id)
        .group_by(col(Household.unit_id))
        .having(func.count() >= 4)
        .order_by(col(Household.unit_id))
    ).first()
    votes = [plan]
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        lift = _demo_vote(
            session,
            compound,
            account,
            question="本单元是否加装电梯？",
            details="电梯装在楼梯间北侧，半层入户；政府补贴40%，其余由业主按楼层分摊，一层不分摊。",
            kind=Kind.ELEVATOR,
            days=(today.toordinal() - 3, today.toordinal() + 11),
            scope=(Scope.UNIT, unit.building_id, unit.id),
        )
        lift.status = ConsentStatus.OPEN
        unit_homes = [home for home in homes if home.unit_id == unit_id]
        for index, home in enumerate(unit_homes[: len(unit_homes) // 2 + 1]):
            _demo_ballot(session, lift, home, Choice.FOR, account, index + 1)
        votes.append(lift)
    session.flush()
    return votes


def _demo_vote(
    session: Session,
    compound: Compound,
    account: Account,
    *,
    question: str,
    details: str,
    kind: Kind,
    days: tuple[int, int],
    scope: tuple[Scope, int | None, int | None] = (Scope.COMPOUND, None, None),
) -> ConsentVote:
    vote = ConsentVote(
        compound_id=row_id(compound.id),
        question=question,
        details=details,
        kind=str(kind),
        scope=scope[0],
        building_id=scope[1],
        unit_id=scope[2],
        status=ConsentStatus.OPEN,
        opens_on=date.fromordinal(days[0]),
        closes_on=date.fromordinal(days[1]),
        created_by=account.id,
    )
    session.add(vote)
    session.flush()
    return vote


def _demo_ballot(
    session: Session,
    vote: ConsentVote,
    home: Household,
    choice: Choice,
    account: Account,
    index: int,
) -> None:
    paper = index % 5 == 0
    session.add(
        ConsentBallot(
            vote_id=row_id(vote.id),
            household_id=row_id(home.id),
            choice=str(choice),
            area=home.area,
            channel="paper" if paper else "code",
            entered_by=account.id if paper else None,
        )
    )
