"""Household codes for a whole city: 466 compounds, 49,011 households, under 10 seconds.

Builds the households in a temporary SQLite database (and, with
CONSULT_BENCH_DATABASE_URL, on PostgreSQL too), then times `issue_codes` for
every compound against a baseline in the same run: the bare bulk UPDATE of the
same rows with precomputed values. Prints the figures.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from consult.db import make_engine
from consult.models import Building, Compound, District, Household, Unit
from consult.services.codes import issue_codes

COMPOUNDS, HOUSEHOLDS = 466, 49_011
SECRET = "bench-secret"


def compound_sizes(seed: int = 7) -> list[int]:
    """Split 49,011 households over 466 compounds, from a dozen to 700+."""
    rng = random.Random(seed)
    weights = [rng.lognormvariate(0, 0.9) for _ in range(COMPOUNDS)]
    total = sum(weights)
    sizes = [max(12, round(HOUSEHOLDS * w / total)) for w in weights]
    sizes[0] += HOUSEHOLDS - sum(sizes)
    return sizes


def build_city(session: Session) -> list[Compound]:
    """Insert districts, compounds, one building, units of 12 and the households."""
    session.add(District(code="bench", name="测试区"))
    session.flush()
    compounds = [
        Compound(code=f"c{n:03d}", name=f"小区{n}", district_id=1) for n in range(COMPOUNDS)
    ]
    session.add_all(compounds)
    session.flush()
    households = []
    for compound, size in zip(compounds, compound_sizes(), strict=True):
        building = Building(compound_id=compound.id, number="1")
        session.add(building)
        session.flush()
        units = [Unit(building_id=building.id, number=str(u + 1)) for u in range((size + 11) // 12)]
        session.add_all(units)
        session.flush()
        for n in range(size):
            unit = units[n // 12]
            room = f"{n % 12 // 2 + 1}{n % 2 + 1:02d}"
            households.append(
                {
                    "compound_id": compound.id,
                    "unit_id": unit.id,
                    "room": room,
                    "floor": n % 12 // 2 + 1,
                    "label": f"1-{unit.number}-{room}",
                }
            )
    session.execute(insert(Household), households)
    session.commit()
    return compounds


def run(url: str) -> float:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        compounds = build_city(session)
        ids = list(session.exec(select(Household.id)).all())
        assert len(ids) == HOUSEHOLDS
        start = time.perf_counter()
        session.execute(
            update(Household),
            [{"id": hid, "code_hash": f"{hid:064d}", "code_issued_at": None} for hid in ids],
        )
        session.commit()
        baseline = time.perf_counter() - start
        session.execute(update(Household).values(code_hash=None))
        session.commit()
        start = time.perf_counter()
        issued = 0
        for compound in compounds:
            issued += len(issue_codes(session, SECRET, compound))
        session.commit()
        elapsed = time.perf_counter() - start
    engine.dispose()
    assert issued == HOUSEHOLDS
    print(
        f"  {url.split(':')[0]:<12} codes for {issued:,} households in {elapsed:6.2f} s "
        f"(target < 10 s); bare bulk UPDATE {baseline:5.2f} s; ratio {elapsed / baseline:4.1f}x"
    )
    return elapsed


@contextmanager
def scratch_postgres(server: str) -> Iterator[str]:
    """Create a throw-away database on the server; drop it afterwards."""
    name = f"consult_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    print(f"Household codes: {COMPOUNDS} compounds, {HOUSEHOLDS:,} households")
    with tempfile.TemporaryDirectory() as folder:
        worst = run(f"sqlite:///{Path(folder) / 'bench.db'}")
    server = os.environ.get("CONSULT_BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server) as url:
            worst = max(worst, run(url))
    else:
        print("  postgresql   skipped: set CONSULT_BENCH_DATABASE_URL to a server URL")
    return 0 if worst < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
