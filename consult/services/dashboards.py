"""What planners compare: every compound's standing and the city's demand, item by item.

The city page needs, for hundreds of compounds, each one's top items, not the
whole statistical menu. Ranking by approvals (then priority points, then id) needs
only per-item sums, so one aggregate query over the current ballots gives every
compound's order; `compound_menu` gives the same order (a test holds them equal)
and is used for one compound's page, where the intervals and ties are shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from consult.models import (
    PHASES,
    ActionItem,
    ActionStatus,
    Ballot,
    BallotItem,
    CatalogItem,
    Compound,
    District,
    Household,
    Meeting,
    Phase,
    Publication,
    Survey,
    SurveyItem,
    SurveyMode,
    SurveyStatus,
)
from consult.models._base import row_id
from consult.services.city_tally import current_surveys
from consult.services.surveys import local_today
from consult.tally import collector_paused

#: How many leading items "ranks in the top" counts for city-wide demand.
TOP = 5


class ItemCount(NamedTuple):
    """One item's sums over a survey's counted ballots (a tuple: thousands per page)."""

    approvals: int
    borda: int
    elderly: int
    children: int


@dataclass
class SurveyCounts:
    """A survey's counted ballots and its items' sums."""

    ballots: int = 0
    elderly: int = 0
    children: int = 0
    items: dict[str, ItemCount] = field(default_factory=dict)
    #: The items the survey offers (approved or not).
    offered: set[str] = field(default_factory=set)

    def order(self) -> list[str]:
        """Return the approved items in menu order: approvals, priority points, then id."""
        return [item for item, _sums in sorted(self.items.items(), key=_menu_order)]


def _menu_order(entry: tuple[str, ItemCount]) -> tuple[int, int, str]:
    item, sums = entry
    return -sums[0], -sums[1], item


def _counted(query: Any, current: Any) -> Any:
    """Restrict a query over Ballot to the counted ballots of the current surveys.

    A survey answered with household codes counts verified ballots only, as the
    tally does.
    """
    return (
        query.join(Survey, col(Survey.id) == Ballot.survey_id)
        .where(col(Ballot.is_current), col(Ballot.survey_id).in_(current))
        .where(sa.or_(col(Survey.mode) != SurveyMode.CODES, col(Ballot.verified)))
    )


def survey_counts(session: Session) -> dict[int, SurveyCounts]:
    """Return, for every compound's current needs survey, its counted ballots and item sums.

    Priority points are the tally's Borda points: rank_depth - position for each
    ranked item, position counted among the ballot's ranked items still offered.
    """
    with collector_paused():  # tens of thousands of rows, no cycles
        return _survey_counts(session)


def _survey_counts(session: Session) -> dict[int, SurveyCounts]:
    current = current_surveys()
    counts: dict[int, SurveyCounts] = defaultdict(SurveyCounts)
    for survey_id, ballots, elderly, children in (
        session.connection()
        .execute(
            _counted(
                sa.select(
                    col(Ballot.survey_id),
                    func.count(),
                    func.sum(sa.case((col(Ballot.elderly), 1), else_=0)),
                    func.sum(sa.case((col(Ballot.children), 1), else_=0)),
                ),
                current,
            ).group_by(col(Ballot.survey_id))
        )
        .all()
    ):
        counts[survey_id] = SurveyCounts(int(ballots), int(elderly or 0), int(children or 0))

    offered = offered_items(session, current)
    for survey_id, on_menu in offered.items():
        counts[survey_id].offered = on_menu
    shifted: set[int] = set()
    nothing: set[str] = set()
    for survey_id, item_id, approved, borda, elderly, children in (
        session.connection().execute(_item_sums(_approvals(current, col(BallotItem.rank)))).all()
    ):
        if item_id in offered.get(survey_id, nothing):
            counts[survey_id].items[item_id] = ItemCount(
                approved, borda or 0, elderly or 0, children or 0
            )
        elif borda:
            shifted.add(survey_id)
    if shifted:
        # Ranked items the survey no longer offers: the others' positions close up, as
        # the tally reads them. Rare (items withdrawn mid-survey), so counted apart.
        _recount_positions(session, counts, offered, shifted)
    return counts


def offered_items(session: Session, surveys: Any) -> dict[int, set[str]]:
    """Return the items each of the surveys (ids or a subquery) offers."""
    offered: dict[int, set[str]] = defaultdict(set)
    for survey_id, item_id in (
        session.connection()
        .execute(
            sa.select(col(SurveyItem.survey_id), col(SurveyItem.item_id)).where(
                col(SurveyItem.survey_id).in_(surveys)
            )
        )
        .all()
    ):
        offered[survey_id].add(item_id)
    return offered


def _approvals(surveys: Any, rank: Any) -> Any:
    """Return the counted approvals of the surveys with the ballot's flags and `rank`."""
    return _counted(
        sa.select(
            col(Ballot.survey_id).label("survey_id"),
            col(BallotItem.item_id).label("item_id"),
            col(Ballot.elderly).label("elderly"),
            col(Ballot.children).label("children"),
            col(Survey.rank_depth).label("depth"),
            rank.label("position"),
        )
        .select_from(BallotItem)
        .join(Ballot, col(Ballot.id) == BallotItem.ballot_id),
        surveys,
    )


