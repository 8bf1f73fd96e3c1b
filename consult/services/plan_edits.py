"""The facilitator's edits of the plan's lines: checked together, saved together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, select

from consult.models import Compound
from consult.models._base import row_id, utcnow
from consult.models.cycle import PlanComment, PlanItem
from consult.services.plans import (
    MAX_COST,
    REASON_MAX,
    PlanError,
    Where,
    check_drafting,
    items_of,
    plan_of,
    scope_choices,
)


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
    check_drafting(compound)
    plan = plan_of(session, compound)
    if plan is None:
        return True  # nothing to edit yet
    items = {row_id(item.id): item for item in items_of(session, plan)}
    choices = {where.value: where for where in scope_choices(session, compound)}
    values = {
        item_id: check_edit(items[item_id], edit, choices)
        for item_id, edit in edits.items()
        if item_id in items and item_id != remove
    }
    if any(edit.errors for edit in edits.values()):
        return False
    changed = False
    if remove is not None and remove in items:
        if session.exec(select(PlanComment.id).where(PlanComment.plan_item_id == remove)).first():
            raise PlanError("commented", items[remove].title)
        session.delete(items[remove])
        changed = True
    for item_id, new in values.items():
        item = items[item_id]
        if any(getattr(item, name) != value for name, value in new.items()):
            for name, value in new.items():
                setattr(item, name, value)
            item.updated_at = utcnow()
            session.add(item)
            changed = True
    if changed:  # a form sent unchanged changes nothing, not even the plan's date
        plan.updated_at = utcnow()
        session.add(plan)
    session.flush()
    return True
