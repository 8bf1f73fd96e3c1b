"""The `consult` command line: schema, demo city, export, and the tally round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlmodel import Session, select

from consult.models import (
    PHASES,
    AuditEvent,
    Ballot,
    CatalogItem,
    Compound,
    ConsentStatus,
    Household,
    Phase,
    SurveyStatus,
    WorkStatus,
)
from consult.services import consent_votes, phases, plan_notice, plans, satisfaction, works
from consult.services.surveys import local_today


def test_init_db_is_safe_to_run_again(runner: Any, session: Session) -> None:
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "0 catalogue items added" in first.output  # the fixture seeded them already
    assert session.exec(select(func.count()).select_from(CatalogItem)).one() == 53


def test_seed_demo_creates_the_demo_city_once(runner: Any, session: Session) -> None:
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    phase = dict(session.exec(select(Compound.code, Compound.phase)).all())
    assert phase == {
        "dongzhuang": "needs",
        "zhonghejie": "needs",
        "huayuan": "works",
        "xingfuli": "evaluation",
    }
    households = dict(
        session.exec(
            select(Compound.code, func.count(Household.id))
            .join(Household, Household.compound_id == Compound.id)
            .group_by(Compound.code)
        ).all()
    )
    assert households == {"dongzhuang": 276, "zhonghejie": 204, "huayuan": 120, "xingfuli": 120}
    ballots = session.exec(select(func.count()).select_from(Ballot)).one()
    # The two compounds further along went through every phase before theirs.
    for code in ("huayuan", "xingfuli"):
        compound = session.exec(select(Compound).where(Compound.code == code)).one()
        plan = plans.plan_of(session, compound)
        assert plan is not None and plan.version == 1 and plan.published is not None
        assert plan.published_at is not None and plan.published_at.date() < local_today()
        assert plan_notice.entries(session, plan), "residents commented during the notice"
        votes = {vote.kind: vote for vote in consent_votes.votes_of(session, compound)}
        whole, elevator = votes["ordinary"], votes["elevator"]
        assert whole.status == ConsentStatus.CLOSED and whole.result is not None
        assert whole.result["outcome"] == "approved"
        assert elevator.status == ConsentStatus.OPEN and elevator.kind == "elevator"
        statuses = {item.status for item in works.works_items(session, compound)}
        dates = {step.phase: step for step in phases.timeline(session, compound)}
        assert all(dates[p].starts_on for p in PHASES[: PHASES.index(Phase(compound.phase)) + 1])
        if code == "huayuan":
            assert statuses >= {WorkStatus.DONE, WorkStatus.IN_PROGRESS}
            assert works.late_items(session, today=local_today()), "one item runs late"
        else:
            assert statuses == {WorkStatus.DONE}
            survey = satisfaction.current(session, compound)
            assert survey is not None and survey.status == SurveyStatus.OPEN
            assert satisfaction.answered_count(session, survey) == 72  # 60 % of 120
    again = runner.invoke(args=["seed-demo"])
    assert "already has compounds" in again.output
    assert session.exec(select(func.count()).select_from(Ballot)).one() == ballots > 0


def test_setup_prints_the_urls(runner: Any) -> None:
    plain = runner.invoke(args=["setup", "--host", "127.0.0.1", "--port", "5055"])
    assert plain.exit_code == 0 and "admin-demo-2026" not in plain.output  # no demo logins
    result = runner.invoke(args=["setup", "--demo", "--host", "127.0.0.1", "--port", "5055"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5055/c/dongzhuang" in result.output
    assert "wang   / wang-demo-2026" in result.output


def test_export_ballots_writes_consult_ballots_1(
    runner: Any, tmp_path: Path, session: Session
) -> None:
    runner.invoke(args=["seed-demo"])
    out = tmp_path / "dongzhuang.json"
    result = runner.invoke(args=["export-ballots", "--compound", "dongzhuang", "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["format"] == "consult.ballots/1"
    assert document["compound"] == {"code": "dongzhuang", "name": "东庄小区", "households": 276}
    assert document["rank_depth"] == 3
    assert len(document["items"]) == 53
    assert len(document["ballots"]) == 46
    first = document["ballots"][0]
    assert set(first) >= {"household", "building", "approve", "rank", "elderly", "channel"}
    assert set(first["rank"]) <= set(first["approve"])
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export.ballots")).one()
    assert event.target == "compound:dongzhuang" and event.account_id is None


def test_export_ballots_of_unknown_compound_fails_by_name(runner: Any) -> None:
    result = runner.invoke(args=["export-ballots", "--compound", "atlantis"])
    assert result.exit_code != 0
    assert "atlantis" in result.output


def test_export_then_tally_gives_the_menu_the_pages_show(
    app: Flask, runner: Any, tmp_path: Path
) -> None:
    from consult.services.places import compound_by_code
    from consult.services.surveys import current_survey
    from consult.services.tallies import compound_menu

    runner.invoke(args=["seed-demo"])
    out = tmp_path / "export.json"
    runner.invoke(args=["export-ballots", "--compound", "dongzhuang", "-o", str(out)])
    result = runner.invoke(args=["tally", str(out)])
    assert result.exit_code == 0, result.output
    from_file = json.loads(result.output)
    with app.app_context(), Session(app.extensions["consult.engine"]) as session:
        compound = compound_by_code(session, "dongzhuang")
        assert compound is not None
        survey = current_survey(session, compound)
        assert survey is not None
        from_pages = compound_menu(session, compound, survey)
    assert from_file == from_pages


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "consult"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("init-db", "seed-demo", "setup", "serve", "export-ballots"):
        assert command in result.stdout
