"""The satisfaction survey's figures, and the survey set beside the needs survey and the plan.

Ratings are counted per question and item; the share satisfied (4 or 5) gets the
tally's Wilson interval with the finite-population correction over the compound's
households. Public pages withhold figures from fewer than PUBLIC_MIN_COUNT households.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from consult.models import (
    Ballot,
    BallotItem,
    Compound,
    Plan,
    PlanItem,
    SatisfactionAnswer,
    SatisfactionRating,
    Survey,
    WorkStatus,
)
from consult.models._base import row_id
from consult.services.places import household_count
from consult.services.results import PUBLIC_MIN_COUNT
from consult.services.satisfaction import SCALE, counted, rated_items
from consult.services.surveys import current_survey, offered_items
from consult.services.tallies import compound_menu
from consult.tally.stats import finite_population_z, wilson

#: A rating at least this high counts as satisfied.
SATISFIED = 4
#: How many of the needs menu's leading items "did the most wanted get done" follows.
TOP_WANTED = 5


# -- figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """The ratings of one question: how many, their mean, spread and share satisfied."""

    ratings: int
    #: How many rated 1, 2, 3, 4, 5 (empty when withheld).
    distribution: tuple[int, ...]
    mean: float | None
    satisfied: int
    #: Share satisfied (4 or 5) of those who rated, with its 95 % interval.
    share: float | None
    low: float | None
    high: float | None
    #: True on a public page when fewer than the minimum households rated.
    withheld: bool = False

    def percent(self, value: float | None) -> int | None:
        """Return a share as a whole percentage."""
        return None if value is None else round(100 * value)


def score(counts: Sequence[int], households: int) -> Score:
    """Return the figures of ratings counted per scale point (counts[0] rated 1).

    The interval is the tally's: Wilson with z shrunk by the finite-population
    correction over the compound's households, the point itself once all rated.
    No ratings: no mean and no share.
    """
    distribution = tuple(int(c) for c in counts)
    n = sum(distribution)
    if n == 0:
        return Score(0, distribution, None, 0, None, None, None)
    satisfied = sum(distribution[SATISFIED - 1 :])
    mean = sum(point * c for point, c in zip(SCALE, distribution, strict=True)) / n
    sizes = np.array([n], dtype=np.int64)
    z = finite_population_z(sizes, np.array([max(households, n)], dtype=np.int64))
    share, low, high = wilson(np.array([[satisfied]], dtype=np.int64), sizes, z)
    return Score(
        n, distribution, mean, satisfied, float(share[0, 0]), float(low[0, 0]), float(high[0, 0])
    )


def withheld(figures: Score, minimum: int) -> Score:
    """Return the score as a public page may show it: nothing from 1 to minimum - 1 ratings."""
    if figures.ratings == 0 or figures.ratings >= minimum:
        return figures
    return Score(0, (), None, 0, None, None, None, withheld=True)


@dataclass(frozen=True)
class ItemScore:
    """A done plan item and its ratings."""

    plan_item_id: int
    item_id: str | None
    title: str
    score: Score


@dataclass(frozen=True)
class Results:
    """A satisfaction survey's figures."""

    households: int
    answered: int
    overall: Score
    process: Score
    management: Score
    items: list[ItemScore]
    #: The households' own words, newest first (facilitators only).
    comments: list[str] = field(default_factory=list)


def counts_row() -> list[int]:
    """Return a fresh count per scale point."""
    return [0] * len(SCALE)


