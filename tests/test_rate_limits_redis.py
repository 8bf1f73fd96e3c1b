"""Rate limits shared by several workers through Redis.

Reached through CONSULT_TEST_REDIS_URL (`.ci/run` sets it to the local server,
redis://127.0.0.1:6379/15); skipped with that reason where it is unset or the
server does not answer.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from consult import create_app
from consult.db import create_schema, get_engine


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("CONSULT_TEST_REDIS_URL")
    if not url:
        pytest.skip(
            "Redis runs skipped: set CONSULT_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15)"
        )
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis runs skipped: {url} does not answer ({error.__class__.__name__})")
    return url


def test_two_workers_share_the_guess_limit(redis_url: str, tmp_path: Path) -> None:
    config = {
        "SECRET_KEY": "redis-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'consult.db'}",
        "RATELIMIT_STORAGE_URI": redis_url,
        # A prefix of its own, so that runs never see each other's counts.
        "RATELIMIT_KEY_PREFIX": f"consult-test-{uuid.uuid4().hex}",
    }
    first, second = create_app(dict(config)), create_app(dict(config))
    with first.app_context():
        create_schema(get_engine())
    statuses = []
    for n in range(24):
        worker = first if n % 2 else second
        statuses.append(worker.test_client().get(f"/h/ABCDEFG{n:02d}"[:10]).status_code)
    assert statuses[:20] == [404] * 20
    assert set(statuses[20:]) == {429}
    import redis

    server = redis.Redis.from_url(redis_url)
    stored = server.keys(f"*{config['RATELIMIT_KEY_PREFIX']}*")
    assert stored, "the counts live in Redis, not in one process's memory"
    server.delete(*stored)
    for app in (first, second):
        app.extensions["consult.engine"].dispose()
