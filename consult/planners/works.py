"""Late works across the city."""

from __future__ import annotations

from collections import Counter

from flask import abort, render_template, request
from flask_login import current_user
from sqlmodel import col, select
from werkzeug.wrappers import Response as BaseResponse

from consult.access import requires
from consult.db import get_session
from consult.labels import name_of
from consult.models import District, Role, WorkStatus
from consult.planners import bp
from consult.services import accounts, works
from consult.services.surveys import local_today

Page = str | tuple[str, int] | BaseResponse


@bp.get("/late")
@requires(Role.ADMIN, Role.PLANNER)
def late() -> Page:
    session = get_session()
    scope = (
        accounts.district_ids(session, current_user) if current_user.role == Role.PLANNER else set()
    )
    query = select(District).order_by(col(District.code))
    if scope:
        query = query.where(col(District.id).in_(scope))
    districts = list(session.exec(query).all())
    district = None
    if code := request.args.get("district", ""):
        district = next((d for d in districts if d.code == code), None)
        if district is None:
            abort(404)
    wanted = {district.id} if district and district.id else scope or None
    rows = works.late_items(session, local_today(), wanted)
    kinds = Counter(row.kind for row in rows)
    return render_template(
        "planners/late.html",
        rows=rows,
        districts=districts,
        district=district,
        totals={
            "items": len(rows),
            "late": kinds["late"],
            "stuck": kinds["stuck"],
            "compounds": len({row.compound_code for row in rows}),
        },
        status_names={str(s): name_of("works", s) for s in WorkStatus},
    )
