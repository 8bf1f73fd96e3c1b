"""The planners' pages against the bare database queries they need, in the same run.

Seeds the synthetic programme city (466 compounds, 49,011 households, ~39,000
ballots) into a temporary SQLite file (and a scratch PostgreSQL database when
CONSULT_BENCH_DATABASE_URL names a server), logs a planner in, and for each page:

- records every SQL statement (with its parameters) one request of the page runs;
- baseline: those statements run bare on a DBAPI cursor, every row fetched, no ORM,
  no Python work on the rows: the least the page could cost;
- the page: the whole request through the WSGI app (routing, login, queries,
  figures, charts, the template), as the server spends it.

Prints each page's time, the baseline and their ratio. Goal: the page within 2x
the bare queries. Timings are the best of several runs, the page's and the bare
queries' interleaved.

The compound page keeps its rendered menu section under the reading it was made
from (consult/planners/menu_section.py), so a repeated view only reads; its first
view after a change (nothing kept) is timed too, for reference, outside the goal.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from consult import create_app  # noqa: E402
from consult.db import get_engine  # noqa: E402
from consult.models import Compound, Household, Role  # noqa: E402
from consult.planners.menu_section import kept_sections  # noqa: E402
from consult.schema import upgrade  # noqa: E402
from consult.services.accounts import create_account  # noqa: E402
from consult.services.city import seed_city  # noqa: E402

GOAL = 2.0
PASSWORD = "bench-password-2026"


def best(runs: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def log_in(client: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login", data={"username": "planner", "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code in (302, 303), response.status_code


def statements_of(engine: Any, request: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Return the SQL statements (and parameters) one request runs."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def bare(engine: Any, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """Return a function running the statements on a raw DBAPI cursor, fetching every row."""

    def run() -> None:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            cursor.close()
            connection.rollback()
        finally:
            connection.close()

    return run


def run(name: str, url: str) -> list[tuple[str, float]]:
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    results = []
    with app.app_context():
        engine = get_engine()
        upgrade(engine)
        with Session(engine) as session:
            seed_city(session, seed=2026)
            create_account(
                session,
                username="planner",
                password=PASSWORD,
                role=Role.PLANNER,
                display_name="规划",
            )
            session.commit()
            biggest = session.exec(
                select(Compound.code)
                .join(Household, Household.compound_id == Compound.id)
                .group_by(Compound.code)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
    client = app.test_client()
    log_in(client)
    pages = [
        ("city page, 466 compounds (/p/)", "/p/"),
        ("city page filtered by item", "/p/?item=elevator_retrofit"),
        ("city-wide demand (/p/demand)", "/p/demand"),
        (f"compound page, the largest ({biggest})", f"/p/c/{biggest}"),
    ]
    with app.app_context():
        engine = get_engine()
    # Each request in its own application context, as a server runs it: an outer one
    # would keep `g` (its session, the logged-in account, the compound) from request
    # to request.

    def forget_sections() -> None:
        with app.app_context():
            kept_sections().clear()

    for label, path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.data)
        statements = statements_of(engine, lambda path=path: client.get(path))
        # Interleaved rounds, so that a busy spell on the shared machine touches both alike.
        run_bare = bare(engine, statements)
        rounds = [
            (best(3, run_bare), best(3, lambda path=path: client.get(path))) for _ in range(5)
        ]
        baseline = min(bare_time for bare_time, _ in rounds)
        page = min(page_time for _, page_time in rounds)
        ratio = page / baseline
        print(
            f"  {name:<10} {label:<44} page {page * 1000:6.1f} ms, bare queries "
            f"({len(statements)}) {baseline * 1000:6.1f} ms = {ratio:4.2f}x "
            f"(goal <= {GOAL:.0f}x) {'met' if ratio <= GOAL else 'NOT met'}; {size / 1024:.0f} KB"
        )
        results.append((f"{name} {label}", ratio))
        if path.startswith("/p/c/"):
            first = best(5, lambda path=path: (forget_sections(), client.get(path)))
            print(
                f"  {name:<10} {'  its first view after a change':<44} page "
                f"{first * 1000:6.1f} ms = {first / baseline:4.2f}x the same bare queries "
                "(nothing kept; for reference)"
            )
    engine.dispose()
    return results


def main() -> int:
    from codes_bench import scratch_postgres

    print("Planners' pages: whole request vs the bare SQL statements it runs")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CONSULT_INSTANCE_PATH"] = folder
        results += run("SQLite", f"sqlite:///{Path(folder) / 'city.db'}")
    server = os.environ.get("CONSULT_BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server) as url:
            results += run("PostgreSQL", url)
    else:
        print("  PostgreSQL skipped: set CONSULT_BENCH_DATABASE_URL to a server URL")
    missed = [figure for figure, ratio in results if ratio > GOAL]
    print(f"  goal met for {len(results) - len(missed)} of {len(results)} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
