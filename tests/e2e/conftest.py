"""Browser tests: a live server on a fresh SQLite demo city, driven by Debian's Chromium.

Playwright for Python drives /usr/bin/chromium (never a downloaded browser); the
tests skip with a reason where it is missing (`.ci/run` installs it). Screenshots
go to tests/e2e/screenshots/ (git-ignored): look at them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from werkzeug.serving import make_server

from consult import create_app
from consult.db import create_schema, get_engine
from consult.services.seed import seed_demo

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 375, "height": 812}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serve_demo(folder: Path) -> Iterator[str]:
    """Serve a fresh demo city, its database in the folder, on a free local port."""
    app = create_app(
        {
            "SECRET_KEY": "e2e-secret",
            "DATABASE_URL": f"sqlite:///{folder / 'consult.db'}",
        }
    )
    with app.app_context():
        create_schema(get_engine())
        with Session(get_engine()) as session:
            seed_demo(session)
            session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["consult.engine"].dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the demo city for the whole session (dongzhuang stays in its needs phase)."""
    with serve_demo(tmp_path_factory.mktemp("live")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Launch headless Chromium once for the session."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests skipped: /usr/bin/chromium is missing (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _phone_context(browser: Any, **options: Any) -> Any:
    return browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="zh-CN",
        **options,
    )


@pytest.fixture
def console_errors() -> list[str]:
    """Script errors and failed loads the page reported; a test may expect some."""
    return []


@pytest.fixture
def phone(browser: Any, console_errors: list[str]) -> Iterator[Any]:
    """A fresh page at a phone's size (375x812), cookies empty; no script errors allowed."""
    context = _phone_context(browser)
    page = context.new_page()
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()
    assert console_errors == [], console_errors


@pytest.fixture
def phone_without_js(browser: Any) -> Iterator[Any]:
    """A phone page with JavaScript off."""
    context = _phone_context(browser, java_script_enabled=False)
    yield context.new_page()
    context.close()


def shot(page: Any, name: str, full_page: bool = True) -> None:
    """Save a screenshot to look at."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
