"""The whole city's exports in flat memory: peak RSS and time of each, in its own process.

Seeds the synthetic programme city (`seed_city`, seed 2026: 466 compounds, 49,011
households, ~39,000 ballots, ~243,000 approvals) into a temporary SQLite file (and
a scratch PostgreSQL database when CONSULT_BENCH_DATABASE_URL names a server),
then runs each measurement in a fresh process, so that peaks do not mix, and
reads that child's own peak resident set size from `os.wait4`:

- baseline: a process that imports the app and opens the database;
- baseline: the same, reading every current ballot and approval with a bare query;
- the city workbook, `consult export xlsx` (five sheets, write-only openpyxl);
- the city's ballots as CSV, `consult export csv --table ballots`;
- the same two through the web routes (`/p/export.xlsx`, `/p/export/ballots.csv`),
  an admin's request in Flask's test client, the body read chunk by chunk to a file.

Every file is then checked complete: as many ballot rows as current ballots, as
many menu rows as compounds x items offered. Goal: every export's peak under 300 MB.

Everything heavy (seeding, checking) runs in children too: a child starts with its
parent's resident memory counted in its peak, so the measuring parent stays small.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MB = 300
ADMIN, PASSWORD = "bench_admin", "bench-password-2026"
CURRENT = (
    "SELECT max(id) FROM survey WHERE phase = 'needs' AND status != 'draft' GROUP BY compound_id"
)
BARE_READ = (
    "SELECT b.id, h.label, b.channel, b.created_at, bi.item_id, bi.rank FROM ballot b "
    "JOIN household h ON h.id = b.household_id LEFT JOIN ballotitem bi ON bi.ballot_id = b.id "
    "WHERE b.is_current ORDER BY b.id"
)


# -- what the children do ----------------------------------------------------------------------


def seed(url: str) -> None:
    """Seed the city and an admin account into `url`."""
    from sqlmodel import Session

    from consult.db import make_engine
    from consult.models import Role
    from consult.schema import upgrade
    from consult.services.accounts import create_account
    from consult.services.city import seed_city

    engine = make_engine(url)
    upgrade(engine)
    began = time.perf_counter()
    with Session(engine) as session:
        figures = seed_city(session, seed=2026)
        create_account(session, username=ADMIN, password=PASSWORD, role=Role.ADMIN)
        session.commit()
    engine.dispose()
    print(
        f"  seeded {figures.compounds} compounds, {figures.households:,} households, "
        f"{figures.ballots:,} ballots, {figures.ballot_items:,} approvals "
        f"in {time.perf_counter() - began:.1f} s"
    )


def baseline(read: bool) -> None:
    """Import the app and open the database; with `read`, stream every ballot and approval."""
    from consult import create_app
    from consult.db import get_engine

    with create_app().app_context(), get_engine().connect() as conn:
        if not read:
            conn.exec_driver_sql("SELECT 1").all()
            return
        rows = conn.execution_options(yield_per=2000).exec_driver_sql(BARE_READ)
        print(sum(1 for _ in rows), "rows", file=sys.stderr)


def web_export(path: str, output: str) -> None:
    """Download an export as an admin through the app's routes, chunk by chunk."""
    from consult import create_app

    client = create_app().test_client()
    response = client.post("/login", data={"username": ADMIN, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.get(path, buffered=False)
    assert response.status_code == 200, response.status_code
    with open(output, "wb") as file:
        for chunk in response.response:
            file.write(chunk)
    response.close()


def check(url: str, xlsx: list[str], csvs: list[str]) -> None:
    """Assert every file holds every current ballot (and every menu row); print the counts."""
    import csv

    from openpyxl import load_workbook
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        ballots = conn.execute(
            text(f"SELECT count(*) FROM ballot WHERE is_current AND survey_id IN ({CURRENT})")
        ).scalar_one()
        menu_rows = conn.execute(
            text(f"SELECT count(*) FROM surveyitem WHERE survey_id IN ({CURRENT})")
        ).scalar_one()
    engine.dispose()
    for path in xlsx:
        book = load_workbook(path, read_only=True)
        counts = [sum(1 for _ in sheet.iter_rows(values_only=True)) - 1 for sheet in book]
        book.close()
        assert counts[1] == menu_rows and counts[2] == ballots, (path, counts)
    for path in csvs:
        with open(path, encoding="utf-8-sig", newline="") as file:
            rows = sum(1 for _ in csv.reader(file)) - 1
        assert rows == ballots, (path, rows, ballots)
    sizes = ", ".join(f"{Path(p).name} {Path(p).stat().st_size / 1e6:.1f} MB" for p in xlsx + csvs)
    print(f"  complete: {ballots:,} ballot rows, {menu_rows:,} menu rows; {sizes}")


def scratch(action: str, server: str, url: str = "") -> None:
    """Create a scratch PostgreSQL database and print its URL, or drop the one at `url`."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        if action == "create":
            name = f"consult_bench_{uuid.uuid4().hex[:8]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            print(make_url(server).set(database=name).render_as_string(hide_password=False))
        else:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


CHILDREN = {
    "seed": lambda args: seed(args[0]),
    "open": lambda args: baseline(read=False),
    "read": lambda args: baseline(read=True),
    "web": lambda args: web_export(args[0], args[1]),
    "check": lambda args: check(args[0], args[1].split(","), args[2].split(",")),
    "scratch": lambda args: scratch(*args),
}


# -- the measuring parent (stdlib only) --------------------------------------------------------


def me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


def measure(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run a command; return its wall time (s) and its own peak RSS (MB)."""
    began = time.perf_counter()
    with log.open("wb") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - began
    if process.returncode:
        sys.stderr.write(log.read_text(errors="replace"))
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024  # kilobytes on Linux


def run(name: str, url: str, folder: Path) -> list[float]:
    """Seed, measure every export of the city, check the files; return the exports' peaks."""
    print(f"{name}:")
    subprocess.run(me("seed", url), check=True)
    env = {
        **os.environ,
        "CONSULT_DATABASE_URL": url,
        "CONSULT_INSTANCE_PATH": str(folder / "instance"),
        "CONSULT_SECRET_KEY": "bench-secret",
        "CONSULT_WTF_CSRF_ENABLED": "false",
        "CONSULT_RATELIMIT_ENABLED": "false",
    }
    consult = str(Path(sys.executable).with_name("consult"))
    xlsx, csv, web_xlsx, web_csv = (
        str(folder / f"{name}-{stem}")
        for stem in ("city.xlsx", "ballots.csv", "web.xlsx", "web.csv")
    )
    jobs = [
        ("baseline: import the app, open the database", me("open")),
        ("baseline: and read every ballot and approval, bare", me("read")),
        ("city xlsx (consult export xlsx)", [consult, "export", "xlsx", "-o", xlsx]),
        (
            "city ballots csv (consult export csv)",
            [consult, "export", "csv", "--table", "ballots", "-o", csv],
        ),
        ("city xlsx, GET /p/export.xlsx", me("web", "/p/export.xlsx", web_xlsx)),
        (
            "city ballots csv, GET /p/export/ballots.csv",
            me("web", "/p/export/ballots.csv", web_csv),
        ),
    ]
    peaks = []
    for label, command in jobs:
        seconds, peak = measure(command, env, folder / "child.log")
        verdict = ""
        if not label.startswith("baseline"):
            peaks.append(peak)
            verdict = f"  (goal < {GOAL_MB} MB) {'met' if peak < GOAL_MB else 'NOT met'}"
        print(f"  {label:<52} {seconds:6.1f} s  peak {peak:5.0f} MB{verdict}")
    subprocess.run(me("check", url, f"{xlsx},{web_xlsx}", f"{csv},{web_csv}"), check=True)
    return peaks


def main() -> int:
    print(f"The whole city's exports, each in a fresh process: peak memory (goal < {GOAL_MB} MB)")
    peaks: list[float] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        peaks += run("SQLite", f"sqlite:///{folder / 'city.db'}", folder)
        server = os.environ.get("CONSULT_BENCH_DATABASE_URL")
        if server:
            made = subprocess.run(
                me("scratch", "create", server), check=True, capture_output=True, text=True
            )
            url = made.stdout.strip()
            try:
                peaks += run("PostgreSQL", url, folder)
            finally:
                subprocess.run(me("scratch", "drop", server, url), check=True)
        else:
            print("PostgreSQL skipped: set CONSULT_BENCH_DATABASE_URL to a server URL")
    worst = max(peaks)
    verdict = "met" if worst < GOAL_MB else "NOT met"
    print(f"Highest peak of an export: {worst:.0f} MB (goal < {GOAL_MB} MB) {verdict}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        CHILDREN[sys.argv[2]](sys.argv[3:])
        sys.exit(0)
    sys.exit(main())
