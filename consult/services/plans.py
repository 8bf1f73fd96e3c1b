"""The renovation plan: drafted from the menu, published for its notice, commented on.

The menu "supports" an item when the budget's selection takes it (a compound with
a budget) or, without a budget, when more than half of the households that
answered approved it. The plan keeps the menu's figures as they were when it was
drafted, so that the reasons it asks for do not shift under the facilitator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    Household,
    Phase,
    Unit,
)
from consult.models._base import row_id, utcnow
from consult.models.cycle import CommentKind, Plan, PlanComment, PlanItem, Scope
from consult.services import phases
from consult.services.ballots import Outcome, lock_household
from consult.services.surveys import current_survey, local_today
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


class VerifiedCommentExists(Exception):
    """An entry sent without the household's code may not replace one sent with it."""


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


def _check_drafting(compound: Compound) -> None:
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
    _check_drafting(compound)
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
    _check_drafting(compound)
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


@dataclass
class Edit:
    """What the facilitator typed for one line, as read from the form."""

    included: bool
    where: str
    cost: str
    starts_on: str
    ends_on: str
    reason: str
    #: Filled by `check_edit`.
    errors: list[str] = field(default_factory=list)


def _day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


def check_edit(item: PlanItem, edit: Edit, choices: Mapping[str, Where]) -> dict[str, Any]:
    """Return a line's new values, or record in `edit.errors` why they cannot be.

    Error codes: bad_scope, bad_cost, bad_date, date_order, long_reason,
    reason_needed_in (included though unsupported), reason_needed_out (supported, left out).
    """
    where = choices.get(edit.where)
    if where is None:
        edit.errors.append("bad_scope")
    cost_text = edit.cost.strip().replace(",", "").replace("，", "")
    cost: int | None = None
    if cost_text:
        if not (cost_text.isascii() and cost_text.isdecimal()) or int(cost_text) >= MAX_COST:
            edit.errors.append("bad_cost")
        else:
            cost = int(cost_text)
    starts_on = ends_on = None
    try:
        starts_on, ends_on = _day(edit.starts_on), _day(edit.ends_on)
    except ValueError:
        edit.errors.append("bad_date")
    if starts_on and ends_on and ends_on < starts_on:
        edit.errors.append("date_order")
    reason = edit.reason.strip()
    if len(reason) > REASON_MAX:
        edit.errors.append("long_reason")
    if edit.included != item.supported and not reason:
        edit.errors.append("reason_needed_in" if edit.included else "reason_needed_out")
    if edit.errors or where is None:
        return {}
    return {
        "included": edit.included,
        "scope": where.scope,
        "building_id": where.building_id,
        "unit_id": where.unit_id,
        "cost": cost,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "reason": reason,
    }


def save_edits(
    session: Session,
    compound: Compound,
    edits: Mapping[int, Edit],
    remove: int | None = None,
) -> bool:
    """Apply every line's edit (and remove one line) if all are valid; flush.

    Returns False, changing nothing, when an edit has errors (they are in the edits).
    Raises PlanError("closed") out of phase, PlanError("commented") when the line to
    remove has residents' comments (leave it out instead).
    """
    _check_drafting(compound)
    plan = start_plan(session, compound)
    items = {row_id(item.id): item for item in items_of(session, plan)}
    choices = {where.value: where for where in scope_choices(session, compound)}
    values = {
        item_id: check_edit(items[item_id], edit, choices)
        for item_id, edit in edits.items()
        if item_id in items and item_id != remove
    }
    if any(edit.errors for edit in edits.values()):
        return False
    if remove is not None and remove in items:
        if session.exec(select(PlanComment.id).where(PlanComment.plan_item_id == remove)).first():
            raise PlanError("commented", items[remove].title)
        session.delete(items[remove])
    for item_id, new in values.items():
        item = items[item_id]
        if any(getattr(item, name) != value for name, value in new.items()):
            for name, value in new.items():
                setattr(item, name, value)
            item.updated_at = utcnow()
            session.add(item)
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    return True


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
    _check_drafting(compound)
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


# -- comments --------------------------------------------------------------------------------


def comment_key(form_key: str, household: Household, kind: str, item: int | None, text: str) -> str:
    """Return the key stored for a form's key together with what it said."""
    said = repr((household.id, kind, item, text))
    return hashlib.sha256(f"plan|{form_key}|{said}".encode()).hexdigest()


def submit_comment(
    session: Session,
    plan: Plan,
    household: Household,
    *,
    kind: CommentKind,
    plan_item_id: int | None,
    text: str,
    form_key: str,
    verified: bool,
) -> tuple[PlanComment, Outcome]:
    """Store the household's one entry on the plan, replacing its earlier one; flush.

    A form sent twice returns the entry stored the first time. A new text clears the
    facilitator's answer to the old one. Raises VerifiedCommentExists when an entry sent
    with the household's code would be replaced without it.
    """
    key = comment_key(form_key, household, str(kind), plan_item_id, text)
    lock_household(session, household)
    stored = session.exec(select(PlanComment).where(PlanComment.submission_key == key)).first()
    if stored is not None:
        return stored, Outcome.DUPLICATE
    entry = session.exec(
        select(PlanComment).where(
            PlanComment.plan_id == plan.id, PlanComment.household_id == household.id
        )
    ).first()
    if entry is not None and entry.verified and not verified:
        raise VerifiedCommentExists(household.label)
    outcome = Outcome.REPLACED if entry else Outcome.CREATED
    if entry is None:
        entry = PlanComment(
            plan_id=row_id(plan.id), household_id=row_id(household.id), text=text,
            submission_key=key,
        )  # fmt: skip
    entry.kind, entry.plan_item_id, entry.text = kind, plan_item_id, text
    entry.verified, entry.submission_key, entry.updated_at = verified, key, utcnow()
    entry.answer, entry.answered_at, entry.answered_by = "", None, None
    session.add(entry)
    session.flush()
    return entry, outcome


