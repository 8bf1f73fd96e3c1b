"""Process settings the application applies when it is created."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from consult import create_app
from consult.config import DEFAULTS, raise_collector_threshold


@pytest.fixture(autouse=True)
def kept_threshold() -> Iterator[None]:
    """Put the collector's thresholds back as they were after each test."""
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_young_threshold_is_raised_and_the_older_ones_kept() -> None:
    gc.set_threshold(700, 10, 10)
    raise_collector_threshold(2000)
    assert gc.get_threshold() == (2000, 10, 10)


def test_a_higher_threshold_is_never_lowered_and_zero_leaves_it() -> None:
    gc.set_threshold(50_000, 20, 30)
    raise_collector_threshold(2000)
    assert gc.get_threshold() == (50_000, 20, 30)
    gc.set_threshold(700, 10, 10)
    raise_collector_threshold(0)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_collector_turned_off_stays_off() -> None:
    gc.set_threshold(0, 10, 10)  # a young threshold of 0: no automatic collection
    raise_collector_threshold(2000)
    assert gc.get_threshold() == (0, 10, 10)


def test_create_app_applies_the_setting(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'c.db'}"
    gc.set_threshold(700, 10, 10)
    create_app({"SECRET_KEY": "t", "DATABASE_URL": database})
    assert DEFAULTS["GC_YOUNG_THRESHOLD"] == 2000
    assert gc.get_threshold() == (2000, 10, 10)
    gc.set_threshold(700, 10, 10)
    create_app({"SECRET_KEY": "t", "DATABASE_URL": database, "GC_YOUNG_THRESHOLD": 0})
    assert gc.get_threshold() == (700, 10, 10)
