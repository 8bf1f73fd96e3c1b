"""Backups: SQLite's online backup, or pg_dump/pg_restore for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine


class BackupError(RuntimeError):
    """A backup or a restore could not be made; the message says why."""


def backup(engine: Engine, path: Path) -> int:
    """Copy the live database to path (safe while it is in use); return the size in bytes."""
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(_sqlite_file(engine)) as source, sqlite3.connect(path) as target:
            source.backup(target)
    else:
        _pg("pg_dump", "--format=custom", "--no-owner", f"--file={path}", _pg_url(engine))
    return path.stat().st_size


def restore(engine: Engine, path: Path) -> None:
    """Replace the database's contents with the backup at path."""
    engine.dispose()  # no pooled connection may keep the old contents open
    if engine.dialect.name == "sqlite":
        try:
            with sqlite3.connect(path) as source:
                source.execute("PRAGMA schema_version").fetchone()
                with sqlite3.connect(_sqlite_file(engine)) as target:
                    source.backup(target)
        except sqlite3.DatabaseError as error:
            raise BackupError(f"{path} is not a consult SQLite backup ({error})") from error
    else:
        _pg(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_pg_url(engine)}",
            str(path),
        )


def _sqlite_file(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up")
    return database


def _pg_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg(program: str, *args: str) -> None:
    if shutil.which(program) is None:
        raise BackupError(f"{program} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run([program, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{program} failed: {done.stderr.strip()[:500]}")