def results(session: Session, compound: Compound, survey: Survey) -> Results:
    """Count the survey's answers: overall, process, management and each done item."""
    households = household_count(session, compound)
    where = counted(survey)
    questions: dict[str, list[int]] = {
        name: counts_row() for name in ("overall", "process", "management")
    }
    comments: list[str] = []
    answered = 0
    for overall, process, management, comment in session.execute(
        sa.select(
            col(SatisfactionAnswer.overall),
            col(SatisfactionAnswer.process),
            col(SatisfactionAnswer.management),
            col(SatisfactionAnswer.comment),
        )
        .where(where)
        .order_by(col(SatisfactionAnswer.updated_at).desc())
    ).all():
        answered += 1
        for name, value in (("overall", overall), ("process", process), ("management", management)):
            if value in SCALE:
                questions[name][value - 1] += 1
        if comment:
            comments.append(comment)
    per_item: dict[int, list[int]] = defaultdict(counts_row)
    for plan_item_id, value, count in session.execute(
        sa.select(col(SatisfactionRating.plan_item_id), col(SatisfactionRating.score), func.count())
        .join(SatisfactionAnswer, col(SatisfactionAnswer.id) == SatisfactionRating.answer_id)
        .where(where)
        .group_by(col(SatisfactionRating.plan_item_id), col(SatisfactionRating.score))
    ).all():
        if value in SCALE:
            per_item[plan_item_id][value - 1] += int(count)
    return Results(
        households=households,
        answered=answered,
        overall=score(questions["overall"], households),
        process=score(questions["process"], households),
        management=score(questions["management"], households),
        items=[
            ItemScore(
                row_id(item.id),
                item.item_id,
                item.title,
                score(per_item[row_id(item.id)], households),
            )
            for item in rated_items(session, compound)
        ],
        comments=comments,
    )


def public(figures: Results, minimum: int = PUBLIC_MIN_COUNT) -> Results:
    """Return the results as residents see them: small counts withheld, no free text."""
    return replace(
        figures,
        overall=withheld(figures.overall, minimum),
        process=withheld(figures.process, minimum),
        management=withheld(figures.management, minimum),
        items=[replace(item, score=withheld(item.score, minimum)) for item in figures.items],
        comments=[],
    )


# -- beside the needs survey -----------------------------------------------------------


@dataclass(frozen=True)
class Beside:
    """An item as the needs survey ranked it, and what the plan and the works made of it."""

    item_id: str
    name_zh: str
    name_en: str
    #: Its rank in the needs menu (None: the needs survey did not offer it).
    needs_rank: int | None
    #: Households whose needs answer wanted it, and their share of those who answered.
    approvals: int | None
    support: float | None
    #: "done", "in_plan" (included, works not done), "left_out" or "not_in_plan".
    outcome: str
    #: The works' status of the plan item (None when not in the plan).
    status: str | None
    #: Why the plan left it out (or took it in against the menu).
    reason: str
    #: Satisfaction with it, when done.
    score: Score | None


@dataclass(frozen=True)
class WishScore:
    """A done item's satisfaction among the households that wanted it and the others."""

    plan_item_id: int
    name_zh: str
    name_en: str
    wanted: Score
    others: Score


@dataclass(frozen=True)
class Comparison:
    """The satisfaction survey beside the needs survey."""

    #: Households whose needs answer counted (0 without a needs survey).
    needs_responses: int
    #: The plan's catalogue items, in needs rank order.
    items: list[Beside]
    #: The needs menu's leading items and what happened to each.
    top: list[Beside]
    #: For each done catalogue item: satisfied among those who wanted it, and the others.
    wishes: list[WishScore]


def compare(session: Session, compound: Compound, figures: Results, survey: Survey) -> Comparison:
    """Set the results beside the compound's needs survey and its plan."""
    needs = current_survey(session, compound)
    menu = compound_menu(session, compound, needs) if needs is not None else None
    entries = {entry["id"]: entry for entry in (menu["items"] if menu else [])}
    names = _catalogue_names(session, needs)
    plan_items = session.exec(
        select(PlanItem)
        .join(Plan, col(Plan.id) == PlanItem.plan_id)
        .where(Plan.compound_id == compound.id, col(PlanItem.item_id).is_not(None))
        .order_by(col(PlanItem.position), col(PlanItem.id))
    ).all()
    scores = {item.plan_item_id: item.score for item in figures.items}
    planned: dict[str, PlanItem] = {}
    for line in plan_items:
        planned.setdefault(str(line.item_id), line)

    def beside(item_id: str) -> Beside:
        entry, line = entries.get(item_id), planned.get(item_id)
        zh, en = names.get(item_id, (line.title, line.title) if line else (item_id, item_id))
        return Beside(
            item_id=item_id,
            name_zh=zh,
            name_en=en,
            needs_rank=int(entry["rank"]) if entry else None,
            approvals=int(entry["approvals"]) if entry else None,
            support=float(entry["support"]) if entry else None,
            outcome=_outcome(line),
            status=str(line.status) if line else None,
            reason=line.reason if line else "",
            score=scores.get(row_id(line.id)) if line and _outcome(line) == "done" else None,
        )

    items = sorted(
        (beside(item_id) for item_id in planned),
        key=lambda b: (b.needs_rank is None, b.needs_rank or 0, b.item_id),
    )
    ranked = [entry["id"] for entry in (menu["items"] if menu else []) if entry["approvals"]]
    return Comparison(
        needs_responses=int(menu["responses"]) if menu else 0,
        items=items,
        top=[beside(item_id) for item_id in ranked[:TOP_WANTED]],
        wishes=_wishes(session, compound, survey, needs, figures, names),
    )


