"""The plan's public notice (公示): households' comments and objections, the answers; the demo."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from consult.models import Account, Building, Compound, Household, Unit
from consult.models._base import row_id, utcnow
from consult.models.cycle import CommentKind, Plan, PlanComment, Scope
from consult.services.ballots import Outcome, lock_household
from consult.services.plans import (
    TEXT_MAX,
    PlanError,
    add_item,
    draft_from_menu,
    items_of,
    menu_figures,
    publish,
    scope_choices,
)
from consult.services.surveys import local_today


class VerifiedCommentExists(Exception):
    """An entry sent without the household's code may not replace one sent with it."""


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
