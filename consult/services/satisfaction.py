"""The satisfaction survey (问效): opening it and storing households' answers.

The survey is a `Survey` of phase `satisfaction` (no offered items: what it rates
is the plan's included items whose works are done). Each household has one
current answer, replaced in place when it answers again. Its figures are in
`satisfaction_results`, the planners' city view in `satisfaction_city`.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from consult.models import (
    Ballot,
    BallotItem,
    Channel,
    Compound,
    Household,
    Phase,
    Plan,
    PlanItem,
    SatisfactionAnswer,
    SatisfactionRating,
    Survey,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
    WorkStatus,
)
from consult.models._base import row_id, utcnow
from consult.services.ballots import Outcome, VerifiedAnswerExists, lock_household
from consult.services.phases import current_phase
from consult.services.surveys import current_survey, why_closed

#: The scale, from 1 (very dissatisfied) to 5 (very satisfied).
SCALE = (1, 2, 3, 4, 5)


class SatisfactionError(ValueError):
    """The survey cannot be opened or closed now (the reason is the message code)."""


# -- opening and closing ---------------------------------------------------------------


def current(session: Session, compound: Compound) -> Survey | None:
    """Return the compound's satisfaction survey (the latest not a draft), if any."""
    return current_survey(session, compound, SurveyPhase.SATISFACTION)


def in_season(compound: Compound) -> bool:
    """Whether the compound has reached the evaluation phase (or gone past it)."""
    phase = current_phase(compound)
    return list(Phase).index(phase) >= list(Phase).index(Phase.EVALUATION)


def why_not_answering(compound: Compound, survey: Survey | None, today: date) -> str | None:
    """Return why residents cannot answer now ("phase", "none", "not_yet", "closed"), or None."""
    if not in_season(compound):
        return "phase"
    return why_closed(survey, today)


def open_survey(
    session: Session, compound: Compound, *, mode: SurveyMode, closes_on: date | None, today: date
) -> Survey:
    """Open (or reopen, keeping its answers) the compound's satisfaction survey; flush."""
    if current_phase(compound) != Phase.EVALUATION:
        raise SatisfactionError("phase")
    if closes_on is not None and closes_on < today:
        raise SatisfactionError("past")
    survey = current(session, compound)
    if survey is None:
        survey = Survey(
            compound_id=row_id(compound.id), phase=SurveyPhase.SATISFACTION, opens_on=today
        )
    survey.status = SurveyStatus.OPEN
    survey.mode = mode
    survey.closes_on = closes_on
    if survey.opens_on is None or survey.opens_on > today:
        survey.opens_on = today
    session.add(survey)
    session.flush()
    return survey


def close_survey(session: Session, compound: Compound) -> Survey:
    """Stop taking answers; flush."""
    survey = current(session, compound)
    if survey is None or survey.status == SurveyStatus.CLOSED:
        raise SatisfactionError("not_open")
    survey.status = SurveyStatus.CLOSED
    session.add(survey)
    session.flush()
    return survey


def rated_items(session: Session, compound: Compound) -> list[PlanItem]:
    """Return the items residents rate: the plan's included items whose works are done."""
    return list(
        session.exec(
            select(PlanItem)
            .join(Plan, col(Plan.id) == PlanItem.plan_id)
            .where(
                Plan.compound_id == compound.id,
                col(PlanItem.included),
                PlanItem.status == WorkStatus.DONE,
            )
            .order_by(col(PlanItem.position), col(PlanItem.id))
        ).all()
    )


# -- answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """A household's answer, already validated (each score 1-5 or None)."""

    overall: int
    process: int | None = None
    management: int | None = None
    #: Plan item id -> score, for the done items rated.
    items: dict[int, int] = field(default_factory=dict)
    comment: str = ""


@dataclass(frozen=True)
class Stored:
    """The household's stored answer and what the submission did."""

    answer: SatisfactionAnswer
    outcome: Outcome


def _content_key(form_key: str, household: Household, ratings: Ratings) -> str:
    """Key a form's submission by what it said: the same form sent again changed is new."""
    said = repr((household.id, ratings.overall, ratings.process, ratings.management))
    said += repr(sorted(ratings.items.items())) + ratings.comment
    return hashlib.sha256(f"satisfaction|{form_key}|{said}".encode()).hexdigest()


def answer_of(session: Session, survey: Survey, household: Household) -> SatisfactionAnswer | None:
    """Return the household's current answer, if any."""
    return session.exec(
        select(SatisfactionAnswer).where(
            SatisfactionAnswer.survey_id == survey.id,
            SatisfactionAnswer.household_id == household.id,
        )
    ).first()


def scores_of(session: Session, answer: SatisfactionAnswer) -> dict[int, int]:
    """Return an answer's item scores by plan item id."""
    return dict(
        session.exec(
            select(SatisfactionRating.plan_item_id, SatisfactionRating.score).where(
                SatisfactionRating.answer_id == answer.id
            )
        ).all()
    )