def _item_sums(approvals: Any) -> Any:
    """Sum approvals, priority points and segment approvals per survey and item."""
    rows = approvals.subquery()
    return sa.select(
        rows.c.survey_id,
        rows.c.item_id,
        func.count(),
        func.sum(
            sa.case((rows.c.position.is_not(None), rows.c.depth + 1 - rows.c.position), else_=0)
        ),
        func.sum(sa.case((rows.c.elderly, 1), else_=0)),
        func.sum(sa.case((rows.c.children, 1), else_=0)),
    ).group_by(rows.c.survey_id, rows.c.item_id)


def _recount_positions(
    session: Session,
    counts: dict[int, SurveyCounts],
    offered: dict[int, set[str]],
    surveys: set[int],
) -> None:
    """Recount the surveys' item sums with positions among the offered ranked items only."""
    position = sa.case(
        (
            col(BallotItem.rank).is_not(None),
            func.row_number().over(
                partition_by=(col(BallotItem.ballot_id), col(BallotItem.rank).is_(None)),
                order_by=col(BallotItem.rank),
            ),
        ),
        else_=None,
    )
    approvals = _approvals(list(surveys), position).join(
        SurveyItem,
        (col(SurveyItem.survey_id) == Ballot.survey_id)
        & (col(SurveyItem.item_id) == BallotItem.item_id),
    )
    for survey_id in surveys:
        counts[survey_id].items.clear()
    for survey_id, item_id, approved, borda, elderly, children in (
        session.connection().execute(_item_sums(approvals)).all()
    ):
        counts[survey_id].items[item_id] = ItemCount(
            int(approved), int(borda or 0), int(elderly or 0), int(children or 0)
        )


@dataclass(frozen=True)
class CompoundRow:
    """One line of the city page."""

    code: str
    name: str
    district_code: str
    district: str
    households: int
    #: Ballots counted (verified only where the survey asks for household codes).
    ballots: int
    #: The phase of the renovation cycle (models/phases.py).
    phase: str
    #: The needs survey: "none", "draft", "open", "closed" or "published".
    survey_stage: str
    #: The leading items in menu order (item ids), at most TOP.
    top: list[str]
    open_actions: int
    overdue_actions: int
    budget: int | None
    published_at: datetime | None

    @property
    def coverage(self) -> float:
        return self.ballots / self.households if self.households else 0.0

    def rank_of(self, item: str) -> int | None:
        """Return the item's place among the leading items, or None."""
        return self.top.index(item) + 1 if item in self.top else None


