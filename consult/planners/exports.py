"""Planners: a compound's or the city's tables as Excel, CSV, and consult.ballots/1 JSON.

Every export is streamed: CSV row by row as the database is read, Excel written
to a temporary file first (a zip cannot be sent before it is finished) and then
sent in chunks. Each export is recorded in the audit log.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Collection, Iterator
from typing import IO
from urllib.parse import quote

from flask import Response, abort, request, stream_with_context
from flask_login import current_user

from consult.access import current_compound, requires
from consult.db import get_session
from consult.models import Compound, District, Role
from consult.models._base import row_id
from consult.planners import bp
from consult.services import accounts, audit
from consult.services.export_files import XLSX_TYPE, csv_chunks, write_xlsx
from consult.services.exports import (
    TABLES,
    ballots_json,
    district_by_code,
    export_table,
    export_tables,
    file_day,
    visible_ids,
)

#: Bytes of the finished workbook sent at a time.
FILE_CHUNK = 256 * 1024
CSV_TYPE = "text/csv; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"


def _with_comments() -> bool:
    """Whether ?comments= asks for the households' own words (anything else means no)."""
    return request.args.get("comments", "").strip().lower() in ("1", "true", "yes", "on")


def _attachment(response: Response, ascii_name: str, name: str | None = None) -> Response:
    """Make the response a download that no cache keeps, named in ASCII and in UTF-8."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name)
    utf8 = quote(name or ascii_name, safe="")
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{utf8}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _spooled_xlsx(ids: Collection[int], with_comments: bool) -> tuple[IO[bytes], int, int]:
    """Write the workbook to an anonymous temporary file; return it rewound, its size, ballots."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed once sent, by _file_chunks
    try:
        counts = write_xlsx(export_tables(get_session(), ids, with_comments=with_comments), spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return spool, size, counts.get("ballots", 0)


def _file_chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(FILE_CHUNK):
            yield chunk
    finally:
        spool.close()


def _xlsx_response(ids: Collection[int], target: str, ascii_name: str, name: str) -> Response:
    with_comments = _with_comments()
    spool, size, ballots = _spooled_xlsx(ids, with_comments)
    session = get_session()
    audit.record(
        session, current_user, "export.xlsx", target, ballots=ballots, comments=with_comments
    )
    session.commit()
    response = Response(_file_chunks(spool), mimetype=XLSX_TYPE)
    response.content_length = size
    return _attachment(response, ascii_name, name)


def _csv_response(
    ids: Collection[int], table: str, target: str, ascii_name: str, name: str
) -> Response:
    if table not in TABLES:
        abort(404)
    with_comments = _with_comments() and table == "ballots"
    session = get_session()
    audit.record(session, current_user, "export.csv", target, table=table, comments=with_comments)
    session.commit()

    def chunks() -> Iterator[bytes]:
        # The request's own session ends with the view (its teardown runs then); the rows
        # are read while the response is sent, through the session the restored context
        # opens and closes once the last row is out.
        yield from csv_chunks(export_table(get_session(), table, ids, with_comments=with_comments))

    return _attachment(Response(stream_with_context(chunks()), mimetype=CSV_TYPE), ascii_name, name)


# -- one compound ------------------------------------------------------------------------------


def _names(place: Compound, what: str, suffix: str) -> tuple[str, str]:
    """Return the file's ASCII name and its name with the compound's Chinese name."""
    day = file_day()
    return (
        f"consult-{place.code}-{what}-{day}.{suffix}",
        f"{place.name}-{place.code}-{what}-{day}.{suffix}",
    )


@bp.get("/c/<code>/export.xlsx")
@requires(compound="read")
def compound_xlsx(code: str) -> Response:
    place = current_compound(code)
    return _xlsx_response(
        [row_id(place.id)], f"compound:{place.code}", *_names(place, "tables", "xlsx")
    )


@bp.get("/c/<code>/export/<table>.csv")
@requires(compound="read")
def compound_csv(code: str, table: str) -> Response:
    place = current_compound(code)
    return _csv_response(
        [row_id(place.id)], table, f"compound:{place.code}", *_names(place, table, "csv")
    )


@bp.get("/c/<code>/ballots.json")
@requires(compound="read")
def compound_ballots_json(code: str) -> Response:
    place = current_compound(code)
    session = get_session()
    data = ballots_json(session, place)
    if data is None:
        abort(404)
    audit.record(session, current_user, "export.ballots", f"compound:{place.code}")
    session.commit()
    return _attachment(Response(data, mimetype=JSON_TYPE), *_names(place, "ballots", "json"))


# -- the city ----------------------------------------------------------------------------------


def _city_scope() -> tuple[list[int], str, str]:
    """Return the ids the account sees (in ?district=, 404 if unknown), audit target, file stem."""
    session = get_session()
    asked = request.args.get("district", "").strip()
    district: District | None = None
    if asked:
        district = district_by_code(session, asked)
        scope = accounts.district_ids(session, current_user)
        if district is None or (
            current_user.role == Role.PLANNER and scope and district.id not in scope
        ):
            abort(404)  # as the pages say of a district the planner does not read
    ids = visible_ids(session, current_user, district)
    if district is None:
        return ids, "city", "consult-city"
    return ids, f"district:{district.code}", f"consult-{district.code}"


@bp.get("/export.xlsx")
@requires(Role.ADMIN, Role.PLANNER)
def city_xlsx() -> Response:
    ids, target, stem = _city_scope()
    name = f"{stem}-tables-{file_day()}.xlsx"
    return _xlsx_response(ids, target, name, name)


@bp.get("/export/<table>.csv")
@requires(Role.ADMIN, Role.PLANNER)
def city_csv(table: str) -> Response:
    ids, target, stem = _city_scope()
    name = f"{stem}-{table}-{file_day()}.csv"
    return _csv_response(ids, table, target, name, name)
