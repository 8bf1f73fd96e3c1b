"""The schema's versions (Alembic): upgrade any earlier schema to the current one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


class UnversionedSchema(RuntimeError):
    """Tables exist but Alembic has never recorded a version for them."""


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration for the engine's database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def current_revision(engine: Engine) -> str | None:
    """Return the schema's recorded revision, or None."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema up to the revision (creating it when empty)."""
    tables = set(inspect(engine).get_table_names())
    if tables - {"alembic_version"} and current_revision(engine) is None:
        raise UnversionedSchema(
            "the database has tables but no schema version; if they were made by this version "
            "of consult, run `consult db stamp head`, else back it up and start afresh"
        )
    _run(engine, command.upgrade, revision)


def stamp(engine: Engine, revision: str = "head") -> None:
    """Record the revision without changing anything."""
    _run(engine, command.stamp, revision)


def _run(engine: Engine, action: Any, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)
