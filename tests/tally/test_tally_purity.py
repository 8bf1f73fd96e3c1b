"""The tally engine stays pure: no web framework, database or rest of consult."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import consult.tally

PACKAGE = Path(consult.tally.__file__).parent
FORBIDDEN = ("flask", "sqlmodel", "sqlalchemy", "plotly")


def imported_modules(source: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source.name}: use absolute imports"
            names.append(node.module or "")
    return names


def test_tally_modules_import_nothing_forbidden():
    sources = sorted(PACKAGE.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        for name in imported_modules(source):
            root = name.split(".")[0]
            assert root not in FORBIDDEN, f"{source.name} imports {name}"
            if root == "consult":
                assert name.startswith("consult.tally"), f"{source.name} imports {name}"


def test_importing_the_engine_loads_no_web_or_database_code():
    # A fresh interpreter imports the engine as the CLI and a planner's script do.
    probe = (
        "import sys\n"
        "import consult.tally\n"
        "consult.tally.tally({'format': 'consult.ballots/1', 'compound': {'code': 'c',"
        " 'households': 1}, 'rank_depth': 0, 'items': [], 'ballots': []})\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_public_api_is_sorted_and_complete():
    names = consult.tally.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(consult.tally, name), name
    public = {n for n in vars(consult.tally) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(consult.tally, n)).__name__ == "module"}
    assert public - modules == set(names)
