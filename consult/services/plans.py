"""The renovation plan: drafted from the menu and published for its notice.

The menu "supports" an item when the budget's selection takes it (a compound with
a budget) or, without a budget, when more than half of the households that
answered approved it. The plan keeps the menu's figures as they were when it was
drafted, so that the reasons it asks for do not shift under the facilitator.
Editing the lines is in plan_edits.py; the notice's comments in plan_notice.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from consult.catalog import CATEGORIES
from consult.models import (
    Account,
    Building,
    CatalogItem,
    Compound,
    Phase,
    Unit,
)
from consult.models._base import row_id, utcnow
from consult.models.cycle import Plan, PlanItem, Scope
from consult.services import phases
from consult.services.surveys import current_survey
from consult.services.tallies import compound_menu

#: Phases in which the plan may be drafted and published (NOTICE: to fix it).
DRAFTING = (Phase.NEEDS, Phase.PLAN, Phase.NOTICE)
#: Largest cost a person may type, in yuan (ten thousand million: a typo, not a plan).
MAX_COST = 10**10
TITLE_MAX, REASON_MAX, TEXT_MAX = 160, 500, 1000


class PlanError(ValueError):
    """A change to the plan that cannot be made; `code` says why, `detail` names what."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


# -- reading ---------------------------------------------------------------------------------


def plan_of(session: Session, compound: Compound) -> Plan | None:
    """Return the compound's plan, if one was started."""
    return session.exec(select(Plan).where(Plan.compound_id == compound.id)).first()


def items_of(session: Session, plan: Plan) -> list[PlanItem]:
    """Return the plan's lines in plan order."""
    return list(
        session.exec(
            select(PlanItem)
            .where(PlanItem.plan_id == plan.id)
            .order_by(col(PlanItem.position), col(PlanItem.id))
        ).all()
    )


def can_draft(compound: Compound) -> bool:
    """Whether the compound's phase lets the plan be drafted and published."""
    return phases.current_phase(compound) in DRAFTING


def notice_open(compound: Compound, plan: Plan | None, today: date) -> bool:
    """Whether residents may comment now: published, in the notice phase, not past its last day."""
    return (
        plan is not None
        and plan.published is not None
        and plan.notice_until is not None
        and phases.current_phase(compound) == Phase.NOTICE
        and today <= plan.notice_until
    )


def why_not_move(
    session: Session, compound: Compound, plan: Plan | None, phase: Phase, today: date
) -> str | None:
    """Why the compound may not move forward to the phase now (None: it may).

    "no_plan": the notice and what follows it need a published plan (publishing
    opens the notice). "notice_running": the owners' vote and the works wait until
    the notice has ended; it is never cut short, whichever phase the compound is in.
    "unpublished_changes": the plan was changed after it was published; what the
    owners vote on and the works carry out is what residents were shown, so it is
    published again first. Going back, to correct a mistake, is always allowed.
    """
    order = list(Phase)
    if order.index(phase) <= order.index(phases.current_phase(compound)):
        return None
    if order.index(phase) < order.index(Phase.NOTICE):
        return None
    if plan is None or plan.published is None or plan.notice_until is None:
        return "no_plan"
    if order.index(phase) > order.index(Phase.NOTICE):
        if today <= plan.notice_until:
            return "notice_running"
        if unpublished_changes(session, plan):
            return "unpublished_changes"
    return None


