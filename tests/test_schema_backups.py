"""Migrations build exactly the models' schema; backups restore what was there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, text
from sqlmodel import Session, SQLModel, select

from consult import create_app
from consult.backups import BackupError, backup, restore
from consult.db import make_engine
from consult.models import Ballot, Compound
from consult.schema import UnversionedSchema, current_revision, stamp, upgrade
from consult.services.seed import seed_demo
from tests.conftest import head_revision

HEAD = head_revision()


def test_each_revision_upgrades_a_database_in_use(empty_database_url: str) -> None:
    # A database made by the first release, with its data, is brought up to date.
    engine = make_engine(empty_database_url)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO district (code, name, city) VALUES ('kuiwen', '奎文区', '潍坊市')")
        )
        connection.execute(
            text(
                "INSERT INTO compound (code, name, district_id, address) "
                "SELECT 'dongzhuang', '东庄小区', id, '' FROM district"
            )
        )
    upgrade(engine)
    assert current_revision(engine) == HEAD
    with Session(engine) as session:
        compound = session.exec(select(Compound)).one()
        assert compound.code == "dongzhuang" and compound.budget is None
    assert "publication" in inspect(engine).get_table_names()
    engine.dispose()


def test_migrations_build_the_models_schema(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    upgrade(engine)
    assert current_revision(engine) == HEAD
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []
    upgrade(engine)  # again: nothing to do
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_a_schema_made_without_migrations_must_be_stamped(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    SQLModel.metadata.create_all(engine)
    with pytest.raises(UnversionedSchema, match="consult db stamp head"):
        upgrade(engine)
    stamp(engine)
    upgrade(engine)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_the_cli_upgrades_and_reports(empty_database_url: str, tmp_path: Path) -> None:
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": empty_database_url})
    runner = app.test_cli_runner()
    assert "none" in runner.invoke(args=["db", "current"]).output
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and HEAD in result.output
    assert "alembic_version" in inspect(app.extensions["consult.engine"]).get_table_names()
    app.extensions["consult.engine"].dispose()


def count_ballots(engine: object) -> int:
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(session.exec(select(func.count()).select_from(Ballot)).one())


def test_backup_and_restore(empty_database_url: str, tmp_path: Path) -> None:
    if "postgresql" in empty_database_url and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with Session(engine) as session:
        seed_demo(session)
        session.commit()
    before = count_ballots(engine)
    path = tmp_path / "consult.backup"
    assert backup(engine, path) > 0
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM ballotitem"))
        connection.execute(text("DELETE FROM ballot"))
    assert count_ballots(engine) == 0
    restore(engine, path)
    assert count_ballots(engine) == before > 0
    with Session(engine) as session:
        assert session.exec(select(Compound.code).order_by(Compound.code)).all() == [
            "dongzhuang",
            "huayuan",
            "xingfuli",
            "zhonghejie",
        ]
    engine.dispose()


def test_restore_refuses_a_file_that_is_no_backup(empty_database_url: str, tmp_path: Path) -> None:
    if "postgresql" in empty_database_url and not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not installed (apt-get install postgresql-client)")
    engine = make_engine(empty_database_url)
    upgrade(engine)
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError):
        restore(engine, junk)
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path / 'live.db'}"})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup", "--demo"]).exit_code == 0
    result = runner.invoke(args=["backup", str(tmp_path / "b.db")])
    assert result.exit_code == 0 and "Backed up" in result.output
    refused = runner.invoke(args=["restore", str(tmp_path / "b.db")], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    app.extensions["consult.engine"].dispose()
