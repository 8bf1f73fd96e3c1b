"""The renovation plan: drafting it from the menu, publishing it, answering comments."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import col, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.errors import render_error
from consult.facilitators import bp
from consult.i18n import format_day
from consult.models import CatalogItem, Compound, Role
from consult.models.cycle import PlanComment
from consult.services import accounts, audit, plan_edits, plan_notice, plans, surveys
from consult.services.ballots import commit_with_retry

Page = str | tuple[str, int] | BaseResponse
RUN = (Role.ADMIN, Role.FACILITATOR)

MESSAGES = {
    "closed": _l("The plan is closed in this phase: it can no longer change."),
    "no_survey": _l("There is no needs survey yet: the plan cannot be drafted from a menu."),
    "unknown_item": _l("That item is not on this compound's menu."),
    "already": _l("That item is in the plan already."),
    "no_title": _l("Write what the item is."),
    "long_title": _l("Keep the item's name to 160 characters."),
    "bad_category": _l("Choose the item's category."),
    "reason_needed": _l("The menu does not support this item: say why it is in the plan."),
    "long_reason": _l("Keep the reason to 500 characters."),
    "commented": _l(
        "Residents commented on “%(detail)s”: it cannot be removed. Leave it out instead, "
        "with the reason."
    ),
    "empty": _l("Nothing to publish: include at least one item."),
    "reasons": _l("Give the missing reasons first: %(detail)s."),
    "long_answer": _l("Keep the answer to 1000 characters."),
    "bad_scope": _l("Choose where, among this compound's buildings and units."),
    "bad_cost": _l("Type the cost as a whole number of yuan."),
    "bad_date": _l("Type the dates as 2026-12-01."),
    "date_order": _l("The last day cannot come before the first."),
    "reason_needed_in": _l("Required: the menu does not support this item; say why it is in."),
    "reason_needed_out": _l("Required: the menu supports this item; say why it is left out."),
}


def message(error: plans.PlanError | str) -> str:
    """Return the translated sentence for a plan error or an error code."""
    code, detail = (error.code, error.detail) if isinstance(error, plans.PlanError) else (error, "")
    return str(MESSAGES[code]) % {"detail": detail} if code in MESSAGES else code


def _back(code: str) -> BaseResponse:
    return redirect(url_for("facilitators.plan", code=code), 303)


@bp.get("/c/<code>/plan")
@requires(compound="read")
def plan(code: str) -> Page:
    return _page(current_compound(code))


def _page(
    place: Compound,
    *,
    edits: dict[int, plan_edits.Edit] | None = None,
    publishing: dict[str, Any] | None = None,
    status: int = 200,
) -> Page:
    session = get_session()
    found = plans.plan_of(session, place)
    items = plans.items_of(session, found) if found else []
    figures = plans.menu_figures(session, place) if plans.can_draft(place) else None
    in_plan = {item.item_id for item in items}
    addable = (
        sorted((line for line in figures.lines.values() if line.id not in in_plan),
               key=lambda line: line.rank)
        if figures else []
    )  # fmt: skip
    wanted = {item.item_id for item in items if item.item_id} | {line.id for line in addable}
    names = {
        row.id: row
        for row in session.exec(select(CatalogItem).where(col(CatalogItem.id).in_(wanted))).all()
    }
    today = surveys.local_today()
    if publishing is None:
        publishing = {
            "contact": found.contact if found else "",
            "summary": found.summary if found else "",
            "notice_until": plans.default_notice_until(
                today, current_app.config["PUBLIC_NOTICE_DAYS"]
            ).isoformat(),
            "errors": {},
        }
    return render_template(
        "facilitators/plan.html",
        compound=place,
        plan=found,
        items=items,
        names=names,
        addable=addable,
        figures=figures,
        choices=plans.scope_choices(session, place),
        where_of=plans.where_of,
        reason_needed=plans.reason_needed,
        missing=plans.missing_reasons(items),
        edits=edits or {},
        publishing=publishing,
        messages=MESSAGES,
        drafting=plans.can_draft(place),
        can_run=accounts.can_run(session, current_user, place),
        notice_open=plans.notice_open(place, found, today),
        notice_ended=bool(found and found.notice_until and found.notice_until < today),
        comments=len(plan_notice.entries(session, found)) if found else 0,
    ), status


@bp.post("/c/<code>/plan/draft")
@requires(*RUN, compound="run")
def plan_draft(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    try:
        drafted = plans.draft_from_menu(session, place)
    except plans.PlanError as error:
        session.rollback()
        flash(message(error), "error")
        return _back(code)
    audit.record(session, current_user, "plan.draft", f"compound:{code}", rule=drafted.menu_rule)
    session.commit()
    flash(_("Drafted from the menu: the figures are up to date."), "info")
    return _back(code)


@bp.post("/c/<code>/plan/items")
@requires(*RUN, compound="run")
def plan_add(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    form = request.form
    try:
        line = plans.add_item(
            session,
            place,
            item_id=form.get("item_id", "").strip(),
            title=form.get("title", "") if not form.get("item_id") else "",
            category=form.get("category", ""),
            reason=form.get("reason", ""),
        )
    except plans.PlanError as error:
        session.rollback()
        if error.code == "closed":
            flash(message(error), "error")
            return _back(code)
        return render_error(400, message(error))
    audit.record(session, current_user, "plan.add", f"compound:{code}", item=line.title)
    session.commit()
    flash(_("Added to the plan."), "info")
    return _back(code)


def _edits() -> dict[int, plan_edits.Edit] | None:
    """Read every line's fields from the plan form; None when the form was tampered with."""
    form = request.form
    edits: dict[int, plan_edits.Edit] = {}
    for text in form.getlist("item"):
        if not (text.isascii() and text.isdecimal() and len(text) < 12):
            return None
        n = int(text)
        edits[n] = plan_edits.Edit(
            included=form.get(f"included-{n}") == "1",
            where=form.get(f"where-{n}", ""),
            cost=form.get(f"cost-{n}", "")[:40],
            starts_on=form.get(f"starts-{n}", "")[:20],
            ends_on=form.get(f"ends-{n}", "")[:20],
            reason=form.get(f"reason-{n}", ""),
        )
    return edits


