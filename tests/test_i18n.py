"""Both catalogues are complete and the compiled files are built, not committed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).parent.parent / "consult" / "translations"


def catalog(locale: str) -> dict[str, str]:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def template_ids() -> set[str]:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_string_is_translated(locale: str) -> None:
    translations = catalog(locale)
    missing = [msgid for msgid in template_ids() if not translations.get(msgid)]
    assert missing == []


def test_chinese_catalogue_is_chinese() -> None:
    translations = catalog("zh_Hans")
    assert translations["Start the survey"] == "开始填写"
    untranslated = [k for k, v in translations.items() if k == v and any(c.isalpha() for c in k)]
    assert untranslated == []


def test_placeholders_survive_translation() -> None:
    import re

    for locale in ("zh_Hans", "en"):
        for msgid, msgstr in catalog(locale).items():
            assert sorted(re.findall(r"%\(\w+\)\w", msgid)) == sorted(
                re.findall(r"%\(\w+\)\w", msgstr)
            ), (locale, msgid)


def test_pot_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    root = Path(__file__).parent.parent
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(fresh),
            "--no-location",
            "--sort-output",
            "--ignore-dirs=.* instance __pycache__",
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with fresh.open("rb") as f:
        ids = {m.id for m in read_po(f) if m.id}
    assert ids == template_ids(), "run `make extract` and translate the new strings"


def test_compiled_catalogues_are_not_committed() -> None:
    root = Path(__file__).parent.parent
    tracked = subprocess.run(
        ["git", "ls-files", "*.mo"], cwd=root, capture_output=True, text=True, check=False
    ).stdout
    assert tracked.strip() == ""
