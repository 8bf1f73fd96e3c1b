"""`consult seed-city`: the synthetic city of one real yearly programme, for load and review."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from consult.db import get_engine, session_scope
from consult.services.city import CityExists, seed_city


def _migrate() -> None:
    from consult.schema import UnversionedSchema, upgrade

    try:
        upgrade(get_engine())
    except UnversionedSchema as error:
        raise click.ClickException(str(error)) from error


@click.command("seed-city")
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the draw.")
@with_appcontext
def seed_city_command(seed: int) -> None:
    """Create the synthetic city (466 compounds, 49,011 households) in an empty database."""
    _migrate()
    started = time.perf_counter()
    try:
        with session_scope() as session:
            figures = seed_city(session, seed=seed)
    except CityExists as error:
        raise click.ClickException(f"{error}.") from None
    elapsed = time.perf_counter() - started
    click.echo(
        f"Seeded the city (seed {seed}): {figures.districts} districts, "
        f"{figures.compounds:,} compounds, {figures.buildings:,} buildings, "
        f"{figures.units:,} units, {figures.households:,} households, "
        f"{figures.ballots:,} ballots ({figures.ballots / figures.households:.1%}), "
        f"{figures.ballot_items:,} ballot items, {figures.meetings:,} meetings, "
        f"{figures.action_items:,} action items in {elapsed:.1f} s."
    )
