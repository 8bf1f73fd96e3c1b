"""Planners' pages: the city's compounds compared, city-wide demand, one compound in depth."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response as BaseResponse

from consult import charts
from consult.access import current_compound, requires
from consult.db import get_session
from consult.labels import NAMES, name_of
from consult.models import CatalogItem, District, Role
from consult.planners import bp
from consult.planners.menu_section import kept_page, menu_section
from consult.services import (
    accounts,
    audit,
    coverage,
    dashboards,
    meetings,
    publications,
    surveys,
)
from consult.services.tallies import menu_options, read_ballots

Page = str | tuple[str, int] | BaseResponse
PLAN = (Role.ADMIN, Role.PLANNER)
#: Largest budget or cost a form accepts, in yuan (a billion).
MAX_AMOUNT = 1_000_000_000


def _districts() -> list[District]:
    """Return the districts the user may look at."""
    session = get_session()
    query = select(District).order_by(col(District.code))
    if current_user.role == Role.PLANNER and (ids := accounts.district_ids(session, current_user)):
        query = query.where(col(District.id).in_(ids))
    return list(session.exec(query).all())


def _scope() -> tuple[list[Any], District | None, list[District]]:
    """Return the visible compounds (narrowed to ?district= when given), that district,
    and the districts the user may look at."""
    session = get_session()
    compounds = accounts.visible_compounds(session, current_user)
    districts = _districts()
    code = request.args.get("district", "")
    if not code:
        return compounds, None, districts
    district = next((d for d in districts if d.code == code), None)
    if district is None:
        abort(404)
    return [c for c in compounds if c.district_id == district.id], district, districts


def _item_name(item: Any) -> str:
    """The item's name in the page's language (a catalogue row or a document's item)."""
    zh, en = (
        (item["name_zh"], item["name_en"])
        if isinstance(item, dict)
        else (item.name_zh, item.name_en)
    )
    return str(en if str(get_locale()).startswith("en") else zh)


@bp.get("/")
@requires(*PLAN)
def city() -> Page:
    session = get_session()
    compounds, district, districts = _scope()
    names = {
        item.id: _item_name(item)
        for item in session.exec(
            select(CatalogItem).where(col(CatalogItem.compound_id).is_(None))
        ).all()
    }
    item = request.args.get("item", "")
    if item and item not in names:  # a compound's own item
        own = session.get(CatalogItem, item[:60])
        if own is None:
            abort(404)
        names[own.id] = _item_name(own)
    rows = dashboards.compound_rows(session, compounds, dashboards.survey_counts(session))
    if item:
        rows = [row for row in rows if item in row.top]
    sort = request.args.get("sort", "item" if item else "district")
    descending = (
        request.args.get("dir", "desc" if sort in ("coverage", "ballots") else "asc") == "desc"
    )
    if sort == "item" and item:
        rows.sort(key=lambda row: (row.rank_of(item) or 99, -row.coverage), reverse=descending)
    else:
        if sort not in dashboards.SORTS:
            sort = "district"
        rows.sort(key=dashboards.SORTS[sort], reverse=descending)
    choices = dict(names)  # the filter offers the catalogue (and the item asked for)
    missing = {i for row in rows for i in row.top} - names.keys()
    if missing:  # the compounds' own items
        for extra in session.exec(select(CatalogItem).where(col(CatalogItem.id).in_(missing))):
            names[extra.id] = _item_name(extra)
    totals = {
        "compounds": len(rows),
        "households": sum(row.households for row in rows),
        "ballots": sum(row.ballots for row in rows),
        "open_actions": sum(row.open_actions for row in rows),
        "overdue_actions": sum(row.overdue_actions for row in rows),
        "published": sum(row.survey_stage == "published" for row in rows),
    }
    return render_template(
        "planners/city.html",
        # Each phase and stage translated once, not once a row.
        phase_names={code: name_of("cycle", code) for code in NAMES["cycle"]},
        stage_names={code: name_of("survey_stage", code) for code in NAMES["survey_stage"]},
        rows=rows,
        totals=totals,
        names=names,
        choices=choices,
        districts=districts,
        district=district,
        item=item,
        sort=sort,
        descending=descending,
    )


@bp.get("/demand")
@requires(*PLAN)
def demand() -> Page:
    session = get_session()
    compounds, district, districts = _scope()
    items = dashboards.city_demand(session, compounds)
    names = [_item_name(item) for item in items]
    figure = charts.demand_figure(
        names,
        [item.top for item in items],
        [item.approvals for item in items],
        top5_name=_("Compounds where it ranks in the top %(n)d", n=dashboards.TOP),
        households_name=_("Households that want it"),
        axis_title=_("Compounds / households"),
    )
    costed = [item for item in items if item.money is not None]
    return render_template(
        "planners/demand.html",
        items=items,
        figure=figure,
        districts=districts,
        district=district,
        compounds=len(compounds),
        top=dashboards.TOP,
        money=sum(item.money or 0 for item in costed),
        costed=len(costed),
    )


@bp.get("/c/<code>")
@requires(compound="read")
def compound(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    district, survey, publication = publications.overview(session, place)
    rooms = coverage.building_sizes(session, place)
    plan = meetings.action_plan(session, place, surveys.local_today())
    context: dict[str, Any] = {
        "compound": place,
        "district": district,
        "survey": survey,
        "plan": plan,
        "publication": publication,
        "can_plan": current_user.role in PLAN,
        "households": sum(total for _number, total in rooms),
    }
    if survey is None:
        return render_template("planners/compound.html", section=None, **context)
    method, verified_only = menu_options(
        survey, request.args.get("method", ""), request.args.get("verified", "")
    )
    section = menu_section(
        read_ballots(session, place, survey),
        rooms,
        method=method,
        verified_only=verified_only,
        mode=survey.mode,
    )
    return kept_page(
        lambda: render_template("planners/compound.html", section=section, **context),
        # Everything else the page shows (the section is kept under its whole reading).
        section,
        (place.code, place.name, place.budget),
        (district.code, district.name),
        tuple(
            (
                p.action.what,
                p.action.owner,
                p.action.due_on,
                p.overdue,
                p.action.status,
                p.meeting.title if p.meeting is not None else None,
            )
            for p in plan
        ),
        (publication.version, publication.published_at) if publication is not None else None,
        context["can_plan"],
        context["households"],
    )


def _amount(text: str) -> int | None:
    """Read a whole amount of yuan (commas and spaces allowed); None if unreadable."""
    cleaned = text.replace(",", "").replace("，", "").replace(" ", "").strip()
    if not (cleaned.isascii() and cleaned.isdecimal()) or len(cleaned) > 10:
        return None
    value = int(cleaned)
    return value if value <= MAX_AMOUNT else None


@bp.post("/c/<code>/budget")
@requires(*PLAN, compound="read")
def budget(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    text = request.form.get("budget", "")
    if not text.strip():
        place.budget = None
    elif (amount := _amount(text)) is None:
        flash(_("Type the budget in whole yuan, e.g. 3000000."), "error")
        return redirect(url_for("planners.compound", code=code), 303)
    else:
        place.budget = amount
    session.add(place)
    audit.record(session, current_user, "compound.budget", f"compound:{code}", budget=place.budget)
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("planners.compound", code=code), 303)


@bp.get("/costs")
@requires(*PLAN)
def costs() -> Page:
    return _costs_page({})


@bp.post("/costs")
@requires(*PLAN, city=True)  # the catalogue's costs are the city's, not a district's
def save_costs() -> Page:
    session = get_session()
    items = _catalogue(session)
    errors: dict[str, str] = {}
    changed = {}
    for item in items:
        key = f"cost-{item.id}"
        if key not in request.form:  # not on the form sent: left as it is
            continue
        text = request.form[key]
        if not text.strip():
            value = None
        elif (value := _amount(text)) is None:
            errors[item.id] = text
            continue
        if value != item.cost:
            changed[item.id] = value
    if errors:
        flash(_("Type each cost in whole yuan, e.g. 450000; nothing was saved."), "error")
        return _costs_page(errors)
    for item in items:
        if item.id in changed:
            item.cost = changed[item.id]
            session.add(item)
    audit.record(session, current_user, "catalog.costs", "catalog", items=len(changed))
    session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for("planners.costs"), 303)


def _catalogue(session: Session) -> list[CatalogItem]:
    return list(
        session.exec(
            select(CatalogItem)
            .where(col(CatalogItem.compound_id).is_(None))
            .order_by(col(CatalogItem.position))
        ).all()
    )


def _costs_page(errors: dict[str, str]) -> Page:
    session = get_session()
    may_edit = current_user.role == Role.ADMIN or not accounts.district_ids(session, current_user)
    return render_template(
        "planners/costs.html", items=_catalogue(session), errors=errors, may_edit=may_edit
    ), (400 if errors else 200)
