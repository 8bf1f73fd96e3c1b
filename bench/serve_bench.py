"""Serving: ballot submissions and the survey page against `consult serve`, with baselines.

Starts `consult serve` (gunicorn, 4 workers) on a compound of 2,000 households
and, beside it, a bare Flask + SQLModel app under the same gunicorn settings:
`POST /ballot` inserts the same rows as a submission (one Ballot and its
BallotItems, through consult.models) with no validation, CSRF or form, and
`GET /hello` returns a word. Threads with urllib drive both over loopback, as
phones would: each client has its own cookies and follows no redirects.

At 20 and 50 concurrent clients, in one run on the same machine:
- the survey page: GET /c/<code>/survey (this also fetches each form's CSRF
  token and signed submission key) against GET /hello: goal >= 0.4;
- submissions: POST of those forms, one distinct household each (303 to the
  thank-you page = stored) against POST /ballot: goal >= 0.5. The GET+POST
  pair rate (a resident's whole submission) is printed too.

Rates are requests / wall time of a fixed number of requests after a warm-up;
latencies are per request. SQLite on a temporary file; PostgreSQL too when
CONSULT_BENCH_DATABASE_URL names a server (a scratch database is created and
dropped). The clients run in this process and share the machine's cores with
the servers, for the baselines as for consult.
"""

from __future__ import annotations

import http.cookiejar
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from consult.db import make_engine  # noqa: E402
from consult.models import Ballot, BallotItem, Channel, Compound, Household  # noqa: E402

WORKERS = 4
LEVELS = (20, 50)
REQUESTS = 600  # per measurement
WARMUP = 40  # per server, before the first measurement
SUBMIT_GOAL, PAGE_GOAL = 0.5, 0.4
APPROVE = ("gas_pipeline", "water_supply", "fire_safety")
PRIORITY = ("gas_pipeline",)
CONSULT_YARD, BARE_YARD, SMALL_YARD = "loadyard", "bareyard", "smallyard"
#: (units per building, floors, rooms per floor): 2,000 households each for the load;
#: 96 for a page of a compound of the city's typical size (it averages 105 households).
SHAPES = {
    CONSULT_YARD: ((10,) * 10, 10, 2),
    BARE_YARD: ((10,) * 10, 10, 2),
    SMALL_YARD: ((2,) * 4, 6, 2),
}


# --- the bare baseline (runs in its own gunicorn process) -------------------------------


def bare_app(database_url: str) -> Any:
    """A minimal Flask app: /hello, and /ballot inserting a ballot and its items."""
    from flask import Flask, redirect, request

    engine = make_engine(database_url)
    app = Flask("bare")

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    @app.post("/ballot")
    def ballot() -> Any:
        approve = request.form.getlist("approve")
        priority = request.form.getlist("priority")
        receipt = secrets.token_hex(4).upper()
        with Session(engine) as session:
            row = Ballot(
                survey_id=int(request.form["survey"]),
                household_id=int(request.form["household"]),
                submission_key=uuid.uuid4().hex,
                receipt=receipt,
                channel=Channel.QR,
            )
            session.add(row)
            session.flush()
            for item in approve:
                rank = priority.index(item) + 1 if item in priority else None
                session.add(BallotItem(ballot_id=row.id, item_id=item, rank=rank))
            session.commit()
        return redirect(f"/thanks/{receipt}", 303)

    return app


def serve_bare(database_url: str, bind: str) -> None:
    """Serve the bare app with the gunicorn settings of `consult serve`."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": bind,
                "workers": WORKERS,
                "threads": 1,
                "timeout": 60,
                "accesslog": "-",
                "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return bare_app(database_url)

    Server().run()


# --- the database ----------------------------------------------------------------------


@dataclass
class Yards:
    labels: list[str]  # consult's compound: building-unit-room of each household
    bare_households: list[int]  # the bare compound's household ids
    bare_survey: int


def build_database(url: str) -> Yards:
    """Migrate, seed the catalogue and the compounds, each with an open survey."""
    from consult.schema import upgrade
    from consult.services.seed import DemoCompound, build_compound, seed_catalog
    from tests.factories import create_district, open_survey

    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        seed_catalog(session)
        district = create_district(session)
        yards = {}
        for code, (units, floors, rooms) in SHAPES.items():
            shape = DemoCompound(code, f"压力测试{code}", "kuiwen", "", units, floors, rooms, 0)
            households = build_compound(session, shape, district)
            session.commit()
            compound = session.get(Compound, households[0].compound_id)
            assert compound is not None
            survey = open_survey(session, compound)
            yards[code] = (households, survey)
        labels = [h.label for h in yards[CONSULT_YARD][0]]
        bare = [int(h.id) for h in yards[BARE_YARD][0] if h.id is not None]
        bare_survey = int(yards[BARE_YARD][1].id or 0)
    engine.dispose()
    return Yards(labels, bare, bare_survey)


def stored_ballots(url: str, code: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(Ballot)
            .join(Household, col(Household.id) == Ballot.household_id)
            .join(Compound, col(Compound.id) == Household.compound_id)
            .where(Compound.code == code, Ballot.is_current)
        ).one()
    engine.dispose()
    return int(count)


# --- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], probe: str, log: Path) -> Iterator[str]:
    """Run a server subprocess until the probe path answers; stop it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, f"127.0.0.1:{port}"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + probe, timeout=2):
                    break
            except OSError as error:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"server did not start: {log.read_text()[-2000:]}"
                    ) from error
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- clients ---------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def phone(jar: http.cookiejar.CookieJar | None = None) -> urllib.request.OpenerDirector:
    """A client: its own cookies (in jar), no automatic redirects."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar if jar is not None else http.cookiejar.CookieJar()),
        NoRedirect(),
    )


def send(
    opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None
) -> tuple[int, str]:
    """Return (status, body or Location) of one request, redirects not followed."""
    try:
        with opener.open(url, data=data, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as reply:
        reply.close()
        return reply.code, reply.headers.get("Location", "")


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def load(clients: int, jobs: list[Any], work: Callable[[int, Any], bool]) -> Run:
    """Run every job once, `clients` at a time (client n does jobs n, n + clients, ...)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        nonlocal failures
        mine: list[float] = []
        bad = 0
        start_line.wait()
        for job in jobs[n::clients]:
            began = time.perf_counter()
            if not work(n, job):
                bad += 1
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Run(len(jobs), time.perf_counter() - began, latencies, failures)