def _outcome(line: PlanItem | None) -> str:
    if line is None:
        return "not_in_plan"
    if not line.included:
        return "left_out"
    return "done" if line.status == WorkStatus.DONE else "in_plan"


def _catalogue_names(session: Session, needs: Survey | None) -> dict[str, tuple[str, str]]:
    if needs is None:
        return {}
    return {item.id: (item.name_zh, item.name_en) for item in offered_items(session, needs)}


def _wishes(
    session: Session,
    compound: Compound,
    survey: Survey,
    needs: Survey | None,
    figures: Results,
    names: dict[str, tuple[str, str]],
) -> list[WishScore]:
    """Split each done catalogue item's ratings by whether the household's needs answer wanted it."""
    done = [item for item in figures.items if item.item_id is not None]
    if needs is None or not done:
        return []
    wanted = sa.exists().where(
        col(Ballot.survey_id) == needs.id,
        col(Ballot.is_current),
        col(Ballot.household_id) == SatisfactionAnswer.household_id,
        col(BallotItem.ballot_id) == Ballot.id,
        col(BallotItem.item_id) == PlanItem.item_id,
    )
    split: dict[tuple[int, bool], list[int]] = defaultdict(counts_row)
    for plan_item_id, value, wished in session.execute(
        sa.select(col(SatisfactionRating.plan_item_id), col(SatisfactionRating.score), wanted)
        .join(SatisfactionAnswer, col(SatisfactionAnswer.id) == SatisfactionRating.answer_id)
        .join(PlanItem, col(PlanItem.id) == SatisfactionRating.plan_item_id)
        .where(counted(survey), col(PlanItem.item_id).is_not(None))
    ).all():
        if value in SCALE:
            split[(plan_item_id, bool(wished))][value - 1] += 1
    households = figures.households
    return [
        WishScore(
            item.plan_item_id,
            *names.get(str(item.item_id), (item.title, item.title)),
            wanted=score(split[(item.plan_item_id, True)], households),
            others=score(split[(item.plan_item_id, False)], households),
        )
        for item in done
    ]


def public_comparison(comparison: Comparison, minimum: int = PUBLIC_MIN_COUNT) -> Comparison:
    """Return the comparison as residents see it: figures from few households withheld."""

    def shown(row: Beside) -> Beside:
        hidden = row.approvals is not None and 0 < row.approvals < minimum
        return replace(
            row,
            approvals=None if hidden else row.approvals,
            support=None if hidden else row.support,
            score=withheld(row.score, minimum) if row.score else None,
        )

    return replace(
        comparison,
        items=[shown(row) for row in comparison.items],
        top=[shown(row) for row in comparison.top],
        wishes=[_split_shown(wish, minimum) for wish in comparison.wishes],
    )


def _split_shown(wish: WishScore, minimum: int) -> WishScore:
    """The wanted/others split as a public page may show it.

    The item's whole score is public, so one side of the split follows from the other:
    when either side is withheld, both are (else the small side is a subtraction away).
    """
    wanted, others = withheld(wish.wanted, minimum), withheld(wish.others, minimum)
    if wanted.withheld or others.withheld:
        wanted = withheld(wish.wanted, wish.wanted.ratings + 1) if wish.wanted.ratings else wanted
        others = withheld(wish.others, wish.others.ratings + 1) if wish.others.ratings else others
    return replace(wish, wanted=wanted, others=others)
