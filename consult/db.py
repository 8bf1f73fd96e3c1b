"""The database: one engine per app, one session per request (on g), committed once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from consult import models  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers and one writer work at once; the busy timeout makes a second
            # writer wait instead of failing. Double counting is prevented by the unique index
            # on current ballots and the retry in services.ballots, not by these settings.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url,
        pool_size=int(options.get("pool_size", 5)),
        max_overflow=int(options.get("max_overflow", 10)),
        pool_pre_ping=True,
    )


def get_engine() -> Engine:
    """Return the current app's engine."""
    engine: Engine = current_app.extensions["consult.engine"]
    return engine


def get_session() -> Session:
    """Return the request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    session: Session = g.db_session
    return session


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open a session outside a request (CLI), commit on success, roll back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def close_session(exc: BaseException | None = None) -> None:
    """Close the request's session; anything not committed is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    SQLModel.metadata.create_all(engine)


def init_app(app: Flask) -> None:
    """Create the engine and register the session teardown."""
    app.extensions["consult.engine"] = make_engine(
        app.config["DATABASE_URL"],
        pool_size=app.config.get("DB_POOL_SIZE", 5),
        max_overflow=app.config.get("DB_MAX_OVERFLOW", 10),
    )
    app.teardown_appcontext(close_session)
