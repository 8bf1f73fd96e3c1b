"""Fixtures: an app with a fresh database per test, on SQLite and (when reachable) PostgreSQL.

PostgreSQL is reached through CONSULT_TEST_DATABASE_URL, a URL of a server where
the tests may create a database (`.ci/run` sets it to the local server, e.g.
postgresql://postgres@127.0.0.1:5432/postgres). The suite creates its own
database there, drops it at the end, and skips the PostgreSQL runs with a clear
reason when the variable is unset or the server cannot be reached.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from consult import create_app
from consult.db import create_schema, get_engine
from consult.services.seed import seed_catalog

PG_ENV = "CONSULT_TEST_DATABASE_URL"


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@functools.cache
def head_revision() -> str:
    """Return the newest migration's revision (read once)."""
    from alembic.script import ScriptDirectory

    from consult.schema import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def mark_migrated(engine: Any) -> None:
    """Record the schema made by create_all as the newest migration's (a test proves they match)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS alembic_version "
                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
            )
        )
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": head_revision()})


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """Create an empty PostgreSQL database and drop it afterwards; skip where there is none."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL runs skipped: set {PG_ENV} to a server URL to run them")
    name = f"consult_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(_psycopg_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - any connection failure means "absent"
        admin.dispose()
        pytest.skip(f"PostgreSQL runs skipped: cannot reach {PG_ENV}: {error.__class__.__name__}")
    try:
        yield (
            make_url(_psycopg_url(admin_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database with the models' tables, shared by the session, or skip."""
    with scratch_postgres() as url:
        engine = create_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, for migrations and backups."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        with scratch_postgres() as url:
            yield url


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Hash passwords at argon2's lowest cost in tests.

    At the production cost a hash and its check take half a second of CPU, and
    the suite creates and logs in accounts hundreds of times; what is tested is
    that passwords are argon2 hashes checked by argon2, not the cost. (The load
    tests' servers run in their own processes, at the production cost.)
    """
    from argon2 import PasswordHasher

    from consult.services import accounts

    production = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = production


@dataclass(frozen=True)
class SeededCity:
    """A database holding the synthetic city, seeded once per test session by the CLI."""

    url: str
    #: What `consult seed-city --seed 2026` printed.
    output: str
    app: Flask


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded_city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededCity]:
    """The 466-compound city of `consult seed-city --seed 2026`, on each database; read only.

    Seeding takes most of a minute, so the tests of the seeded city share one per
    database instead of seeding their own; none of them may change it.
    """
    from consult.city_cli import seed_city_command

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('city') / 'city.db'}"
        else:
            url = stack.enter_context(scratch_postgres())
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": url,
                "SERVER_NAME": "consult.test",
            }
        )
        result = app.test_cli_runner().invoke(seed_city_command, ["--seed", "2026"])
        assert result.exit_code == 0, result.output
        yield SeededCity(url, result.output, app)
        app.extensions["consult.engine"].dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a fresh, empty database URL: a new SQLite file, or a truncated PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consult.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Return the app on a fresh database with the catalogue seeded."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "SERVER_NAME": "consult.test",
        }
    )
    with app.app_context():
        engine = get_engine()
        create_schema(engine)
        mark_migrated(engine)
        with Session(engine) as session:
            seed_catalog(session)
            session.commit()
    yield app
    app.extensions["consult.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """Return a CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """Return a session on the app's database (commit what you create)."""
    # No app context stays pushed: each client request must get its own, as in production.
    with Session(app.extensions["consult.engine"], expire_on_commit=False) as session:
        yield session


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs of a page (the CSRF token and the submission token)."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]*)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                fields[name.group(1)] = value.group(1) if value else ""
    return fields
