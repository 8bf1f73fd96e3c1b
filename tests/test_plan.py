"""The renovation plan: drafted from the menu, published for its notice, commented on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import AuditEvent, CatalogItem, Compound, Household, Phase
from consult.models.cycle import Plan, PlanComment, PlanItem
from consult.services import codes, phases, plan_notice, plans
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey
from tests.test_city_tally import answer


def surveyed(session: Session, answers: int = 6) -> tuple[Compound, list[Household]]:
    """A compound whose answers all want parking; the first two also water supply."""
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    for number, home in enumerate(homes[:answers]):
        answer(session, survey, home, ["parking", "water_supply"] if number < 2 else ["parking"])
    return compound, homes


def published(session: Session, compound: Compound) -> Plan:
    """Draft the plan from the menu and publish it (a week's notice); commit."""
    account = create_user(session, "wang", "facilitator", compounds=[compound])
    plans.draft_from_menu(session, compound)
    plan = plans.publish(
        session,
        compound,
        account,
        contact="居委会 1号楼102室",
        summary="",
        notice_until=local_today() + timedelta(days=7),
        today=local_today(),
    )
    session.commit()
    return plan


def staff(client: FlaskClient, session: Session, compound: Compound) -> str:
    """Log a facilitator of the compound in (English); return a CSRF token."""
    create_user(session, "wang", "facilitator", compounds=[compound])
    log_in(client, "wang")
    page = client.get("/f/c/testyard/plan?lang=en").get_data(as_text=True)
    return hidden_fields(page)["csrf_token"]


def line_fields(item: PlanItem, **changes: Any) -> dict[str, Any]:
    """The plan form's fields for one line, as the page shows them, with changes."""
    n = item.id
    fields = {
        "item": str(n),
        f"included-{n}": "1" if item.included else "",
        f"where-{n}": plans.where_of(item),
        f"cost-{n}": "" if item.cost is None else str(item.cost),
        f"starts-{n}": "",
        f"ends-{n}": "",
        f"reason-{n}": item.reason,
    }
    fields.update({f"{name}-{n}": value for name, value in changes.items()})
    return fields


def test_drafting_takes_what_the_menu_supports(session: Session) -> None:
    compound, _ = surveyed(session)
    plan = plans.draft_from_menu(session, compound)
    session.commit()
    items = plans.items_of(session, plan)
    # Without a budget: more than half of the 6 answers. Parking 6/6 yes, water supply 2/6 no.
    assert [(i.item_id, i.included, i.supported) for i in items] == [("parking", True, True)]
    assert (items[0].menu_rank, items[0].menu_approvals, plan.menu_rule) == (1, 6, "majority")
    # With a budget the selection decides: parking does not fit, water supply does.
    session.get(CatalogItem, "parking").cost = 500_000  # type: ignore[union-attr]
    session.get(CatalogItem, "water_supply").cost = 100_000  # type: ignore[union-attr]
    compound.budget = 120_000
    session.add(compound)
    items[0].reason = "kept"  # a choice of the facilitator's: redrafting keeps it
    session.commit()
    plans.draft_from_menu(session, compound)
    session.commit()
    lines = {i.item_id: i for i in plans.items_of(session, plan)}
    assert plan.menu_rule == "budget"
    assert (lines["water_supply"].included, lines["water_supply"].supported) == (True, True)
    assert (lines["parking"].included, lines["parking"].supported) == (True, False)
    assert lines["parking"].reason == "kept" and lines["water_supply"].cost == 100_000


def test_reasons_are_required_and_publishing_opens_the_notice(
    session: Session, client: FlaskClient
) -> None:
    compound, _ = surveyed(session)
    token = staff(client, session, compound)
    assert client.post("/f/c/testyard/plan/draft", data={"csrf_token": token}).status_code == 303
    parking = session.exec(select(PlanItem)).one()
    # A supported item left out without a reason: refused, said beside it, nothing changes.
    left_out = line_fields(parking, included="")
    response = client.post("/f/c/testyard/plan", data={"csrf_token": token, **left_out})
    assert response.status_code == 400
    assert "say why it is left out" in response.get_data(as_text=True)
    for bad in ({"cost": "12x"}, {"where": "u99999"}, {"starts": "2026-13-01"}):
        fields = {"csrf_token": token, **line_fields(parking, **bad)}
        assert client.post("/f/c/testyard/plan", data=fields).status_code == 400
    session.refresh(parking)
    assert parking.included and parking.cost is None
    # Left out with a reason: nothing is included, so publishing is refused.
    left_out[f"reason-{parking.id}"] = "明年再做"
    assert (
        client.post("/f/c/testyard/plan", data={"csrf_token": token, **left_out}).status_code == 303
    )
    notice = {
        "csrf_token": token,
        "contact": "居委会 1号楼102室",
        "notice_until": (local_today() + timedelta(days=7)).isoformat(),
    }
    refused = client.post("/f/c/testyard/plan/publish", data=notice)
    assert refused.status_code == 409 and "include at least one item" in refused.get_data(
        as_text=True
    )
    # A written-in item needs its reason too.
    written = {"csrf_token": token, "title": "楼道扶手", "category": "basic"}
    assert client.post("/f/c/testyard/plan/items", data=written).status_code == 400
    written["reason"] = "议事会上老人们提出"
    assert client.post("/f/c/testyard/plan/items", data=written).status_code == 303
    past = {**notice, "notice_until": (local_today() - timedelta(days=1)).isoformat()}
    assert client.post("/f/c/testyard/plan/publish", data=past).status_code == 400
    assert session.exec(select(Plan.version)).one() == 0
    assert client.post("/f/c/testyard/plan/publish", data=notice).status_code == 303
    session.refresh(compound)
    assert phases.current_phase(compound) == Phase.NOTICE
    # Republishing during the notice makes version 2, audit-logged.
    assert client.post("/f/c/testyard/plan/publish", data=notice).status_code == 303
    plan = session.exec(select(Plan)).one()
    session.refresh(plan)
    assert plan.version == 2 and plan.notice_until == local_today() + timedelta(days=7)
    assert [i["title"] for i in plan.published["items"]] == ["停车库(场)", "楼道扶手"]  # type: ignore[index]
    actions = session.exec(select(AuditEvent.action)).all()
    assert actions.count("plan.publish") == 2


def post_comment(client: FlaskClient, **fields: str) -> Any:
    page = client.get("/c/testyard/plan?lang=en").get_data(as_text=True)
    data = {"kind": "comment", "item": "", "text": "请先修屋顶", **hidden_fields(page), **fields}
    return client.post("/c/testyard/plan", data=data)


def test_one_entry_per_household_by_code_or_picker(app: Flask, session: Session) -> None:
    compound, homes = surveyed(session)
    plan = published(session, compound)
    item = plans.items_of(session, plan)[0]
    issued = codes.issue_codes(session, "test-secret", compound, household_ids=[homes[0].id])
    session.commit()
    client = app.test_client()
    by_code = post_comment(client, code=issued[0].code.lower())
    assert by_code.status_code == 303
    # The same form sent twice (a double tap) stores it once.
    page = client.get("/c/testyard/plan").get_data(as_text=True)
    again = {"kind": "objection", "item": str(item.id), "text": "停车位不够", **hidden_fields(page)}
    for _ in range(2):
        assert (
            client.post("/c/testyard/plan", data={**again, "code": issued[0].code}).status_code
            == 303
        )
    entry = session.exec(select(PlanComment)).one()
    assert (entry.kind, entry.plan_item_id, entry.text, entry.verified) == (
        "objection",
        item.id,
        "停车位不够",
        True,
    )
    # The household with a code cannot use the pickers; a household without one can.
    home = {"building": "1", "unit": "1"}
    with_code = post_comment(client, **home, room=homes[0].room)
    assert with_code.status_code == 400 and "its own code" in with_code.get_data(as_text=True)
    assert post_comment(client, **home, room=homes[1].room).status_code == 303
    for bad in (
        {"code": "ZZZZZZZZ"},
        {"text": " "},
        {"text": "x" * 1001, "code": issued[0].code},
        {"item": "99999", "code": issued[0].code},
        {"kind": "vote", "code": issued[0].code},
        {"building": "9", "unit": "1", "room": "101"},
        {"token": "forged", "code": issued[0].code},
    ):
        assert post_comment(client, **bad).status_code == 400, bad
    rows = session.exec(select(PlanComment.household_id, PlanComment.verified)).all()
    assert sorted(rows) == sorted([(homes[0].id, True), (homes[1].id, False)])


def test_comments_are_refused_outside_the_notice(app: Flask, session: Session) -> None:
    compound, homes = surveyed(session)
    plan = published(session, compound)
    client = app.test_client()
    token = hidden_fields(client.get("/c/testyard/plan").get_data(as_text=True))
    data = {**token, "kind": "comment", "text": "好", "building": "1", "unit": "1"}
    data["room"] = homes[1].room
    plan.notice_until = local_today() - timedelta(days=1)
    session.add(plan)
    session.commit()
    response = client.post("/c/testyard/plan?lang=en", data=data)
    assert response.status_code == 409
    assert "The public notice ended on" in response.get_data(as_text=True)
    plan.notice_until = local_today()
    phases.move_to(session, compound, Phase.CONSENT, local_today())
    session.commit()
    assert client.post("/c/testyard/plan", data=data).status_code == 409
    assert session.exec(select(PlanComment)).all() == []


def test_answers_are_public_without_the_room(session: Session, client: FlaskClient) -> None:
    compound, homes = surveyed(session)
    plan = published(session, compound)
    home = session.exec(select(Household).where(Household.label == "2-2-302")).one()
    entry, _ = plan_notice.submit_comment(
        session, plan, home, kind="objection", plan_item_id=None,  # type: ignore[arg-type]
        text="反对占用绿地", form_key="k", verified=False,
    )  # fmt: skip
    session.commit()
    log_in(client, "wang")
    page = client.get("/f/c/testyard/plan/comments?lang=en").get_data(as_text=True)
    assert "2-2-302" in page and "反对占用绿地" in page  # staff see the household
    token = hidden_fields(page)["csrf_token"]
    url = f"/f/c/testyard/plan/comments/{entry.id}/answer"
    assert client.post(url, data={"csrf_token": token, "answer": "改用东侧空地"}).status_code == 303
    assert client.post(url, data={"csrf_token": token, "answer": "x" * 1001}).status_code == 400
    assert client.post(url + "0", data={"csrf_token": token, "answer": "a"}).status_code == 404
    public = client.get("/c/testyard/plan?lang=en").get_data(as_text=True)
    comments = public[public.index('id="comments"') : public.index('id="comment-form"')]
    assert "改用东侧空地" in comments and "building 2" in comments
    assert "302" not in comments and "2-2-302" not in public


def test_out_of_phase_pages_say_so(app: Flask, session: Session, client: FlaskClient) -> None:
    compound, _ = surveyed(session)
    html = client.get("/c/testyard/plan?lang=en").get_data(as_text=True)
    assert "not published yet" in html
    phases.move_to(session, compound, Phase.WORKS, local_today())
    session.commit()
    token = staff(client, session, compound)
    page = client.get("/f/c/testyard/plan?lang=en")
    assert page.status_code == 200 and "closed in this phase" in page.get_data(as_text=True)
    response = client.post("/f/c/testyard/plan/draft", data={"csrf_token": token})
    assert response.status_code == 303
    assert session.exec(select(PlanItem)).all() == []
    assert client.get("/c/testyard/plan").status_code == 200
    create_user(session, "zhou", "planner")
    planner = app.test_client()
    log_in(planner, "zhou")
    assert planner.get("/f/c/testyard/plan").status_code == 200
    token = hidden_fields(planner.get("/account/password").get_data(as_text=True))["csrf_token"]
    assert planner.post("/f/c/testyard/plan/draft", data={"csrf_token": token}).status_code == 403


def test_demo_plan_is_published_with_comments(session: Session) -> None:
    compound, _ = surveyed(session)
    account = create_user(session, "wang", "facilitator", compounds=[compound])
    plan = plan_notice.demo_plan(session, compound, account)
    session.commit()
    assert plan.version == 1 and phases.current_phase(compound) == Phase.NOTICE
    assert plans.missing_reasons(plans.items_of(session, plan)) == []
    found = plan_notice.entries(session, plan)
    assert len(found) == 3 and sum(bool(e.comment.answer) for e in found) == 2