def compound_rows(
    session: Session,
    compounds: Iterable[Compound],
    counts: dict[int, SurveyCounts] | None = None,
    *,
    today: date | None = None,
) -> list[CompoundRow]:
    """Return the city page's lines for the compounds, in the given order."""
    compounds = list(compounds)
    ids = [compound.id for compound in compounds]
    counts = survey_counts(session) if counts is None else counts
    districts = {district.id: district for district in session.exec(select(District)).all()}
    households = dict(
        session.exec(
            select(Household.compound_id, func.count())
            .where(col(Household.compound_id).in_(ids))
            .group_by(col(Household.compound_id))
        ).all()
    )
    surveys = {
        compound_id: (survey_id, status)
        for survey_id, compound_id, status in session.exec(
            select(Survey.id, Survey.compound_id, Survey.status).where(
                col(Survey.id).in_(current_surveys()), col(Survey.compound_id).in_(ids)
            )
        ).all()
    }
    # Published results of the current survey (an earlier survey's do not count).
    published: dict[int, datetime] = {}
    for compound_id, of_survey, published_at in session.exec(
        select(Publication.compound_id, Publication.survey_id, func.max(Publication.published_at))
        .where(col(Publication.compound_id).in_(ids))
        .group_by(col(Publication.compound_id), col(Publication.survey_id))
    ).all():
        if surveys.get(compound_id, (None, None))[0] == of_survey:
            published[compound_id] = published_at
    day = today or local_today()
    actions: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for compound_id, due_on in (
        session.connection()
        .execute(
            sa.select(col(Meeting.compound_id), col(ActionItem.due_on))
            .join(Meeting, col(Meeting.id) == ActionItem.meeting_id)
            .where(col(ActionItem.status) != ActionStatus.DONE, col(Meeting.compound_id).in_(ids))
        )
        .all()
    ):
        actions[compound_id][0] += 1
        if due_on is not None and due_on < day:
            actions[compound_id][1] += 1
    rows = []
    for compound in compounds:
        survey_id, status = surveys.get(compound.id or 0, (None, None))
        tally = counts.get(survey_id or 0, SurveyCounts())
        if survey_id is None:
            stage = "none"
        elif compound.id in published:
            stage = "published"
        else:
            stage = str(status or SurveyStatus.DRAFT)
        district = districts[compound.district_id]
        open_actions, overdue = actions.get(compound.id or 0, (0, 0))
        rows.append(
            CompoundRow(
                code=compound.code,
                name=compound.name,
                district_code=district.code,
                district=district.name,
                households=int(households.get(compound.id or 0, 0)),
                ballots=tally.ballots,
                phase=compound.phase,
                survey_stage=stage,
                top=tally.order()[:TOP],
                open_actions=open_actions,
                overdue_actions=overdue,
                budget=compound.budget,
                published_at=published.get(compound.id or 0),
            )
        )
    return rows


#: How the city page may be sorted: key -> what to compare.
SORTS = {
    "name": lambda row: row.name,
    "district": lambda row: (row.district_code, row.name),
    "households": lambda row: row.households,
    "ballots": lambda row: row.ballots,
    "coverage": lambda row: row.coverage,
    "actions": lambda row: row.open_actions,
    "phase": lambda row: (PHASES.index(Phase(row.phase)) if row.phase in PHASES else 0, row.name),
}


@dataclass(frozen=True)
class Demand:
    """One catalogue item across the city."""

    id: str
    category: str
    name_zh: str
    name_en: str
    #: Compounds whose survey offers it.
    offered: int
    #: Compounds where it ranks among the TOP leading items.
    top: int
    #: Households approving it.
    approvals: int
    #: Ballots counted in the compounds offering it, and among them with elderly / children.
    ballots: int
    elderly_ballots: int
    children_ballots: int
    elderly_approvals: int
    children_approvals: int
    #: Estimated cost for one compound (yuan), when set.
    cost: int | None

    @property
    def share(self) -> float:
        return self.approvals / self.ballots if self.ballots else 0.0

    @property
    def elderly_share(self) -> float:
        return self.elderly_approvals / self.elderly_ballots if self.elderly_ballots else 0.0

    @property
    def children_share(self) -> float:
        return self.children_approvals / self.children_ballots if self.children_ballots else 0.0

    @property
    def money(self) -> int | None:
        """The cost of doing it in every compound where it ranks in the top, when costed."""
        return self.cost * self.top if self.cost is not None else None


