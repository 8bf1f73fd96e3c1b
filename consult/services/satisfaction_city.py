"""Satisfaction across the city: compounds ranked, items with low satisfaction flagged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col

from consult.models import (
    Compound,
    Household,
    PlanItem,
    SatisfactionAnswer,
    SatisfactionRating,
    Survey,
    SurveyMode,
    SurveyPhase,
    SurveyStatus,
)
from consult.models._base import row_id
from consult.services.satisfaction import SCALE
from consult.services.satisfaction_results import Score, counts_row, score


@dataclass(frozen=True)
class LowRule:
    """When an item's satisfaction is flagged as low."""

    #: Items with fewer ratings are not judged.
    min_ratings: int = 5
    #: Flagged when the share satisfied is below this...
    share_below: float = 0.6
    #: ...or the mean rating below this.
    mean_below: float = 3.0

    def flags(self, score: Score) -> bool:
        """Whether the score counts as low satisfaction."""
        if score.ratings < self.min_ratings or score.mean is None or score.share is None:
            return False
        return score.share < self.share_below or score.mean < self.mean_below


#: The rule the planners' page flags items by (shown on the page).
LOW_SATISFACTION = LowRule()


# -- across the city -----------------------------------------------------------------------


@dataclass(frozen=True)
class CompoundScore:
    """A compound's overall satisfaction, for the planners' ranking."""

    compound: Compound
    households: int
    answered: int
    overall: Score


@dataclass(frozen=True)
class LowItem:
    """A done item whose satisfaction the rule flags."""

    compound: Compound
    plan_item_id: int
    title: str
    score: Score
    #: The catalogue item (None for an item the plan wrote in).
    item_id: str | None = None


def current_surveys() -> sa.ScalarSelect[int]:
    """Return a subquery of every compound's current satisfaction survey id."""
    return (
        sa.select(func.max(col(Survey.id)))
        .where(
            col(Survey.phase) == SurveyPhase.SATISFACTION, col(Survey.status) != SurveyStatus.DRAFT
        )
        .group_by(col(Survey.compound_id))
        .scalar_subquery()
    )


def city(
    session: Session, compounds: Iterable[Compound], rule: LowRule = LOW_SATISFACTION
) -> tuple[list[CompoundScore], list[LowItem]]:
    """Rank the compounds by overall satisfaction and flag the items the rule finds low.

    Three aggregate queries for any number of compounds. Compounds with fewer
    answers than the rule's minimum are not ranked among the rest: they come after
    them, and those without a satisfaction survey or answers last.
    """
    by_id = {row_id(c.id): c for c in compounds}
    if not by_id:
        return [], []
    ids = list(by_id)
    counted = sa.and_(
        col(SatisfactionAnswer.survey_id).in_(current_surveys()),
        col(Survey.compound_id).in_(ids),
        sa.or_(col(Survey.mode) != SurveyMode.CODES, col(SatisfactionAnswer.verified)),
    )
    households: dict[int, int] = {
        cid: int(n)
        for cid, n in session.execute(
            sa.select(col(Household.compound_id), func.count())
            .where(col(Household.compound_id).in_(ids))
            .group_by(col(Household.compound_id))
        ).all()
    }
    overall: dict[int, list[int]] = defaultdict(counts_row)
    answered: dict[int, int] = defaultdict(int)
    for cid, value, n in session.execute(
        sa.select(col(Survey.compound_id), col(SatisfactionAnswer.overall), func.count())
        .join(Survey, col(Survey.id) == SatisfactionAnswer.survey_id)
        .where(counted)
        .group_by(col(Survey.compound_id), col(SatisfactionAnswer.overall))
    ).all():
        answered[cid] += int(n)
        if value in SCALE:
            overall[cid][value - 1] += int(n)
    per_item: dict[tuple[int, int, str, str | None], list[int]] = defaultdict(counts_row)
    for cid, plan_item_id, title, item_id, value, n in session.execute(
        sa.select(
            col(Survey.compound_id),
            col(PlanItem.id),
            col(PlanItem.title),
            col(PlanItem.item_id),
            col(SatisfactionRating.score),
            func.count(),
        )
        .join(SatisfactionAnswer, col(SatisfactionAnswer.id) == SatisfactionRating.answer_id)
        .join(Survey, col(Survey.id) == SatisfactionAnswer.survey_id)
        .join(PlanItem, col(PlanItem.id) == SatisfactionRating.plan_item_id)
        .where(counted)
        .group_by(
            col(Survey.compound_id),
            col(PlanItem.id),
            col(PlanItem.title),
            col(PlanItem.item_id),
            col(SatisfactionRating.score),
        )
    ).all():
        if value in SCALE:
            per_item[(cid, plan_item_id, title, item_id)][value - 1] += int(n)
    ranking = [
        CompoundScore(
            c,
            households.get(cid, 0),
            answered.get(cid, 0),
            score(overall[cid], households.get(cid, 0)),
        )
        for cid, c in by_id.items()
    ]
    ranking.sort(
        key=lambda r: (
            r.overall.ratings < rule.min_ratings,  # too few answers to rank: after the rest
            r.overall.mean is None,
            -(r.overall.mean or 0),
            -(r.overall.share or 0),
            r.compound.code,
        )
    )
    low = [
        LowItem(by_id[cid], plan_item_id, title, figures, item_id)
        for (cid, plan_item_id, title, item_id), counts in per_item.items()
        if rule.flags(figures := score(counts, households.get(cid, 0)))
    ]
    low.sort(key=lambda item: (item.score.share or 0, item.score.mean or 0, item.compound.code))
    return ranking, low