@dataclass(frozen=True)
class Entry:
    """A comment with what the pages show beside it."""

    comment: PlanComment
    #: The household's building number (residents' page) and label (staff pages).
    building: str
    label: str


def entries(session: Session, plan: Plan) -> list[Entry]:
    """Return every entry: objections first, then unanswered first, then oldest first."""
    rows = session.exec(
        select(PlanComment, Household.label, Building.number)
        .join(Household, col(Household.id) == PlanComment.household_id)
        .join(Unit, col(Unit.id) == Household.unit_id)
        .join(Building, col(Building.id) == Unit.building_id)
        .where(PlanComment.plan_id == plan.id)
    ).all()
    found = [Entry(comment, building, label) for comment, label, building in rows]
    return sorted(
        found,
        key=lambda e: (
            e.comment.kind != CommentKind.OBJECTION,
            bool(e.comment.answer),
            e.comment.created_at,
            e.comment.id or 0,
        ),
    )


def answer_comment(session: Session, comment: PlanComment, account: Account, text: str) -> None:
    """Set (or, with an empty text, withdraw) the facilitator's answer; flush."""
    text = text.strip()
    if len(text) > TEXT_MAX:
        raise PlanError("long_answer")
    comment.answer = text
    comment.answered_at = utcnow() if text else None
    comment.answered_by = account.id if text else None
    session.add(comment)
    session.flush()


# -- demo ------------------------------------------------------------------------------------

#: Items done stairwell by stairwell or building by building in the demo plan.
UNIT_ITEMS = ("elevator_retrofit", "stairwell_repair", "corridor_clearance", "flue_shaft_fix")
BUILDING_ITEMS = ("roof_waterproofing", "exterior_wall_repair", "building_energy_saving")
DEMO_COMMENTS = (
    (CommentKind.OBJECTION, 0, "电梯加装后一楼采光会受影响，希望先开协调会再定方案。"),
    (CommentKind.COMMENT, 1, "屋面防水请安排在雨季之前完成，去年顶楼漏水很严重。"),
    (CommentKind.COMMENT, None, "施工期间请提前在单元门口张贴停水停电通知，方便老人安排。"),
    (CommentKind.OBJECTION, 2, "停车位改造不要占用楼前绿地，孩子们需要活动的地方。"),
)
DEMO_ANSWERS = (
    "已安排下周三晚7点在居委会召开低层住户协调会，会上公布采光测算报告。",
    "已与施工单位确认：屋面防水排在5月完成，雨季前完工。",
)


def demo_plan(
    session: Session, compound: Compound, account: Account, today: date | None = None
) -> Plan:
    """Draft the plan from the demo menu, publish it on `today`, add residents' comments; flush.

    The compound must be in the needs, plan or notice phase; it is left in the notice.
    """
    today = today or local_today()
    plan = draft_from_menu(session, compound)
    choices = scope_choices(session, compound)
    buildings = [w for w in choices if w.scope == Scope.BUILDING]
    units = [w for w in choices if w.scope == Scope.UNIT]
    items = items_of(session, plan)
    for number, item in enumerate(items):
        where = choices[0]
        if item.item_id in UNIT_ITEMS and units:
            where = units[number % len(units)]
        elif item.item_id in BUILDING_ITEMS and buildings:
            where = buildings[number % len(buildings)]
        item.scope, item.building_id, item.unit_id = where.scope, where.building_id, where.unit_id
        item.cost = item.cost or 80_000 + 20_000 * (number % 5)
        item.starts_on = today + timedelta(days=45 + 14 * number)
        item.ends_on = item.starts_on + timedelta(days=30 + 10 * (number % 4))
        session.add(item)
    if len(items) > 3:
        items[-1].included = False
        items[-1].reason = "今年预算不足，列入下一年度改造计划，届时再征求意见。"
    figures = menu_figures(session, compound)
    offered = sorted(figures.lines.values(), key=lambda line: line.rank) if figures else []
    extra = next((line for line in offered if not line.supported), None)
    if extra is not None:
        added = add_item(
            session,
            compound,
            item_id=extra.id,
            reason="小马扎议事会上居民多次提出，投入小、受益面广，纳入本次改造。",
        )
        added.starts_on = today + timedelta(days=60)
        added.ends_on = today + timedelta(days=80)
        added.cost = added.cost or 60_000
        session.add(added)
    publish(
        session,
        compound,
        account,
        contact="居委会办公室（1号楼102室），工作日9:00–17:00，电话 0536-8123456",
        summary="根据问需调查的点单结果和改造预算拟定，欢迎居民在公示期内提出意见。",
        notice_until=today + timedelta(days=7),
        today=today,
    )
    _demo_comments(session, compound, plan, account)
    return plan


def _demo_comments(session: Session, compound: Compound, plan: Plan, account: Account) -> None:
    included = [item for item in items_of(session, plan) if item.included]
    homes = session.exec(
        select(Household)
        .where(Household.compound_id == compound.id)
        .order_by(col(Household.id))
        .limit(40)
    ).all()
    for number, (kind, which, text) in enumerate(DEMO_COMMENTS):
        if number * 9 >= len(homes):
            break
        target = included[which % len(included)].id if which is not None and included else None
        entry, _ = submit_comment(
            session,
            plan,
            homes[number * 9],
            kind=kind,
            plan_item_id=target,
            text=text,
            form_key=f"demo-{compound.code}-{number}",
            verified=True,
        )
        if number < len(DEMO_ANSWERS):
            answer_comment(session, entry, account, DEMO_ANSWERS[number])