def submit_answer(
    session: Session,
    *,
    survey: Survey,
    household: Household,
    ratings: Ratings,
    submission_key: str,
    channel: Channel = Channel.QR,
    verified: bool = False,
) -> Stored:
    """Store the household's answer, replacing its earlier one in place; flush, do not commit.

    A key seen before returns the answer stored then (a double tap or a retry). An
    answer given with the household's code is not replaced by one without it.
    """
    key = _content_key(submission_key, household, ratings)
    lock_household(session, household)
    repeated = session.exec(
        select(SatisfactionAnswer).where(SatisfactionAnswer.submission_key == key)
    ).first()
    if repeated is not None:
        return Stored(repeated, Outcome.DUPLICATE)
    answer = answer_of(session, survey, household)
    outcome = Outcome.REPLACED
    if answer is not None and answer.verified and not verified:
        raise VerifiedAnswerExists(household.label)
    if answer is None:
        outcome = Outcome.CREATED
        answer = SatisfactionAnswer(
            survey_id=row_id(survey.id), household_id=row_id(household.id), submission_key=key
        )
    else:
        session.execute(
            delete(SatisfactionRating).where(col(SatisfactionRating.answer_id) == answer.id)
        )
    answer.overall, answer.process = ratings.overall, ratings.process
    answer.management, answer.comment = ratings.management, ratings.comment
    answer.channel, answer.verified = str(channel), verified
    answer.submission_key, answer.updated_at = key, utcnow()
    session.add(answer)
    session.flush()
    for plan_item_id, score in sorted(ratings.items.items()):
        session.add(
            SatisfactionRating(answer_id=row_id(answer.id), plan_item_id=plan_item_id, score=score)
        )
    session.flush()
    return Stored(answer, outcome)


def answered_count(session: Session, survey: Survey) -> int:
    """Count the households whose answer counts (verified only where codes are required)."""
    query = select(func.count()).select_from(SatisfactionAnswer).where(counted(survey))
    return int(session.exec(query).one())


def counted(survey: Survey) -> sa.ColumnElement[bool]:
    """The answers of the survey that count (verified only where codes are required)."""
    where = col(SatisfactionAnswer.survey_id) == survey.id
    if survey.mode == SurveyMode.CODES:
        where = sa.and_(where, col(SatisfactionAnswer.verified))
    return where


# -- demo --------------------------------------------------------------------------------


def demo_satisfaction(
    session: Session, compound: Compound, today: date, *, share: float = 0.6, seed: int = 9
) -> Survey:
    """Open the compound's satisfaction survey and answer it in about `share` of its homes; flush.

    Deterministic (seeded by `seed` and the compound's code). Households whose needs
    answer wanted a done item rate it higher. The compound should be in the evaluation
    phase for residents to answer more; the survey is opened whatever its phase.
    """
    survey = current(session, compound)
    if survey is None:
        survey = Survey(
            compound_id=row_id(compound.id),
            phase=SurveyPhase.SATISFACTION,
            status=SurveyStatus.OPEN,
            mode=SurveyMode.BOTH,
            opens_on=today,
        )
        session.add(survey)
        session.flush()
    draw = random.Random(f"{seed}:{compound.code}")
    items = [item for item in rated_items(session, compound)]
    needs = current_survey(session, compound)
    wished: dict[int, set[str]] = defaultdict(set)
    if needs is not None:
        for household_id, item_id in session.execute(
            sa.select(col(Ballot.household_id), col(BallotItem.item_id))
            .join(Ballot, col(Ballot.id) == BallotItem.ballot_id)
            .where(col(Ballot.survey_id) == needs.id, col(Ballot.is_current))
        ).all():
            wished[household_id].add(item_id)
    homes = session.exec(
        select(Household).where(Household.compound_id == compound.id).order_by(col(Household.id))
    ).all()
    remarks = (
        "楼道干净多了，谢谢！",
        "施工期间噪音有点大，晚上也在干活。",
        "希望以后物业能管好，别又乱了。",
        "路面平整了，老人出门方便多了。",
        "工期拖得有点长。",
        "施工队很负责，垃圾每天都清。",
    )
    chosen = draw.sample(list(homes), round(share * len(homes)))
    for home in sorted(chosen, key=lambda h: row_id(h.id)):
        leaning = draw.choice((-1, 0, 0, 1))
        scores = {
            row_id(item.id): _demo_score(
                draw,
                4 + (leaning > 0)
                if item.item_id in wished[row_id(home.id)]
                else 3 + (leaning >= 0),
            )
            for item in items
            if draw.random() < 0.85
        }
        answer = SatisfactionAnswer(
            survey_id=row_id(survey.id),
            household_id=row_id(home.id),
            overall=_demo_score(draw, 4 + leaning // 2),
            process=_demo_score(draw, 3 + leaning) if draw.random() < 0.9 else None,
            management=_demo_score(draw, 3) if draw.random() < 0.8 else None,
            comment=draw.choice(remarks) if draw.random() < 0.25 else "",
            channel=str(Channel.QR),
            submission_key=hashlib.sha256(f"demo|{survey.id}|{home.id}".encode()).hexdigest(),
        )
        session.add(answer)
        session.flush()
        for plan_item_id, value in scores.items():
            session.add(
                SatisfactionRating(
                    answer_id=row_id(answer.id), plan_item_id=plan_item_id, score=value
                )
            )
    session.flush()
    return survey


def _demo_score(draw: random.Random, centre: int) -> int:
    """A rating scattered around centre, kept on the scale."""
    return max(1, min(5, centre + draw.choice((-1, 0, 0, 0, 1))))
