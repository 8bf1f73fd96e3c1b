"""Coverage: who has been heard, who not yet, and the lists to knock on doors."""

from __future__ import annotations

from flask import abort, render_template
from werkzeug.wrappers import Response as BaseResponse

from consult.access import current_compound, requires
from consult.db import get_session
from consult.facilitators import bp
from consult.services import surveys
from consult.services.coverage import compound_coverage, percent

Page = str | tuple[str, int] | BaseResponse


@bp.get("/c/<code>/coverage")
@requires(compound="read")
def coverage(code: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place)
    return render_template(
        "facilitators/coverage.html",
        compound=place,
        survey=survey,
        coverage=compound_coverage(session, place, survey),
        percent=percent,
    )


@bp.get("/c/<code>/coverage/<building>/knock")
@requires(compound="read")
def door_knocking(code: str, building: str) -> Page:
    session = get_session()
    place = current_compound(code)
    survey = surveys.current_survey(session, place)
    units = [u for u in compound_coverage(session, place, survey).units if u.building == building]
    if not units:
        abort(404)
    return render_template(
        "facilitators/knock.html", compound=place, survey=survey, building=building, units=units
    )
