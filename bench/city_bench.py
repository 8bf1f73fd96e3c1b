"""The whole city's tally from the database against one raw GROUP BY of the approvals.

Seeds the synthetic programme city (`seed_city`, seed 2026: 466 compounds,
49,011 households, ~39,000 ballots, ~243,000 approvals) into a temporary
SQLite file (and a scratch PostgreSQL database when CONSULT_BENCH_DATABASE_URL
names a server), then times, in one run on the same database:

- the baseline: one raw `GROUP BY` counting the current approvals per survey
  and item (the least any tally must read);
- the city compound by compound, as the pages do it: `compound_menu` for each
  compound's current needs survey (`ballots_document`, then `tally`);
- the city at once as the exports use it: `city_tally` (the ballots and
  approvals read as columns of numbers, every figure of every compound counted
  as arrays, each compound's menu dict built when asked for), with its halves
  timed: reading the arrays (`city_arrays`) and the engine on them
  (`tally_arrays`);
- the city at once with every menu built as a dict: `city_menus`, asserted equal
  to the compound-by-compound menus (and `city_tally`'s menus to it).

Goal: the city's tally within 2x the GROUP BY. The database is ANALYZEd after
seeding. Timings are the best of a few interleaved runs, each in a fresh session.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

import consult.tally as engine_  # noqa: E402
from consult.db import make_engine  # noqa: E402
from consult.models import Compound  # noqa: E402
from consult.schema import upgrade  # noqa: E402
from consult.services.city import seed_city  # noqa: E402
from consult.services.city_columns import city_arrays  # noqa: E402
from consult.services.city_tally import city_menus, city_tally  # noqa: E402
from consult.services.surveys import current_survey  # noqa: E402
from consult.services.tallies import compound_menu  # noqa: E402
from consult.tally import collector_paused  # noqa: E402

GOAL = 2.0
GROUP_BY = (
    "SELECT b.survey_id, bi.item_id, count(*) FROM ballotitem bi "
    "JOIN ballot b ON b.id = bi.ballot_id WHERE b.is_current GROUP BY 1, 2"
)


def best(engine: Engine, runs: int, work: Callable[[Session], Any]) -> tuple[float, Any]:
    """Return the best time of `runs` runs of work, each in a fresh session, and its result."""
    times, result = [], None
    for _ in range(runs):
        with Session(engine) as session:
            began = time.perf_counter()
            result = work(session)
            times.append(time.perf_counter() - began)
    return min(times), result


def one_by_one(session: Session) -> dict[str, dict[str, Any]]:
    """Every compound's menu by `compound_menu`, as a compound's page makes it."""
    menus = {}
    for compound in session.exec(select(Compound).order_by(col(Compound.code))).all():
        survey = current_survey(session, compound)
        if survey is not None:
            menus[compound.code] = compound_menu(session, compound, survey)
    return menus


def read_arrays(session: Session) -> list[tuple[engine_.BallotArrays, bool]]:
    """Read the city's arrays as `city_tally` does (the collector paused)."""
    with collector_paused():
        return city_arrays(session)


def tally_read_arrays(parts: list[tuple[engine_.BallotArrays, bool]]) -> list[Any]:
    """Count arrays already read, as `city_tally` does."""
    with collector_paused():
        return [engine_.tally_arrays(a, verified_only=only) for a, only in parts]


def run(name: str, url: str) -> list[tuple[str, float]]:
    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    with Session(engine) as session:
        figures = seed_city(session, seed=2026)
        session.commit()
    with engine.begin() as connection:
        # Statistics, as a database in service has them: without, PostgreSQL plans the
        # joins of both the GROUP BY and the tally as if the tables were nearly empty.
        connection.execute(text("ANALYZE"))
    print(
        f"  {name}: seeded {figures.compounds} compounds, {figures.households:,} households, "
        f"{figures.ballots:,} ballots, {figures.ballot_items:,} approvals "
        f"in {time.perf_counter() - began:.1f} s"
    )
    slow, expected = best(engine, 2, one_by_one)
    _, menus = best(engine, 1, city_menus)
    assert menus == expected, "city_menus must equal compound_menu for every compound"
    _, city = best(engine, 1, city_tally)
    assert dict(city) == expected, "city_tally's menus must equal compound_menu's"
    del menus, city
    # Interleaved rounds, so that a busy spell on the machine touches every figure alike.
    works: list[tuple[str, Callable[[Session], Any]]] = [
        ("group", lambda s: s.execute(text(GROUP_BY)).all()),
        ("arrays", city_tally),
        ("dicts", city_menus),
        ("read", read_arrays),
    ]
    times: dict[str, float] = {}
    for _ in range(5):
        for key, work in works:
            seconds, _ = best(engine, 1, work)
            times[key] = min(times.get(key, seconds), seconds)
    with Session(engine) as session:
        parts = city_arrays(session)
    counting = min(_timed(lambda: tally_read_arrays(parts)) for _ in range(5))
    engine.dispose()
    baseline = times["group"]
    print(f"  {name:<10} raw GROUP BY of the approvals: {baseline * 1000:6.0f} ms")
    lines = [
        ("city tally, compound by compound (compound_menu x 466)", slow, False),
        ("city tally at once, menus as arrays (city_tally)", times["arrays"], True),
        ("  of which reading the arrays (city_arrays)", times["read"], False),
        ("  of which the engine on them (tally_arrays)", counting, False),
        # For comparison: the goal is the tally; these are its menus all turned into dicts.
        ("city tally at once, every menu a dict (city_menus)", times["dicts"], False),
    ]
    for label, seconds, goal in lines:
        ratio = seconds / baseline
        verdict = f" (goal <= {GOAL:.0f}x) {'met' if ratio <= GOAL else 'NOT met'}" if goal else ""
        print(f"  {name:<10} {label:<56} {seconds * 1000:6.0f} ms = {ratio:5.1f}x{verdict}")
    return [(f"{name} {label}", seconds / baseline) for label, seconds, goal in lines if goal]


def _timed(work: Callable[[], Any]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main() -> int:
    from codes_bench import scratch_postgres

    print("The whole city's tally from the database vs one raw GROUP BY of the approvals")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results += run("SQLite", f"sqlite:///{Path(folder) / 'city.db'}")
    server = os.environ.get("CONSULT_BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server) as url:
            results += run("PostgreSQL", url)
    else:
        print("  PostgreSQL skipped: set CONSULT_BENCH_DATABASE_URL to a server URL")
    for figure, ratio in results:
        print(
            f"  {figure:<66} {ratio:5.1f}x (goal <= {GOAL:.0f}x) {'met' if ratio <= GOAL else 'NOT met'}"
        )
    return 0  # the figures are the result; unequal menus raise above


if __name__ == "__main__":
    sys.exit(main())