def city_demand(
    session: Session, compounds: Iterable[Compound], counts: dict[int, SurveyCounts] | None = None
) -> list[Demand]:
    """Return every offered item's city-wide demand over the compounds, most wanted first."""
    ids = [compound.id for compound in compounds]
    counts = survey_counts(session) if counts is None else counts
    survey_ids = [
        row_id(survey_id)
        for survey_id in session.exec(
            select(Survey.id).where(
                col(Survey.id).in_(current_surveys()), col(Survey.compound_id).in_(ids)
            )
        ).all()
    ]
    # Each item's sums over the surveys offering it, in one pass over the surveys: for
    # each item, the surveys offering it, their ballots (all, with elderly, with
    # children), its approvals (all, elderly, children) and where it leads.
    sums: dict[str, list[int]] = {}
    for survey_id in survey_ids:  # the items each survey offers, read with the counts
        tally = counts.get(survey_id)
        if tally is None:
            continue
        for item_id in tally.offered:
            item_sums = sums.get(item_id) or sums.setdefault(item_id, [0] * 8)
            item_sums[0] += 1
            item_sums[1] += tally.ballots
            item_sums[2] += tally.elderly
            item_sums[3] += tally.children
        for item_id, counted in tally.items.items():
            if item_id in tally.offered:
                item_sums = sums[item_id]
                item_sums[4] += counted.approvals
                item_sums[5] += counted.elderly
                item_sums[6] += counted.children
        for leading in tally.order()[:TOP]:
            if leading in tally.offered:
                sums[leading][7] += 1
    catalogue = session.exec(select(CatalogItem).where(col(CatalogItem.id).in_(list(sums)))).all()
    demand = []
    for item in catalogue:
        offered, ballots, elderly, children, approvals, elderly_yes, children_yes, top = sums[
            item.id
        ]
        demand.append(
            Demand(
                id=item.id,
                category=str(item.category),
                name_zh=item.name_zh,
                name_en=item.name_en,
                offered=offered,
                top=top,
                approvals=approvals,
                ballots=ballots,
                elderly_ballots=elderly,
                children_ballots=children,
                elderly_approvals=elderly_yes,
                children_approvals=children_yes,
                cost=item.cost,
            )
        )
    demand.sort(key=lambda d: (-d.top, -d.approvals, d.id))
    return demand


@dataclass(frozen=True)
class SegmentRow:
    """One item's support among households with elderly, with children, and the others."""

    id: str
    elderly: float
    children: float
    others: float


@dataclass(frozen=True)
class Segments:
    """The segments' sizes and their support for the leading items."""

    elderly: int
    children: int
    others: int
    rows: list[SegmentRow]


def segment_support(
    document: dict[str, Any], menu: dict[str, Any], *, verified_only: bool, limit: int = 10
) -> Segments:
    """Return the support of the menu's leading items in each segment of the counted ballots.

    Households with elderly and with children overlap (a household may be both);
    "others" are those with neither.
    """
    ballots = [b for b in document["ballots"] if b.get("verified") or not verified_only]
    neither = [b for b in ballots if not b.get("elderly") and not b.get("children")]
    others: dict[str, int] = defaultdict(int)
    for ballot in neither:
        for item in ballot["approve"]:
            others[item] += 1
    leading = [entry for entry in menu["items"] if entry["approvals"]][:limit]
    elderly_n = leading[0]["segments"]["elderly"]["ballots"] if leading else 0
    children_n = leading[0]["segments"]["children"]["ballots"] if leading else 0

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    return Segments(
        elderly=elderly_n,
        children=children_n,
        others=len(neither),
        rows=[
            SegmentRow(
                id=entry["id"],
                elderly=share(entry["segments"]["elderly"]["approvals"], elderly_n),
                children=share(entry["segments"]["children"]["approvals"], children_n),
                others=share(others[entry["id"]], len(neither)),
            )
            for entry in leading
        ],
    )


def category_mix(menu: dict[str, Any]) -> list[tuple[str, int]]:
    """Return the approvals per category, in the official order of categories."""
    totals: dict[str, int] = {"basic": 0, "improvement": 0, "enhancement": 0}
    for entry in menu["items"]:
        totals[entry["category"]] = totals.get(entry["category"], 0) + int(entry["approvals"])
    return list(totals.items())
