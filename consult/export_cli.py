"""`consult export`: the planners' tables as Excel or CSV, a compound's ballots as JSON."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlmodel import Session, col, select

from consult.db import session_scope
from consult.models import Compound
from consult.services import audit
from consult.services.export_files import csv_chunks, write_xlsx
from consult.services.exports import (
    TABLES,
    ballots_json,
    district_by_code,
    export_table,
    export_tables,
)


def _scope(session: Session, codes: tuple[str, ...], district_code: str | None) -> list[Compound]:
    """Return the compounds named (all of them if none), in the district if one is named."""
    query = select(Compound).order_by(col(Compound.code))
    if codes:
        query = query.where(col(Compound.code).in_(codes))
    if district_code is not None:
        district = district_by_code(session, district_code)
        if district is None:
            raise click.ClickException(f"no district has the code {district_code!r}")
        query = query.where(Compound.district_id == district.id)
    found = list(session.exec(query).all())
    missing = sorted(set(codes) - {compound.code for compound in found})
    if missing:
        where = f" in district {district_code!r}" if district_code else ""
        raise click.ClickException(f"no compound has the code {', '.join(missing)}{where}")
    return found


@click.command("export")
@click.argument("kind", type=click.Choice(["xlsx", "csv", "json"]))
@click.option("--compound", "codes", multiple=True, help="A compound's code (repeat for more).")
@click.option("--district", "district", default=None, help="Only the compounds of this district.")
@click.option("--table", type=click.Choice(TABLES), default=None, help="The table (csv only).")
@click.option(
    "--lang",
    type=click.Choice(["zh_Hans", "en"]),
    default="zh_Hans",
    show_default=True,
    help="Language of the headers and names.",
)
@click.option("--comments", is_flag=True, help="Add the households' own words to the ballots.")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write; - writes csv or json to standard output.",
)
@with_appcontext
def export_command(
    kind: str,
    codes: tuple[str, ...],
    district: str | None,
    table: str | None,
    lang: str,
    comments: bool,
    output: str,
) -> None:
    """Export the tables of compounds (all of them unless --compound or --district narrow it).

    xlsx: one workbook (compounds, menus, ballots, meetings, action items); csv: the
    --table named; json: one --compound's current ballots as consult.ballots/1.
    """
    if kind == "csv" and table is None:
        raise click.UsageError(f"name the table to write with --table ({', '.join(TABLES)})")
    if kind != "csv" and table is not None:
        raise click.UsageError("--table goes with csv (a workbook holds every table)")
    if kind == "json" and len(codes) != 1:
        raise click.UsageError("json is one compound's ballots: give exactly one --compound")
    if kind == "xlsx" and output == "-":
        raise click.UsageError("an Excel workbook needs a file: give -o PATH.xlsx")
    try:
        with session_scope() as session, force_locale(lang):
            ids = _write(session, kind, codes, district, table, comments, output)
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror or error}") from None
    if output != "-":
        click.echo(f"Wrote {output} ({len(ids)} compounds).", err=True)


def _target(codes: tuple[str, ...], district: str | None) -> str:
    """Return what the audit log says was exported."""
    if codes:
        return " ".join(f"compound:{code}" for code in codes)
    return f"district:{district}" if district else "city"


def _write(
    session: Session,
    kind: str,
    codes: tuple[str, ...],
    district: str | None,
    table: str | None,
    comments: bool,
    output: str,
) -> list[int]:
    """Write the export; record it in the audit log; return the compounds' ids."""
    compounds = _scope(session, codes, district)
    ids = [compound.id for compound in compounds if compound.id is not None]
    target = _target(codes, district)
    if kind == "json":
        data = ballots_json(session, compounds[0])
        if data is None:
            raise click.ClickException(f"compound {codes[0]!r} has no survey yet")
        with click.open_file(output, "wb") as stream:
            stream.write(data)
        audit.record(session, None, "export.ballots", target)
    elif kind == "csv":
        assert table is not None
        with_comments = comments and table == "ballots"
        with click.open_file(output, "wb") as stream:
            for chunk in csv_chunks(export_table(session, table, ids, with_comments=with_comments)):
                stream.write(chunk)
        audit.record(session, None, "export.csv", target, table=table, comments=with_comments)
    else:
        with open(output, "wb") as stream:
            counts = write_xlsx(export_tables(session, ids, with_comments=comments), stream)
        audit.record(
            session, None, "export.xlsx", target, ballots=counts["ballots"], comments=comments
        )
    return ids