@bp.post("/c/<code>/plan")
@requires(*RUN, compound="run")
def plan_save(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    edits = _edits()
    removing = request.form.get("remove", "")
    if edits is None or (removing and not (removing.isascii() and removing.isdecimal())):
        return render_error(400, _("This form was changed after it was sent to you."))
    remove = int(removing) if removing and len(removing) < 12 else None
    try:
        saved = plan_edits.save_edits(session, place, edits, remove)
    except plans.PlanError as error:
        session.rollback()
        flash(message(error), "error")
        if error.code == "closed":
            return _back(code)
        return _page(place, edits=edits, status=400)
    if not saved:
        session.rollback()
        flash(_("Some lines need correcting; nothing was saved."), "error")
        return _page(place, edits=edits, status=400)
    audit.record(session, current_user, "plan.edit", f"compound:{code}", removed=remove)
    session.commit()
    flash(_("Removed from the plan.") if remove else _("Saved."), "info")
    return _back(code)


@bp.post("/c/<code>/plan/publish")
@requires(*RUN, compound="run")
def plan_publish(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    today = surveys.local_today()
    form = request.form
    contact, summary = form.get("contact", "").strip(), form.get("summary", "").strip()
    errors: dict[str, str] = {}
    if not contact:
        errors["contact"] = _("Say how residents object or comment: who, where, how to reach them.")
    elif len(contact) > 1000:
        errors["contact"] = _("Keep it to %(max)d characters.", max=1000)
    if len(summary) > 2000:
        errors["summary"] = _("Keep it to %(max)d characters.", max=2000)
    until: date | None = None
    try:
        until = date.fromisoformat(form.get("notice_until", "").strip()[:20])
    except ValueError:
        errors["notice_until"] = _("Give the last day of the notice, as 2026-12-01.")
    shortest = plans.default_notice_until(today, current_app.config["PUBLIC_NOTICE_DAYS"])
    if until is not None and until < shortest:
        # Every version gets the whole notice: a changed plan is not noticed for less.
        errors["notice_until"] = _(
            "Residents have at least %(days)d days to comment: the last day is %(date)s or later.",
            days=current_app.config["PUBLIC_NOTICE_DAYS"],
            date=format_day(shortest),
        )
    publishing = {**form.to_dict(), "errors": errors}
    if errors or until is None:
        return _page(place, publishing=publishing, status=400)
    day: date = until

    def work() -> int:
        published = plans.publish(
            session, place, current_user, contact=contact, summary=summary,
            notice_until=day, today=today,
        )  # fmt: skip
        audit.record(
            session,
            current_user,
            "plan.publish",
            f"compound:{code}",
            version=published.version,
            included=[i["title"] for i in (published.published or {}).get("items", [])
                      if i["included"]],
        )  # fmt: skip
        return published.version

    try:
        # Two clicks at once queue on the plan's row: each makes its own version.
        version = commit_with_retry(session, work)
    except plans.PlanError as error:
        session.rollback()
        flash(message(error), "error")
        if error.code == "closed":
            return _back(code)
        return _page(place, publishing=publishing, status=409)
    flash(_("Published: residents now see version %(v)d of the plan.", v=version), "info")
    return _back(code)


@bp.get("/c/<code>/plan/comments")
@requires(compound="read")
def plan_comments(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    found = plans.plan_of(session, place)
    items = {item.id: item for item in plans.items_of(session, found)} if found else {}
    return render_template(
        "facilitators/plan_comments.html",
        compound=place,
        plan=found,
        entries=plan_notice.entries(session, found) if found else [],
        items=items,
        can_run=accounts.can_run(session, current_user, place),
    )


@bp.post("/c/<code>/plan/comments/<int(max=2147483647):comment_id>/answer")
@requires(*RUN, compound="run")
def plan_answer(code: str, comment_id: int) -> Page:
    session = get_session()
    place = current_compound(code)
    found = plans.plan_of(session, place)
    comment = session.get(PlanComment, comment_id)
    if found is None or comment is None or comment.plan_id != found.id:
        return render_error(404, _("There is no such comment on this compound's plan."))
    try:
        plan_notice.answer_comment(session, comment, current_user, request.form.get("answer", ""))
    except plans.PlanError as error:
        session.rollback()
        return render_error(400, message(error))
    audit.record(session, current_user, "plan.answer", f"compound:{code}", comment=comment_id)
    session.commit()
    flash(_("Answer saved: residents see it on the plan's page."), "info")
    return redirect(url_for("facilitators.plan_comments", code=code) + f"#c{comment_id}", 303)
