"""The benchmarks `make bench` runs at least start: every module they import is there."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCH.glob("*_bench.py")))
def test_each_benchmark_imports(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module(script)
    assert callable(getattr(module, "main", None)), f"{script} has no main()"
    sys.modules.pop(script, None)