class Consult:
    """Residents' phones on consult: fetch forms, then send them."""

    def __init__(self, url: str, labels: list[str], clients: int, code: str = CONSULT_YARD) -> None:
        self.url = url
        self.code = code
        self.labels = labels
        self.jars = [http.cookiejar.CookieJar() for _ in range(clients)]
        self.phones = [phone(jar) for jar in self.jars]
        self.pages: dict[int, str] = {}
        self.forms: dict[int, dict[str, str]] = {}
        self.lock = threading.Lock()

    def get_form(self, n: int, k: int) -> bool:
        """Fetch a form; keep the page, to be read after the timed phase (`read_forms`)."""
        status, page = send(self.phones[n], f"{self.url}/c/{self.code}/survey")
        with self.lock:
            self.pages[k] = page
        return status == 200 and 'name="csrf_token"' in page

    def read_forms(self) -> None:
        """Turn the fetched pages into forms to send: their hidden fields and a household.

        Done between the timed phases, since the clients share the cores with the
        servers: parsing 40 KB pages would be counted against the server's rate.
        """
        from tests.conftest import hidden_fields

        for k, page in self.pages.items():
            building, unit, room = self.labels[k % len(self.labels)].split("-")
            self.forms[k] = {
                **hidden_fields(page),
                "building": building,
                "unit": unit,
                "room": room,
            }
        self.pages.clear()

    def post_form(self, n: int, k: int) -> bool:
        data = [*self.forms.pop(k).items(), *(("approve", i) for i in APPROVE)]
        data += [("priority", i) for i in PRIORITY]
        body = urllib.parse.urlencode(data).encode()
        jar = self.jars[n]
        fetched_with = list(jar)
        status, location = send(self.phones[n], f"{self.url}/c/{self.code}/survey", body)
        # A phone follows the 303 to the thank-you page, which takes the note the answer
        # left in its session. These follow no redirects: their cookies go back to those
        # the forms were fetched with, or some 60 notes would pile up in each phone's
        # session cookie, read and signed again by every request after.
        jar.clear()
        for cookie in fetched_with:
            jar.set_cookie(cookie)
        return status == 303 and "/thanks/" in location


class Bare:
    """The same clients on the bare app."""

    def __init__(self, url: str, yards: Yards, clients: int) -> None:
        self.url = url
        self.yards = yards
        self.phones = [phone() for _ in range(clients)]

    def hello(self, n: int, _: int) -> bool:
        status, body = send(self.phones[n], f"{self.url}/hello")
        return status == 200 and body == "hello"

    def post(self, n: int, k: int) -> bool:
        data = [("survey", str(self.yards.bare_survey))]
        data += [("household", str(self.yards.bare_households[k]))]
        data += [("approve", i) for i in APPROVE] + [("priority", i) for i in PRIORITY]
        body = urllib.parse.urlencode(data).encode()
        status, location = send(self.phones[n], f"{self.url}/ballot", body)
        return status == 303 and "/thanks/" in location


# --- the benchmark ---------------------------------------------------------------------


def latency(run: Run) -> str:
    return f"p50 {run.percentile(50):.0f} ms, p99 {run.percentile(99):.0f} ms"


FAILED: list[str] = []  # requests that did not get the expected answer


def check(run: Run, what: str) -> None:
    if run.failures:
        FAILED.append(f"{run.failures} of {run.requests} {what}")
        print(f"    !! {run.failures} of {run.requests} {what} failed")


