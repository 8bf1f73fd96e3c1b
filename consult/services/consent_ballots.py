"""Owners' votes on a consent question: by household code, on paper, corrections; the demo.

One vote per household: a second vote by code leaves the first standing, and a
facilitator changes a paper vote only by an explicit, audit-logged correction.
Functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from consult.consent import RULES, Choice, Kind, Rule, tally_record
from consult.models import (
    Account,
    Compound,
    ConsentBallot,
    ConsentStatus,
    ConsentVote,
    Household,
    Scope,
    Unit,
)
from consult.models._base import row_id, utcnow
from consult.services import audit
from consult.services.consent_votes import (
    ConsentError,
    ballot_of,
    compound_of,
    count,
    in_scope,
    sane_area,
    takes_votes,
    why_not_voting,
)
from consult.services.surveys import LOCAL_TZ


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
    why = why_not_voting(vote, compound_of(session, vote), today)
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
        area=sane_area(household.area),
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
    compound = compound_of(session, vote)
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
    recorded = sane_area(household.area)
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
    *,
    now: date | None = None,
) -> list[ConsentVote]:
    """Give the compound floor areas where missing, an approved vote on the plan, an elevator vote.

    The plan vote (ordinary, whole compound) ran for two weeks from `today` (the
    consent phase's first day) and closed with most owners for; the elevator vote
    (the first unit of four or more households) is open around `now` (the real
    today, by default `today`) with some votes in. Deterministic; flush. Returns the
    two votes.
    """
    now = now or today
    rules = rules or RULES
    homes = session.exec(
        select(Household).where(Household.compound_id == compound.id).order_by(col(Household.id))
    ).all()
    for home in homes:
        if sane_area(home.area) is None:
            home.area = 50 + (row_id(home.id) * 37 % 91) / 2  # 50-95 m²
            session.add(home)
    plan = _demo_vote(
        session,
        compound,
        account,
        question="您是否同意本小区改造方案（整体）？",
        details="方案列明改造内容、范围、估算费用和工期，已公示7天，居民意见和答复随方案一并公布。",
        kind=Kind.ORDINARY,
        days=(today.toordinal(), today.toordinal() + 13),
    )
    # Of every 20 owners: 3 do not vote, 1 against, 1 abstains, 15 for; every 5th on paper.
    choices = {3: Choice.AGAINST, 4: Choice.ABSTAIN}
    for index, home in enumerate(homes):
        if index % 20 in (0, 1, 2):
            continue
        _demo_ballot(session, plan, home, choices.get(index % 20, Choice.FOR), account, index)
    session.flush()
    plan.result = tally_record(count(session, plan, rules[Kind.ORDINARY]), rules[Kind.ORDINARY])
    closed = datetime.combine(
        date.fromordinal(today.toordinal() + 14), time(10), tzinfo=LOCAL_TZ
    ).astimezone(UTC)
    plan.status, plan.closed_at = ConsentStatus.CLOSED, min(closed, utcnow())
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
            days=(now.toordinal() - 3, now.toordinal() + 11),
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
