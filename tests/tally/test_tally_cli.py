"""`consult tally FILE` through click's runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from consult.tally_cli import tally_command


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def ballots_file(tmp_path, reference_doc):
    path = tmp_path / "dz.json"
    path.write_text(json.dumps(reference_doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_prints_the_menu_as_json(runner, ballots_file):
    result = runner.invoke(tally_command, [str(ballots_file)])
    assert result.exit_code == 0, result.output
    menu = json.loads(result.output)
    assert menu["format"] == "consult.menu/1"
    assert [e["id"] for e in menu["items"]] == ["a", "b", "c", "d"]


def test_reads_stdin_and_passes_every_option(runner, reference_doc):
    result = runner.invoke(
        tally_command,
        [
            "-",
            "--method",
            "borda",
            "--select",
            "equal_shares",
            "--budget",
            "150",
            "--verified-only",
        ],
        input=json.dumps(reference_doc),
    )
    assert result.exit_code == 0, result.output
    menu = json.loads(result.output)
    assert (menu["method"], menu["verified_only"], menu["responses"]) == ("borda", True, 3)
    assert menu["selection"]["rule"] == "equal_shares"
    assert menu["selection"]["budget"] == 150.0


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh", ["屋面防水", "5 户作答", "赞成"]), ("en", ["Roofs", "5 of 8 households", "approvals"])],
)
def test_prints_a_table_in_either_language(runner, ballots_file, lang, words):
    result = runner.invoke(
        tally_command, [str(ballots_file), "--format", "table", "--lang", lang, "--budget", "150"]
    )
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.output
    assert "✓" in result.output


def test_table_falls_back_to_catalogue_names_then_ids(runner, make_doc):
    items = [
        {"id": "roof_waterproofing", "category": "basic"},
        {"id": "own_item", "category": "basic"},
    ]
    doc = make_doc([{"household": "h", "approve": ["own_item"]}], items=items)
    result = runner.invoke(tally_command, ["-", "--format", "table"], input=json.dumps(doc))
    assert result.exit_code == 0, result.output
    assert "own_item" in result.output
    assert "roof_waterproofing" not in result.output  # the catalogue names it


@pytest.mark.parametrize(
    ("change", "household", "field"),
    [
        (lambda d: d["ballots"][2]["approve"].append("zz"), "h3", "approve"),
        (lambda d: d["ballots"][3].update(household="h1"), "h1", "household"),
        (lambda d: d["ballots"][2].update(rank=["b"]), "h3", "rank"),
        (lambda d: d["ballots"][4].update(rank=["a", "b", "c"]), "h5", "rank"),
        (lambda d: d["compound"].update(households=4), "h5", "compound.households"),
        (lambda d: d["ballots"][1].update(channel="fax"), "h2", "channel"),
    ],
)
def test_refuses_a_bad_file_naming_household_and_field(
    runner, reference_doc, change, household, field
):
    change(reference_doc)
    result = runner.invoke(tally_command, ["-"], input=json.dumps(reference_doc))
    assert result.exit_code != 0
    assert f"household: {household}" in result.output
    assert f"field: {field}" in result.output


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "format"),
        ('{"format": "consult.menu/1"}', "format"),
        ("[]", "format"),
        (
            '{"format": "consult.ballots/1", "compound": {"code": "c", "households": "9"}}',
            "compound.households",
        ),
    ],
)
def test_refuses_a_malformed_file(runner, text, field):
    result = runner.invoke(tally_command, ["-"], input=text)
    assert result.exit_code != 0
    assert f"field: {field}" in result.output


def test_refuses_a_missing_file_and_a_negative_budget(runner, ballots_file, tmp_path):
    assert runner.invoke(tally_command, [str(tmp_path / "missing.json")]).exit_code == 2
    assert runner.invoke(tally_command, [str(ballots_file), "--budget", "-1"]).exit_code == 2
