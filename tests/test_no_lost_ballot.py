"""No acknowledged ballot is lost or counted twice, against `consult serve` with 4 workers.

Each test starts the real server (gunicorn, 4 workers) on a free local port over
a fresh database of each kind, and drives it with plain HTTP clients from
threads, as phones would: fetch the form (its CSRF token and submission key),
then send it. A 303 to the thank-you page is an acknowledgement.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from consult.db import make_engine
from consult.models import Ballot, Compound
from consult.schema import upgrade
from consult.services.seed import DemoCompound, build_compound, seed_catalog
from tests.conftest import hidden_fields
from tests.factories import create_district, open_survey

pytestmark = pytest.mark.load

# 10 buildings x 10 units x 10 floors x 2 rooms = 2,000 households.
SHAPE = DemoCompound("loadyard", "压力测试小区", "kuiwen", "", (10,) * 10, 10, 2, 0)


@dataclass
class Server:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    labels: list[str] = field(default_factory=list)

    def workers(self) -> list[int]:
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        return [int(pid) for pid in children]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(empty_database_url: str, tmp_path: Path) -> Iterator[Server]:
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with Session(engine) as session:
        seed_catalog(session)
        district = create_district(session)
        households = build_compound(session, SHAPE, district)
        session.commit()
        compound = session.get(Compound, households[0].compound_id)
        assert compound is not None
        open_survey(session, compound)
        labels = [h.label for h in households]
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CONSULT_DATABASE_URL": empty_database_url,
        "CONSULT_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONSULT_SECRET_KEY": "load-test",
        "CONSULT_RATELIMIT_ENABLED": "false",  # one address sends everything here
    }
    log = tmp_path / "serve.log"
    output = log.open("wb")  # the server writes here; this process closes its own handle
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "consult"),
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--timeout",
            "60",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=output,
    )
    output.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/c/loadyard", timeout=2):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        process.wait()
        pytest.fail("consult serve did not start: " + log.read_text()[-2000:])
    yield Server(url, empty_database_url, process, labels)
    process.terminate()
    process.wait(timeout=20)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def client() -> urllib.request.OpenerDirector:
    """A phone: its own cookies, no automatic redirects."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
    )


def answer(phone: urllib.request.OpenerDirector, url: str, label: str, item: str) -> str | None:
    """Fetch the form and send it for the household; return the receipt if acknowledged."""
    try:
        with phone.open(f"{url}/c/loadyard/survey", timeout=30) as page:
            form = page.read().decode()
        building, unit, room = label.split("-")
        data = {
            **hidden_fields(form),
            "building": building,
            "unit": unit,
            "room": room,
            "approve": item,
        }
        body = urllib.parse.urlencode(data).encode()
        with phone.open(f"{url}/c/loadyard/survey", data=body, timeout=30):
            pass
    except urllib.error.HTTPError as reply:
        reply.close()
        location = reply.headers.get("Location", "")
        if reply.code == 303 and "/thanks/" in location:
            return location.rsplit("/", 1)[-1]
        return None
    except OSError:
        return None  # the connection dropped: not acknowledged
    return None


def stored(server: Server) -> tuple[int, int, set[str]]:
    engine = make_engine(server.database_url)
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Ballot)).one()
        current = session.exec(
            select(func.count()).select_from(Ballot).where(Ballot.is_current)
        ).one()
        receipts = set(session.exec(select(Ballot.receipt)).all())
    engine.dispose()
    return int(total), int(current), receipts


def run_clients(count: int, work: object) -> None:
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_50_clients_40_ballots_each_every_acknowledgement_stored_once(server: Server) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()

    def phone_owner(n: int) -> None:
        phone = client()
        for k in range(40):
            receipt = answer(phone, server.url, server.labels[n * 40 + k], "gas_pipeline")
            if receipt:
                with lock:
                    acknowledged.append(receipt)

    run_clients(50, phone_owner)
    total, current, receipts = stored(server)
    assert len(acknowledged) == len(set(acknowledged))
    assert len(acknowledged) >= 1900, "nearly every submission is acknowledged"
    assert set(acknowledged) <= receipts
    assert total == current == len(acknowledged)
    with urllib.request.urlopen(f"{server.url}/c/loadyard", timeout=10) as response:
        page = response.read().decode()
    assert re.search(rf"<strong>{len(acknowledged)}</strong> / 2000", page)


def test_two_phones_for_one_household_at_the_same_moment(server: Server) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    rounds = 15
    barrier = threading.Barrier(2)

    def phone(n: int) -> None:
        device = client()
        for r in range(rounds):
            barrier.wait()
            receipt = answer(
                device, server.url, server.labels[r], "fire_safety" if n else "parking"
            )
            if receipt:
                with lock:
                    acknowledged.append(receipt)

    run_clients(2, phone)
    total, current, receipts = stored(server)
    assert set(acknowledged) <= receipts
    assert total == len(acknowledged)  # none lost: the rest are history
    assert current == rounds  # exactly one current ballot per household


def test_a_worker_killed_mid_load_loses_no_acknowledged_ballot(server: Server) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()

    def phone_owner(n: int) -> None:
        phone = client()
        for k in range(25):
            receipt = answer(phone, server.url, server.labels[n * 25 + k], "water_supply")
            if receipt:
                with lock:
                    acknowledged.append(receipt)

    def killer(_: int) -> None:
        time.sleep(1.0)
        os.kill(server.workers()[0], signal.SIGKILL)

    run_clients(21, lambda n: killer(n) if n == 20 else phone_owner(n))
    total, current, receipts = stored(server)
    assert set(acknowledged) <= receipts, "every acknowledged ballot is stored"
    assert total == current  # and nothing is counted twice
    assert len(acknowledged) > 0
