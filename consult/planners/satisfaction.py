"""Satisfaction across the city: compounds ranked, items with low satisfaction flagged."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response as BaseResponse

from consult.access import requires
from consult.db import get_session
from consult.models import Role
from consult.planners import bp
from consult.planners.routes import _scope
from consult.services.satisfaction_city import LOW_SATISFACTION, city

Page = str | tuple[str, int] | BaseResponse


@bp.get("/satisfaction")
@requires(Role.ADMIN, Role.PLANNER)
def satisfaction() -> Page:
    compounds, district, districts = _scope()
    ranking, low = city(get_session(), compounds)
    names = {d.id: d.name for d in districts}
    return render_template(
        "planners/satisfaction.html",
        ranking=ranking,
        low=low,
        rule=LOW_SATISFACTION,
        district=district,
        districts=districts,
        district_names=names,
        answered=sum(row.answered for row in ranking),
    )
