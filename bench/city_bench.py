"""The whole city's tally from the database against one raw GROUP BY of the approvals.

Seeds the synthetic programme city (`seed_city`, seed 2026: 466 compounds,
49,011 households, ~39,000 ballots, ~243,000 approvals) into a temporary
SQLite file (and a scratch PostgreSQL database when CONSULT_BENCH_DATABASE_URL
names a server), then times, in one run on the same database:

- the baseline: one raw `GROUP BY` counting the current approvals per survey
  and item (the least any tally must read);
- the city compound by compound, as the pages do it: `compound_menu` for each
  compound's current needs survey (`ballots_document`, then `tally`);
- the city at once: `city_menus` (a few set-based queries build every
  compound's `consult.ballots/1` document, `tally_many` counts them together),
  asserted equal to the compound-by-compound menus, with its two halves timed.

Goal: the city's tally within 2x the GROUP BY. Timings are the best of a few
runs, each in a fresh session.
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
from consult.services.city_tally import city_documents, city_menus  # noqa: E402
from consult.services.surveys import current_survey  # noqa: E402
from consult.services.tallies import compound_menu  # noqa: E402

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


def tally_documents(documents: dict[str, tuple[dict[str, Any], bool]]) -> list[Any]:
    """Tally already-built documents (all are open surveys in the seeded city)."""
    assert not any(only for _, only in documents.values())
    return engine_.tally_many([document for document, _ in documents.values()])


def run(name: str, url: str) -> list[tuple[str, float]]:
    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    with Session(engine) as session:
        figures = seed_city(session, seed=2026)
        session.commit()
    print(
        f"  {name}: seeded {figures.compounds} compounds, {figures.households:,} households, "
        f"{figures.ballots:,} ballots, {figures.ballot_items:,} approvals "
        f"in {time.perf_counter() - began:.1f} s"
    )
    baseline, rows = best(engine, 5, lambda s: s.execute(text(GROUP_BY)).all())
    slow, expected = best(engine, 2, one_by_one)
    fast, menus = best(engine, 3, city_menus)
    assert menus == expected, "city_menus must equal compound_menu for every compound"
    reading, documents = best(engine, 3, city_documents)
    counting = min(_timed(lambda: tally_documents(documents)) for _ in range(3))
    engine.dispose()
    print(
        f"  {name:<10} raw GROUP BY of the approvals: {baseline * 1000:6.0f} ms ({len(rows):,} rows)"
    )
    lines = [
        ("city tally, compound by compound (compound_menu x 466)", slow),
        ("city tally at once (city_menus)", fast),
        ("  of which reading the 466 documents (city_documents)", reading),
        ("  of which the tally engine on them (tally_many)", counting),
    ]
    for label, seconds in lines:
        ratio = seconds / baseline
        verdict = (
            ""
            if label.startswith("  ")
            else f" (goal <= {GOAL:.0f}x) {'met' if ratio <= GOAL else 'NOT met'}"
        )
        print(f"  {name:<10} {label:<56} {seconds * 1000:6.0f} ms = {ratio:5.1f}x{verdict}")
    return [(f"{name} {lines[0][0]}", slow / baseline), (f"{name} {lines[1][0]}", fast / baseline)]


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