def bench(name: str, url: str, folder: Path) -> list[tuple[str, float, float]]:
    """Measure one database; return (figure, ratio, goal) rows."""
    began = time.perf_counter()
    yards = build_database(url)
    print(f"  {name}: database built in {time.perf_counter() - began:.1f} s")
    python = str(Path(sys.executable))
    consult_env = {
        "CONSULT_DATABASE_URL": url,
        "CONSULT_INSTANCE_PATH": str(folder / "instance"),
        "CONSULT_SECRET_KEY": "bench-secret",
        "CONSULT_RATELIMIT_ENABLED": "false",  # one address sends everything here
    }
    consult_cmd = [
        str(Path(sys.executable).parent / "consult"),
        *("serve", "--workers", str(WORKERS), "--timeout", "60", "--bind"),
    ]
    bare_cmd = [python, __file__, "--bare-server", url]
    rows: list[tuple[str, float, float]] = []
    with (
        server(consult_cmd, consult_env, f"/c/{CONSULT_YARD}", folder / "consult.log") as site,
        server(bare_cmd, {}, "/hello", folder / "bare.log") as bare_site,
    ):
        households = iter(range(len(yards.labels)))
        bare_households = iter(range(len(yards.bare_households)))
        # Warm-up: every worker imports, connects and renders once or more.
        consult = Consult(site, yards.labels, WARMUP)
        jobs = [next(households) for _ in range(WARMUP)]
        load(WARMUP, jobs, consult.get_form)
        consult.read_forms()
        load(WARMUP, jobs, consult.post_form)
        bare = Bare(bare_site, yards, WARMUP)
        load(WARMUP, list(range(WARMUP)), bare.hello)
        load(WARMUP, [next(bare_households) for _ in range(WARMUP)], bare.post)
        for clients in LEVELS:
            consult = Consult(site, yards.labels, clients)
            bare = Bare(bare_site, yards, clients)
            hello = load(
                clients, list(range(3 * REQUESTS)), bare.hello
            )  # 600 would be over in 0.2 s
            check(hello, "hellos")
            small = load(
                clients,
                list(range(REQUESTS)),
                Consult(site, ["1-1-101"], clients, SMALL_YARD).get_form,
            )
            check(small, "small survey pages")
            jobs = [next(households) for _ in range(REQUESTS)]
            pages = load(clients, jobs, consult.get_form)
            check(pages, "survey pages")
            consult.read_forms()
            posts = load(clients, jobs, consult.post_form)
            check(posts, "submissions")
            inserts = load(clients, [next(bare_households) for _ in range(REQUESTS)], bare.post)
            check(inserts, "bare inserts")
            pairs = REQUESTS / (pages.seconds + posts.seconds)
            page_ratio, post_ratio = pages.rate / hello.rate, posts.rate / inserts.rate
            print(
                f"  {name:<10} survey page  {clients} clients: {pages.rate:5.0f} GET/s "
                f"({latency(pages)}) vs hello {hello.rate:5.0f}/s ({latency(hello)}) "
                f"= {page_ratio:.2f} (goal >= {PAGE_GOAL})"
            )
            print(
                f"  {name:<10} survey page  {clients} clients, 96 households: {small.rate:5.0f} GET/s "
                f"({latency(small)}) = {small.rate / hello.rate:.2f} of hello"
            )
            print(
                f"  {name:<10} submissions  {clients} clients: {posts.rate:5.0f} POST/s "
                f"({latency(posts)}) vs bare {inserts.rate:5.0f}/s ({latency(inserts)}) "
                f"= {post_ratio:.2f} (goal >= {SUBMIT_GOAL}); GET+POST pairs {pairs:.0f}/s"
            )
            rows.append((f"{name} survey page, {clients} clients", page_ratio, PAGE_GOAL))
            rows.append(
                (f"{name} page of 96 households, {clients}", small.rate / hello.rate, PAGE_GOAL)
            )
            rows.append((f"{name} submissions, {clients} clients", post_ratio, SUBMIT_GOAL))
    acknowledged = WARMUP + REQUESTS * len(LEVELS)
    counted = stored_ballots(url, CONSULT_YARD), stored_ballots(url, BARE_YARD)
    print(
        f"  {name:<10} ballots stored: consult {counted[0]}, bare {counted[1]} (sent {acknowledged} each)"
    )
    if counted != (acknowledged, acknowledged):
        FAILED.append(f"{name}: stored {counted}, sent {acknowledged} each")
    return rows


def main() -> int:
    from codes_bench import scratch_postgres

    print(
        f"Serving: consult serve vs a bare Flask + SQLModel app, gunicorn {WORKERS} workers, "
        f"{REQUESTS} requests per figure, {os.cpu_count()} cores"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        rows += bench("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", Path(folder))
        server_url = os.environ.get("CONSULT_BENCH_DATABASE_URL")
        if server_url:
            with scratch_postgres(server_url) as url:
                rows += bench("PostgreSQL", url, Path(folder))
        else:
            print("  PostgreSQL skipped: set CONSULT_BENCH_DATABASE_URL to a server URL")
    for figure, ratio, goal in rows:
        print(
            f"  {figure:<38} {ratio:5.2f} (goal >= {goal}) {'met' if ratio >= goal else 'NOT met'}"
        )
    # The figures are the result, goals met or not; a broken measurement is a failure.
    if FAILED:
        print("  the measurement is not valid: " + "; ".join(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare-server"]:
        serve_bare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