def unpublished_changes(session: Session, plan: Plan) -> bool:
    """Whether the plan's lines differ from the version residents were shown."""
    if plan.published is None:
        return True

    def lines(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
        return [{k: v for k, v in line.items() if k != "title_en"} for line in snapshot["items"]]

    return lines(snapshot(session, plan, items_of(session, plan))) != lines(plan.published)


def reason_needed(item: PlanItem) -> bool:
    """Whether the line needs a reason: included though unsupported, or supported but left out."""
    return item.included != item.supported


def missing_reasons(items: list[PlanItem]) -> list[PlanItem]:
    """Return the lines that need a reason and have none."""
    return [item for item in items if reason_needed(item) and not item.reason.strip()]


@dataclass(frozen=True)
class Where:
    """One choice of the scope picker: the whole compound, a building, or a unit."""

    value: str
    scope: Scope
    building: str | None = None
    unit: str | None = None
    building_id: int | None = None
    unit_id: int | None = None


def scope_choices(session: Session, compound: Compound) -> list[Where]:
    """Return the compound, each building, and each unit of it, in residents' order."""
    rows = session.exec(
        select(Building.id, Building.number, Unit.id, Unit.number)
        .join(Unit, col(Unit.building_id) == Building.id, isouter=True)
        .where(Building.compound_id == compound.id)
        .order_by(col(Building.position), col(Building.id), col(Unit.position), col(Unit.id))
    ).all()
    choices = [Where("compound", Scope.COMPOUND)]
    for building_id, building, unit_id, unit in rows:
        if choices[-1].building_id != building_id:
            choices.append(Where(f"b{building_id}", Scope.BUILDING, building, None, building_id))
        if unit_id is not None:
            choices.append(Where(f"u{unit_id}", Scope.UNIT, building, unit, building_id, unit_id))
    return choices


def where_of(item: PlanItem) -> str:
    """Return the scope picker's value for a line."""
    if item.scope == Scope.UNIT and item.unit_id is not None:
        return f"u{item.unit_id}"
    if item.scope == Scope.BUILDING and item.building_id is not None:
        return f"b{item.building_id}"
    return "compound"


# -- drafting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuLine:
    """An item's place on the compound's menu."""

    id: str
    rank: int
    approvals: int
    support: float
    supported: bool


@dataclass(frozen=True)
class MenuFigures:
    """The menu as the plan reads it: each item's line, the rule, the answers counted."""

    lines: dict[str, MenuLine]
    rule: str
    responses: int


def menu_figures(session: Session, compound: Compound) -> MenuFigures | None:
    """Tally the needs survey as the facilitators' menu page does; None without a survey."""
    survey = current_survey(session, compound)
    if survey is None:
        return None
    menu = compound_menu(session, compound, survey)
    responses = int(menu["responses"])
    by_budget = "selection" in menu
    lines = {
        entry["id"]: MenuLine(
            entry["id"],
            int(entry["rank"]),
            int(entry["approvals"]),
            float(entry["support"]),
            bool(entry.get("selected")) if by_budget else 2 * entry["approvals"] > responses,
        )
        for entry in menu["items"]
    }
    return MenuFigures(lines, "budget" if by_budget else "majority", responses)


def start_plan(session: Session, compound: Compound) -> Plan:
    """Return the compound's plan, creating an empty draft; flush."""
    plan = plan_of(session, compound)
    if plan is None:
        plan = Plan(compound_id=row_id(compound.id))
        session.add(plan)
        session.flush()
    return plan


def check_drafting(compound: Compound) -> None:
    """Raise PlanError("closed") when the compound's phase does not let the plan change."""
    if not can_draft(compound):
        raise PlanError("closed")


def _set_figures(item: PlanItem, line: MenuLine | None) -> None:
    item.supported = line.supported if line else False
    item.menu_rank = line.rank if line else None
    item.menu_approvals = line.approvals if line else None
    item.menu_support = line.support if line else None


def draft_from_menu(session: Session, compound: Compound) -> Plan:
    """Put the items the menu supports in the plan and refresh every line's figures; flush.

    Lines already in the plan keep what the facilitator chose (included, scope, cost,
    dates, reason); only their menu figures change. Raises PlanError("closed") out of
    phase and PlanError("no_survey") without a needs survey.
    """
    check_drafting(compound)
    figures = menu_figures(session, compound)
    if figures is None:
        raise PlanError("no_survey")
    plan = start_plan(session, compound)
    items = items_of(session, plan)
    present = {item.item_id: item for item in items if item.item_id}
    for item in items:
        if item.item_id:
            _set_figures(item, figures.lines.get(item.item_id))
            session.add(item)
    wanted = [line for line in figures.lines.values() if line.supported]
    catalogue = _catalogue(session, [line.id for line in wanted if line.id not in present])
    position = max((item.position for item in items), default=0)
    for line in sorted(wanted, key=lambda line: line.rank):
        if line.id in present or line.id not in catalogue:
            continue
        position += 1
        session.add(_line_from_catalogue(plan, catalogue[line.id], line, position))
    plan.menu_rule, plan.menu_responses = figures.rule, figures.responses
    plan.drafted_at = plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    return plan


def _catalogue(session: Session, ids: list[str]) -> dict[str, CatalogItem]:
    if not ids:
        return {}
    rows = session.exec(select(CatalogItem).where(col(CatalogItem.id).in_(ids))).all()
    return {row.id: row for row in rows}


def _line_from_catalogue(
    plan: Plan, catalogue: CatalogItem, line: MenuLine | None, position: int
) -> PlanItem:
    item = PlanItem(
        plan_id=row_id(plan.id),
        item_id=catalogue.id,
        title=catalogue.name_zh,
        category=str(catalogue.category),
        cost=catalogue.cost,
        position=position,
    )
    _set_figures(item, line)
    item.included = item.supported
    return item


def add_item(
    session: Session,
    compound: Compound,
    *,
    item_id: str = "",
    title: str = "",
    category: str = "",
    reason: str = "",
) -> PlanItem:
    """Add a menu item or an item written in, included; flush.

    Raises PlanError: "closed", "unknown_item", "already", "no_title", "long_title",
    "bad_category", "reason_needed", "long_reason".
    """
    check_drafting(compound)
    plan = start_plan(session, compound)
    items = items_of(session, plan)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise PlanError("long_reason")
    position = max((item.position for item in items), default=0) + 1
    if item_id:
        figures = menu_figures(session, compound)
        catalogue = _catalogue(session, [item_id]).get(item_id)
        if figures is None or catalogue is None or item_id not in figures.lines:
            raise PlanError("unknown_item")
        if any(item.item_id == item_id for item in items):
            raise PlanError("already")
        line = _line_from_catalogue(plan, catalogue, figures.lines[item_id], position)
        line.included = True
    else:
        title = " ".join(title.split())
        if not title:
            raise PlanError("no_title")
        if len(title) > TITLE_MAX:
            raise PlanError("long_title")
        if category not in CATEGORIES:
            raise PlanError("bad_category")
        line = PlanItem(plan_id=row_id(plan.id), title=title, category=category, position=position)
    line.reason = reason
    if reason_needed(line) and not reason:
        raise PlanError("reason_needed")
    session.add(line)
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    return line


# -- publishing ------------------------------------------------------------------------------


def default_notice_until(today: date, days: int) -> date:
    """Return the default last day of the notice: `days` days from today."""
    return today + timedelta(days=days)


def lock_plan(session: Session, plan: Plan) -> None:
    """Make publications of one plan queue (see `lock_household`), then read it afresh."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Plan).where(col(Plan.id) == plan.id).values(id=Plan.id))
    else:
        session.exec(select(Plan.id).where(Plan.id == plan.id).with_for_update()).one()
    session.refresh(plan)


def publish(
    session: Session,
    compound: Compound,
    account: Account,
    *,
    contact: str,
    summary: str,
    notice_until: date,
    today: date,
) -> Plan:
    """Publish the plan as a new version and open its notice; flush.

    Moves the compound to the notice phase from the needs or plan phase. Raises
    PlanError: "closed" (out of phase), "empty" (nothing included), "reasons"
    (a required reason is missing; detail names the lines).
    """
    check_drafting(compound)
    plan = start_plan(session, compound)
    lock_plan(session, plan)
    items = items_of(session, plan)
    if not any(item.included for item in items):
        raise PlanError("empty")
    missing = missing_reasons(items)
    if missing:
        raise PlanError("reasons", "、".join(item.title for item in missing))
    plan.version += 1
    plan.contact, plan.summary, plan.notice_until = contact.strip(), summary.strip(), notice_until
    plan.published_at = plan.updated_at = utcnow()
    plan.published_by = account.id
    plan.published = snapshot(session, plan, items)
    session.add(plan)
    if phases.current_phase(compound) in (Phase.NEEDS, Phase.PLAN):
        phases.move_to(session, compound, Phase.NOTICE, today)
    if phases.current_phase(compound) == Phase.NOTICE:
        # The notice's dates on the timeline are the plan's: from today to its last day.
        dates = {step.phase: step for step in phases.timeline(session, compound)}
        starts = dates[Phase.NOTICE].starts_on
        phases.set_dates(
            session,
            compound,
            {Phase.NOTICE: (starts if starts and starts <= today else today, notice_until)},
        )
    session.flush()
    return plan


def snapshot(session: Session, plan: Plan, items: list[PlanItem]) -> dict[str, Any]:
    """Return the plan as residents read it, frozen at publication."""
    names = _catalogue(session, [item.item_id for item in items if item.item_id])
    numbers = {
        where.value: where
        for where in scope_choices(session, _compound(session, plan))
        if where.scope != Scope.COMPOUND
    }
    lines = []
    for item in items:
        where = numbers.get(where_of(item))
        catalogue = names.get(item.item_id or "")
        lines.append(
            {
                "id": item.id,
                "item_id": item.item_id,
                "title": item.title,
                "title_en": catalogue.name_en if catalogue else item.title,
                "category": item.category,
                "included": item.included,
                "supported": item.supported,
                "scope": str(where.scope) if where else "compound",
                "building": where.building if where else None,
                "unit": where.unit if where else None,
                "cost": item.cost,
                "starts_on": item.starts_on.isoformat() if item.starts_on else None,
                "ends_on": item.ends_on.isoformat() if item.ends_on else None,
                "reason": item.reason,
            }
        )
    return {"version": plan.version, "items": lines}


def _compound(session: Session, plan: Plan) -> Compound:
    compound = session.get(Compound, plan.compound_id)
    assert compound is not None
    return compound
