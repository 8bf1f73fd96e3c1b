"""The satisfaction survey (问效): answers stored once per household, figures, comparison, city."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import (
    Channel,
    Compound,
    Household,
    Phase,
    Plan,
    PlanItem,
    SatisfactionAnswer,
    SatisfactionRating,
    Survey,
    SurveyMode,
    SurveyPhase,
    WorkStatus,
)
from consult.services import ballots, codes, coverage, dashboards, phases, surveys
from consult.services import satisfaction as service
from consult.services import satisfaction_results as figures
from consult.services.satisfaction_city import LOW_SATISFACTION, city
from consult.services.tallies import compound_menu
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_district, create_user, log_in, open_survey

TODAY = date(2026, 6, 1)


def _plan(session: Session, compound: Compound) -> dict[str, PlanItem]:
    """A plan: two items done, one still in works, one left out with its reason."""
    plan = Plan(compound_id=compound.id, version=1)  # type: ignore[arg-type]
    session.add(plan)
    session.flush()
    lines = {
        "roof": PlanItem(
            plan_id=plan.id,  # type: ignore[arg-type]
            item_id="water_supply",
            title="供水管网改造",
            category="basic",
            status=WorkStatus.DONE,
            position=1,
        ),
        "roads": PlanItem(
            plan_id=plan.id,  # type: ignore[arg-type]
            item_id="internal_roads",
            title="小区道路",
            category="basic",
            status=WorkStatus.DONE,
            position=2,
        ),
        "power": PlanItem(
            plan_id=plan.id,  # type: ignore[arg-type]
            item_id="power_supply",
            title="供电设施",
            category="basic",
            status=WorkStatus.IN_PROGRESS,
            position=3,
        ),
        "gas": PlanItem(
            plan_id=plan.id,  # type: ignore[arg-type]
            item_id="gas_pipeline",
            title="燃气管道",
            category="basic",
            included=False,
            reason="燃气公司另行改造",
            position=4,
        ),
    }
    session.add_all(lines.values())
    session.commit()
    return lines


def _evaluating(
    session: Session, code: str = "testyard", *, mode: SurveyMode = SurveyMode.OPEN
) -> tuple[Compound, list[Household], dict[str, PlanItem], Survey]:
    """A compound of 24 households in the evaluation phase, its plan done, the survey open."""
    compound, homes = create_compound(session, code)
    lines = _plan(session, compound)
    phases.move_to(session, compound, Phase.EVALUATION, TODAY)
    survey = service.open_survey(session, compound, mode=mode, closes_on=None, today=TODAY)
    session.commit()
    return compound, homes, lines, survey


def _answer(
    session: Session,
    survey: Survey,
    home: Household,
    overall: int,
    items: dict[int, int] | None = None,
    *,
    key: str = "",
    verified: bool = False,
) -> service.Stored:
    stored = ballots.commit_with_retry(
        session,
        lambda: service.submit_answer(
            session,
            survey=survey,
            household=home,
            ratings=service.Ratings(overall=overall, items=items or {}),
            submission_key=key or f"k{home.id}-{overall}",
            channel=Channel.INVITE if verified else Channel.QR,
            verified=verified,
        ),
    )
    return stored


def _form(client: FlaskClient, url: str) -> dict[str, str]:
    return hidden_fields(client.get(url).get_data(as_text=True))


def test_the_form_stores_once_and_replaces_in_place(app: Flask, session: Session) -> None:
    compound, homes, lines, survey = _evaluating(session)
    client = app.test_client()
    page = client.get("/c/testyard/satisfaction?lang=en")
    html = page.get_data(as_text=True)
    # The done item, in English by the catalogue's name; the item not done is not asked.
    assert page.status_code == 200 and "Water supply pipes &amp; facilities" in html
    assert "供水管网改造" not in html and "供电设施" not in html
    chinese = app.test_client().get("/c/testyard/satisfaction").get_data(as_text=True)
    assert "供水管网改造" in chinese
    assert f'name="item-{lines["roof"].id}"' in html and "Very satisfied" in html
    home = homes[0]
    building, unit, room = home.label.split("-")
    sent = {
        **hidden_fields(html),
        "building": building,
        "unit": unit,
        "room": room,
        "overall": "4",
        "construction": "3",
        f"item-{lines['roof'].id}": "5",
    }
    first = client.post("/c/testyard/satisfaction", data=sent)
    assert first.status_code == 303 and first.location.endswith("/c/testyard/satisfaction/thanks")
    # A double tap (the same form, the same answer) stores nothing more.
    assert client.post("/c/testyard/satisfaction", data=sent).status_code == 303
    # No overall rating, or a rating off the scale: refused, nothing changes.
    assert client.post("/c/testyard/satisfaction", data={**sent, "overall": ""}).status_code == 400
    off = client.post("/c/testyard/satisfaction", data={**sent, f"item-{lines['roof'].id}": "7"})
    assert off.status_code == 400 and "Choose one of the five answers" in off.get_data(as_text=True)
    rows = session.exec(select(SatisfactionAnswer)).all()
    assert [(a.overall, a.process, a.verified) for a in rows] == [(4, 3, False)]
    first_id = rows[0].id
    # Answering again (a fresh form) replaces the answer in place, ratings and all.
    again = {
        **_form(client, "/c/testyard/satisfaction"),
        "building": building,
        "unit": unit,
        "room": room,
        "overall": "2",
        f"item-{lines['roads'].id}": "1",
    }
    assert client.post("/c/testyard/satisfaction", data=again).status_code == 303
    session.expire_all()
    rows = session.exec(select(SatisfactionAnswer)).all()
    assert [(a.id, a.overall, a.process) for a in rows] == [(first_id, 2, None)]
    ratings = session.exec(select(SatisfactionRating.plan_item_id, SatisfactionRating.score)).all()
    assert ratings == [(lines["roads"].id, 1)]
    assert client.get("/c/testyard/satisfaction/thanks").status_code == 200


def test_a_retried_key_counts_once_and_races_end_with_one_row(session: Session) -> None:
    _compound, homes, lines, survey = _evaluating(session)
    first = _answer(session, survey, homes[1], 5, {lines["roof"].id: 4}, key="same")
    repeat = _answer(session, survey, homes[1], 5, {lines["roof"].id: 4}, key="same")
    other = _answer(session, survey, homes[1], 3, key="other")
    assert [first.outcome, repeat.outcome, other.outcome] == ["created", "duplicate", "replaced"]
    assert session.exec(select(SatisfactionAnswer.overall)).all() == [3]
    assert session.exec(select(SatisfactionRating)).all() == []


def test_a_household_with_a_code_answers_with_it(app: Flask, session: Session) -> None:
    compound, homes, _lines, survey = _evaluating(session, mode=SurveyMode.BOTH)
    open_survey(session, compound)  # the needs survey is still open: the code goes here anyway
    issued = codes.issue_codes(
        session, app.config["SECRET_KEY"], compound, household_ids=[homes[0].id]
    )  # type: ignore[list-item]
    session.commit()
    client = app.test_client()
    page = client.get(f"/h/{issued[0].code}?lang=en").get_data(as_text=True)
    assert "How did the renovation go?" in page and "verified by your household code" in page
    sent = {**hidden_fields(page), "overall": "5"}
    # A form mistake with a good code is a 422: no guess at a code, not counted as one.
    assert client.post(f"/h/{issued[0].code}", data={**sent, "overall": "9"}).status_code == 422
    assert client.post(f"/h/{issued[0].code}", data=sent).status_code == 303
    # By the open link, nobody can answer in that household's name.
    building, unit, room = homes[0].label.split("-")
    refused = client.post(
        "/c/testyard/satisfaction?lang=en",
        data={
            **_form(client, "/c/testyard/satisfaction"),
            "building": building,
            "unit": unit,
            "room": room,
            "overall": "1",
        },
    )
    assert refused.status_code == 400 and "its own code" in refused.get_data(as_text=True)
    assert session.exec(select(SatisfactionAnswer.overall, SatisfactionAnswer.verified)).all() == [
        (5, True)
    ]
    # With codes only, the open link says so.
    survey.mode = SurveyMode.CODES
    session.add(survey)
    session.commit()
    assert "household code" in client.get("/c/testyard/satisfaction?lang=en").get_data(as_text=True)


def test_out_of_phase_or_closed_nothing_changes(app: Flask, session: Session) -> None:
    compound, homes = create_compound(session)
    phases.move_to(session, compound, Phase.WORKS, TODAY)
    session.commit()
    create_user(session, "wang", "facilitator", compounds=[compound])
    client = app.test_client()
    log_in(client, "wang")
    page = client.get("/f/c/testyard/satisfaction?lang=en")
    assert page.status_code == 200 and "Asking results" in page.get_data(as_text=True)
    token = hidden_fields(page.get_data(as_text=True))["csrf_token"]
    opened = client.post(
        "/f/c/testyard/satisfaction", data={"csrf_token": token, "action": "open", "mode": "open"}
    )
    assert opened.status_code == 303 and session.exec(select(Survey)).all() == []
    residents = client.get("/c/testyard/satisfaction?lang=en")
    assert residents.status_code == 200 and "not come yet" in residents.get_data(as_text=True)
    assert client.post("/c/testyard/satisfaction", data={"overall": "5"}).status_code == 400
    # In its phase the facilitator opens it (a bad mode is refused), then closes it.
    phases.move_to(session, compound, Phase.EVALUATION, TODAY)
    session.commit()
    bad = client.post(
        "/f/c/testyard/satisfaction",
        data={"csrf_token": token, "action": "open", "mode": "nonsense"},
    )
    assert bad.status_code == 400 and session.exec(select(Survey)).all() == []
    good = client.post(
        "/f/c/testyard/satisfaction", data={"csrf_token": token, "action": "open", "mode": "open"}
    )
    assert good.status_code == 303
    assert client.get("/c/testyard/satisfaction").status_code == 200
    client.post("/f/c/testyard/satisfaction", data={"csrf_token": token, "action": "close"})
    closed = client.get("/c/testyard/satisfaction?lang=en")
    assert closed.status_code == 200 and "has closed" in closed.get_data(as_text=True)
    survey = session.exec(select(Survey)).one()
    assert (survey.phase, survey.status) == (SurveyPhase.SATISFACTION, "closed")


def test_figures_are_counted_by_hand(session: Session) -> None:
    compound, homes, lines, survey = _evaluating(session)
    roof = lines["roof"].id
    assert roof is not None
    for home, overall, item in zip(homes[:5], (5, 4, 4, 2, 1), (5, 4, None, 3, 1), strict=True):
        _answer(session, survey, home, overall, {roof: item} if item else None)
    result = figures.results(session, compound, survey)
    assert (result.answered, result.households) == (5, 24)
    overall = result.overall
    assert overall.distribution == (1, 1, 0, 2, 1) and overall.ratings == 5
    assert overall.mean == 3.2 and overall.satisfied == 3 and overall.share == 0.6
    assert overall.low is not None and overall.high is not None
    assert overall.low < 0.6 < overall.high
    by_item = {item.plan_item_id: item.score for item in result.items}
    assert set(by_item) == {roof, lines["roads"].id}
    assert by_item[roof].distribution == (1, 0, 1, 1, 1) and by_item[roof].mean == 3.25
    assert by_item[roof].share == 0.5 and by_item[lines["roads"].id].ratings == 0
    assert result.process.ratings == 0 and result.process.share is None
    # Every household heard: the interval is the share itself.
    whole = figures.score([1, 1, 0, 2, 1], households=5)
    assert (whole.low, whole.share, whole.high) == (0.6, 0.6, 0.6)
    # Below the minimum, public pages show nothing of it.
    public = figures.public(result, minimum=5)
    assert public.overall == overall and public.comments == []
    assert next(i.score for i in public.items if i.plan_item_id == roof).withheld


def test_wanted_items_are_compared_with_the_others(app: Flask, session: Session) -> None:
    compound, homes, lines, survey = _evaluating(session)
    needs = open_survey(session, compound)
    roof = lines["roof"].id
    assert roof is not None
    # Six households wanted the water supply (and rate it well), six did not (and do not).
    for n, home in enumerate(homes[:12]):
        wanted = n < 6
        ballots.submit_ballot(
            session,
            survey=needs,
            household=home,
            answers=ballots.Answers(approve=["water_supply"] if wanted else ["drainage_sewer"]),
            submission_key=f"needs-{n}",
        )
        _answer(session, survey, home, 4, {roof: 5 if wanted else 2})
    session.commit()
    full = figures.results(session, compound, survey)
    comparison = figures.compare(session, compound, full, survey)
    wish = next(w for w in comparison.wishes if w.plan_item_id == roof)
    assert (wish.wanted.ratings, wish.wanted.share) == (6, 1.0)
    assert (wish.others.ratings, wish.others.share) == (6, 0.0)
    # In public, a split with a small side is withheld whole: the item's total is public,
    # so the small side would be a subtraction away.
    few = replace(wish, others=figures.score([1, 1, 1, 0, 0], households=24))  # 3 others
    shown = figures.public_comparison(replace(comparison, wishes=[few]), minimum=5)
    assert shown.wishes[0].wanted.withheld and shown.wishes[0].others.withheld
    whole = figures.public_comparison(replace(comparison, wishes=[wish]), minimum=5)
    assert whole.wishes[0].wanted.share == 1.0 and whole.wishes[0].others.share == 0.0
    top = {row.item_id: row for row in comparison.top}
    assert top["water_supply"].outcome == "done" and top["water_supply"].needs_rank in (1, 2)
    assert top["drainage_sewer"].outcome == "not_in_plan"
    outcomes = {row.item_id: (row.outcome, row.reason) for row in comparison.items}
    assert outcomes["power_supply"] == ("in_plan", "")
    assert outcomes["gas_pipeline"] == ("left_out", "燃气公司另行改造")
    # Residents read it in plain words, beside a link to the needs results.
    page = app.test_client().get("/c/testyard/satisfaction/results?lang=en").get_data(as_text=True)
    assert "12 of 24 households answered." in page and "/c/testyard/results" in page
    assert "Are those who asked for it satisfied?" in page and "100% satisfied" in page


def test_public_results_withhold_small_counts(app: Flask, session: Session) -> None:
    _compound, homes, _lines, survey = _evaluating(session)
    client = app.test_client()
    assert "No household has answered yet" in client.get(
        "/c/testyard/satisfaction/results?lang=en"
    ).get_data(as_text=True)
    for home in homes[:3]:
        _answer(session, survey, home, 5)
    page = client.get("/c/testyard/satisfaction/results?lang=en").get_data(as_text=True)
    assert "3 of 24 households answered." in page and "Fewer than 5 answers" in page
    assert "100% satisfied" not in page


def test_planners_rank_compounds_within_their_districts(app: Flask, session: Session) -> None:
    first, homes, lines, survey = _evaluating(session, "alpha")
    second, others, other_lines, other_survey = _evaluating(session, "beta")
    elsewhere = create_district(session, "fangzi", "坊子区")
    second.district_id = elsewhere.id  # type: ignore[assignment]
    session.add(second)
    for home in homes[:5]:
        _answer(session, survey, home, 3, {lines["roof"].id: 2})  # type: ignore[dict-item]
    for home in others[:6]:
        _answer(session, other_survey, home, 5)
    ranking, low = city(session, [first, second])
    assert [(r.compound.code, r.answered, r.overall.mean) for r in ranking] == [
        ("beta", 6, 5.0),
        ("alpha", 5, 3.0),
    ]
    assert [(item.compound.code, item.title) for item in low] == [("alpha", "供水管网改造")]
    assert LOW_SATISFACTION.flags(low[0].score)
    # One delighted household does not put a compound first: below 5 answers, no rank.
    gamma, few, _, few_survey = _evaluating(session, "gamma")
    _answer(session, few_survey, few[0], 5)
    ranking, _ = city(session, [first, second, gamma])
    assert [r.compound.code for r in ranking] == ["beta", "alpha", "gamma"]
    create_user(session, "zhou", "planner", districts=[elsewhere])
    client = app.test_client()
    log_in(client, "zhou")
    page = client.get("/p/satisfaction?lang=en").get_data(as_text=True)
    assert "/f/c/beta/satisfaction" in page and "/f/c/alpha/satisfaction" not in page
    assert "fewer than 60% of them are satisfied" in page


def test_the_satisfaction_survey_changes_no_needs_figure(app: Flask, session: Session) -> None:
    compound, homes = create_compound(session)
    needs = open_survey(session, compound)
    for n, home in enumerate(homes[:10]):
        ballots.submit_ballot(
            session,
            survey=needs,
            household=home,
            answers=ballots.Answers(approve=["water_supply", "internal_roads"][: 1 + n % 2]),
            submission_key=f"needs-{n}",
        )
    _plan(session, compound)

    def needs_figures() -> tuple[object, ...]:
        assert surveys.current_survey(session, compound) == needs
        counts = dashboards.survey_counts(session)
        rows = dashboards.compound_rows(session, [compound], counts)
        return (
            compound_menu(session, compound, needs)["items"],
            coverage.compound_coverage(session, compound, needs),
            {k: (v.ballots, v.items) for k, v in counts.items()},
            [(r.ballots, r.coverage, r.top) for r in rows],
        )

    before = needs_figures()
    phases.move_to(session, compound, Phase.EVALUATION, TODAY)
    survey = service.demo_satisfaction(session, compound, TODAY)
    session.commit()
    assert survey.phase == SurveyPhase.SATISFACTION
    answered = service.answered_count(session, survey)
    assert answered == 14  # 60 % of 24
    assert needs_figures() == before
    planner = app.test_client()
    create_user(session, "zhou", "planner")
    log_in(planner, "zhou")
    city_page = planner.get("/p/?lang=en").get_data(as_text=True)
    assert city_page.count(">10<") >= 1  # the ten needs answers, not the satisfaction ones
