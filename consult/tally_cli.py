"""`consult tally FILE`: re-run a tally from an exported `consult.ballots/1` file."""

from __future__ import annotations

import json
from typing import IO

import click

from consult.tally import METHODS, RULES, TallyInputError, render_table, tally


def _catalogue_names(lang: str) -> dict[str, str]:
    """Return catalogue item names in `lang`, or nothing if the catalogue is unavailable."""
    try:
        from consult.catalog import load_catalog
    except ImportError:
        return {}
    try:
        entries = load_catalog()
    except (OSError, ValueError):
        return {}
    return {entry.id: entry.name_en if lang == "en" else entry.name_zh for entry in entries}


def _describe(error: TallyInputError) -> str:
    where = [f"field: {error.field}"]
    if error.household is not None:
        where.insert(0, f"household: {error.household}")
    if error.compound:
        where.insert(0, f"compound: {error.compound}")
    return f"{error} [{', '.join(where)}]"


@click.command("tally")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="approval",
    show_default=True,
    help="How to order the menu.",
)
@click.option(
    "--select",
    "rule",
    type=click.Choice(RULES),
    default="greedy",
    show_default=True,
    help="How to choose items under the budget.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    default=None,
    metavar="AMOUNT",
    help="Budget to select within (overrides the file's).",
)
@click.option("--verified-only", is_flag=True, help="Count only verified ballots.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["json", "table"]),
    default="json",
    show_default=True,
    help="consult.menu/1 JSON or a readable table.",
)
@click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="Language of item names in the table.",
)
def tally_command(
    file: IO[str],
    method: str,
    rule: str,
    budget: float | None,
    verified_only: bool,
    output: str,
    lang: str,
) -> None:
    """Tally a consult.ballots/1 FILE (or - for stdin) into a ranked menu."""
    name = getattr(file, "name", "-")
    try:
        doc = json.loads(file.read())
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{name}: not valid JSON ({error.msg} at line {error.lineno},"
            f" column {error.colno}) [field: format]"
        ) from error
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{name}: not UTF-8 text [field: format]") from error
    try:
        menu = tally(doc, method=method, verified_only=verified_only, select=rule, budget=budget)
    except TallyInputError as error:
        raise click.ClickException(f"{name}: {_describe(error)}") from error
    if output == "json":
        click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
    else:
        click.echo(render_table(menu, names=_catalogue_names(lang), lang=lang), nl=False)
