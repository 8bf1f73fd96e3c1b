"""Small-stool meetings, step by step, and every rule of the issue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import (
    ActionItem,
    AgendaItem,
    Attendance,
    Ballot,
    Meeting,
    MeetingStatus,
    PhoneVote,
)
from consult.services import codes
from consult.services.ballots import answers_of
from consult.services.tallies import ballots_document, compound_menu
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey
from tests.test_residents_survey import submit


@pytest.fixture
def yard(session: Session, client: FlaskClient) -> dict[str, Any]:
    compound, households = create_compound(session)
    survey = open_survey(session, compound)
    create_user(session, "wang", "facilitator", compounds=[compound])
    return {"compound": compound, "households": households, "survey": survey}


def token(client: FlaskClient) -> str:
    """A valid CSRF token of the client's session, from any page with a form."""
    for page in ("/c/testyard/survey", "/f/", "/login"):
        fields = hidden_fields(client.get(page).get_data(as_text=True))
        if "csrf_token" in fields:
            return fields["csrf_token"]
    raise AssertionError("no page with a form")


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": token(client), **data})


def plan(client: FlaskClient, session: Session) -> Meeting:
    """Log in as the facilitator and plan a meeting with three agenda items."""
    log_in(client, "wang")
    response = post(
        client,
        "/f/c/testyard/meetings/new",
        title="楼道漏水怎么办",
        day="2026-12-05",
        time="09:30",
        place="3号楼前空地",
        invited=["residents_committee", "property_company", "residents"],
    )
    assert response.status_code == 303
    meeting = session.exec(select(Meeting)).one()
    base = f"/f/c/testyard/meetings/{meeting.id}"
    post(client, f"{base}/agenda", item_id="stairwell_repair", topic="")
    post(client, f"{base}/agenda", item_id="", topic="宠物怎么管？")
    post(client, f"{base}/agenda", item_id="parking", topic="")
    return meeting


def items(session: Session, meeting: Meeting) -> list[AgendaItem]:
    session.expire_all()
    return list(
        session.exec(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position)
        ).all()
    )


def flashes(client: FlaskClient, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def test_planning_a_meeting_and_its_agenda(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    assert meeting.invited == "residents_committee property_company residents"
    assert meeting.starts_at.hour == 1 and meeting.starts_at.minute == 30  # 09:30 in Beijing
    base = f"/f/c/testyard/meetings/{meeting.id}"
    html = client.get(base).get_data(as_text=True)
    assert "楼梯楼道等公共部位维修" in html and "宠物怎么管？" in html
    assert "调查：" in html  # the catalogue item shows its current survey support
    first, second, third = items(session, meeting)
    post(client, f"{base}/agenda/{third.id}", action="up")
    assert [e.id for e in items(session, meeting)] == [first.id, third.id, second.id]
    post(client, f"{base}/agenda/{second.id}", action="topic", topic="宠物管理公约")
    post(client, f"{base}/agenda/{first.id}", action="remove")
    assert [(e.item_id, e.topic) for e in items(session, meeting)] == [
        ("parking", ""),
        (None, "宠物管理公约"),
    ]
    bad = post(client, f"{base}/agenda", item_id="", topic="  ")
    assert "请选择一个清单项目，或写一个议题" in client.get(bad.headers["Location"]).get_data(
        as_text=True
    )
    unknown = post(client, f"{base}/agenda", item_id="golden_toilets", topic="")
    assert "这个项目不在本小区的清单上" in client.get(unknown.headers["Location"]).get_data(
        as_text=True
    )
    assert len(items(session, meeting)) == 2


def test_the_notice_has_the_qr_code_and_agenda(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    html = client.get(f"/f/c/testyard/meetings/{meeting.id}/notice").get_data(as_text=True)
    assert (
        f'src="/m/{meeting.code}/qr.svg"' in html
        and "宠物怎么管？" in html
        and "3号楼前空地" in html
    )
    assert client.get(f"/m/{meeting.code}/qr.svg").mimetype == "image/svg+xml"


def test_the_agenda_is_fixed_once_the_meeting_starts(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    post(client, f"{base}/status", status="in_progress")
    response = post(client, f"{base}/agenda", item_id="", topic="新议题")
    assert "会议已经开始" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert len(items(session, meeting)) == 3


def run_meeting(
    client: FlaskClient, session: Session, meeting: Meeting, resident: FlaskClient
) -> None:
    """Start, add people by hand, sign a resident in by room."""
    base = f"/f/c/testyard/meetings/{meeting.id}"
    post(client, f"{base}/status", status="in_progress")
    post(client, f"{base}/attendees", party="property_company", count="2")
    post(client, f"{base}/attendees", party="residents", count="3")
    html = resident.get(f"/m/{meeting.code}").get_data(as_text=True)
    assert "以住户身份签到" in html
    signed = post(resident, f"/m/{meeting.code}/signin", building="1", unit="2", room="301")
    assert signed.status_code == 303


def test_attendance_by_party_and_hands(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    html = client.get(base).get_data(as_text=True)
    assert "物业公司 2" in html and "居民 4" in html
    entry = items(session, meeting)[0]
    response = post(
        client,
        f"{base}/agenda/{entry.id}/record",
        hands_for="4",
        hands_against="1",
        hands_abstain="1",
        notes="楼道墙皮脱落",
        decision="先修3号楼楼道",
    )
    assert response.status_code == 303
    entry = items(session, meeting)[0]
    assert (entry.hands_for, entry.hands_against, entry.hands_abstain) == (4, 1, 1)
    assert entry.decision == "先修3号楼楼道"
    too_many = post(
        client,
        f"{base}/agenda/{entry.id}/record",
        hands_for="7",
        hands_against="0",
        hands_abstain="0",
    )
    assert "举手人数超过参会人数" in client.get(too_many.headers["Location"]).get_data(as_text=True)
    negative = post(client, f"{base}/agenda/{entry.id}/record", hands_for="-1")
    assert "举手人数从 0 开始计" in client.get(negative.headers["Location"]).get_data(as_text=True)
    assert items(session, meeting)[0].hands_for == 4


def test_a_household_signs_in_once_by_room_or_code(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    again = post(resident, f"/m/{meeting.code}/signin", building="1", unit="2", room="301")
    assert again.status_code == 303
    [issued] = codes.issue_codes(
        session,
        app.config["SECRET_KEY"],
        yard["compound"],
        household_ids=[yard["households"][0].id],
    )
    session.commit()
    other = app.test_client()
    post(other, f"/m/{meeting.code}/signin", household_code=issued.code)
    session.expire_all()
    rows = session.exec(select(Attendance).where(Attendance.household_id.is_not(None))).all()
    assert sorted((r.household_id, r.verified) for r in rows) == sorted(
        [
            (yard["households"][0].id, True),
            (next(h.id for h in yard["households"] if h.label == "1-2-301"), False),
        ]
    )
    wrong = post(app.test_client(), f"/m/{meeting.code}/signin", building="9", unit="9", room="9")
    assert wrong.status_code == 400 and "本小区没有对应的住户" in wrong.get_data(as_text=True)


def test_phone_votes_once_per_household_and_freeze_when_closed(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]  # parking
    not_open = post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    assert "这一项没有在投票" in resident.get(not_open.headers["Location"]).get_data(as_text=True)
    post(client, f"{base}/agenda/{entry.id}/vote", action="open")
    page = resident.get(f"/m/{meeting.code}").get_data(as_text=True)
    assert 'name="choice" value="for"' in page
    post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    second = post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="against")
    assert "您家已经对这一项投过票" in resident.get(second.headers["Location"]).get_data(
        as_text=True
    )
    stranger = post(app.test_client(), f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    assert stranger.status_code == 303
    live = client.get(f"{base}/live.json").get_json()
    assert live["votes"][str(entry.id)] == {"state": "open", "for": 1, "against": 0, "abstain": 0}
    post(client, f"{base}/agenda/{entry.id}/vote", action="close")
    late = post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="abstain")
    assert late.status_code == 303
    session.expire_all()
    assert len(session.exec(select(PhoneVote)).all()) == 1


def test_votes_of_households_without_an_answer_become_meeting_ballots(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]
    post(client, f"{base}/agenda/{entry.id}/vote", action="open")
    post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    post(client, f"{base}/agenda/{entry.id}/vote", action="close")
    session.expire_all()
    ballot = session.exec(select(Ballot)).one()
    assert ballot.channel == "meeting" and answers_of(session, ballot).approve == ["parking"]
    with app.app_context():
        menu = compound_menu(session, yard["compound"], yard["survey"])
    assert menu["channels"]["meeting"] == 1


def test_answered_households_change_only_when_applied(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    resident = app.test_client()
    submit(resident)  # 1-2-301 answered online: roof, elevator, roads
    meeting = plan(client, session)
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]  # parking
    post(client, f"{base}/agenda/{entry.id}/vote", action="open")
    post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    post(client, f"{base}/agenda/{entry.id}/vote", action="close")
    session.expire_all()
    ballot = session.exec(select(Ballot).where(Ballot.is_current)).one()
    assert "parking" not in answers_of(session, ballot).approve
    assert "应用到已回答的 1 户" in client.get(base).get_data(as_text=True)
    post(client, f"{base}/agenda/{entry.id}/vote", action="apply")
    session.expire_all()
    ballot = session.exec(select(Ballot).where(Ballot.is_current)).one()
    assert set(answers_of(session, ballot).approve) >= {"parking", "roof_waterproofing"}
    assert ballot.channel == "qr"
    again = post(client, f"{base}/agenda/{entry.id}/vote", action="apply")
    assert "这些投票已经应用过了" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_hands_go_beside_the_survey_in_the_tally(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    run_meeting(client, session, meeting, app.test_client())
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]
    post(
        client,
        f"{base}/agenda/{entry.id}/record",
        hands_for="5",
        hands_against="1",
        hands_abstain="0",
    )
    session.expire_all()
    assert session.get(Meeting, meeting.id).status == MeetingStatus.IN_PROGRESS  # type: ignore[union-attr]
    with app.app_context():  # hands of a meeting still in progress are not counted yet
        assert ballots_document(session, yard["compound"], yard["survey"])["meetings"] == []
    post(client, f"{base}/status", status="closed")
    session.expire_all()
    with app.app_context():
        document = ballots_document(session, yard["compound"], yard["survey"])
        menu = compound_menu(session, yard["compound"], yard["survey"])
    assert document["meetings"] == [
        {
            "id": meeting.code,
            "date": "2026-12-05",
            "votes": [{"item": "parking", "for": 5, "against": 1, "abstain": 0}],
        }
    ]
    parking = next(i for i in menu["items"] if i["id"] == "parking")
    assert parking["meeting"] == {"for": 5, "against": 1, "abstain": 0}
    assert parking["approvals"] == 0  # hands are never merged into the survey
    assert "5 / 1 / 0" in client.get("/f/c/testyard/menu").get_data(as_text=True)


def test_actions_minutes_publication_and_reopening(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[0]
    post(
        client,
        f"{base}/actions",
        what="物业一周内排查3号楼漏点",
        owner="property_company",
        due_on="2020-01-01",
        agenda_item=str(entry.id),
    )
    post(client, f"{base}/actions", what="", owner="property_company")
    assert len(session.exec(select(ActionItem)).all()) == 1
    plan_page = client.get("/f/c/testyard/actions").get_data(as_text=True)
    assert "物业一周内排查3号楼漏点" in plan_page and "已逾期" in plan_page
    post(client, f"{base}/status", status="closed")
    assert client.get(f"/m/{meeting.code}/minutes").status_code == 404  # not published yet
    post(client, f"{base}/status", status="published")
    minutes = resident.get(f"/m/{meeting.code}/minutes").get_data(as_text=True)
    assert "物业一周内排查3号楼漏点" in minutes and "居民 4" in minutes
    assert f"/m/{meeting.code}/minutes" in resident.get("/c/testyard").get_data(as_text=True)
    locked = post(client, f"{base}/agenda/{entry.id}/record", hands_for="1")
    assert "会议纪要已公布" in client.get(locked.headers["Location"]).get_data(as_text=True)
    post(client, f"{base}/status", status="closed")  # reopen
    post(
        client,
        f"{base}/agenda/{entry.id}/record",
        hands_for="1",
        hands_against="0",
        hands_abstain="0",
    )
    assert items(session, meeting)[0].hands_for == 1
    [action] = session.exec(select(ActionItem)).all()
    post(client, f"/f/c/testyard/actions/{action.id}", status="done", back="plan")
    session.expire_all()
    assert session.exec(select(ActionItem)).one().status == "done"
    assert "已逾期" not in client.get("/f/c/testyard/actions").get_data(as_text=True)


def test_signing_in_after_the_meeting_is_refused(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    post(client, f"{base}/status", status="in_progress")
    post(client, f"{base}/status", status="closed")
    resident = app.test_client()
    response = post(resident, f"/m/{meeting.code}/signin", building="1", unit="1", room="101")
    assert response.status_code == 400
    assert "会议已结束，签到已关闭" in response.get_data(as_text=True)


def test_unknown_meeting_codes_are_404(client: FlaskClient, yard: dict) -> None:
    assert client.get("/m/NOSUCH").status_code == 404
    assert client.post("/m/NOSUCH/signin", data={"csrf_token": token(client)}).status_code == 404


def test_the_compound_list_of_meetings(client: FlaskClient, yard: dict, session: Session) -> None:
    meeting = plan(client, session)
    html = client.get("/f/c/testyard/meetings").get_data(as_text=True)
    assert meeting.title in html and "筹备中" in html
    assert re.search(r"tag-status-planned", html)


def set_mode(session: Session, survey: Any, mode: str) -> None:
    survey.mode = mode
    session.add(survey)
    session.commit()


def test_a_household_with_a_code_signs_in_only_with_it(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    set_mode(session, yard["survey"], "both")
    home = next(h for h in yard["households"] if h.label == "1-2-301")
    [issued] = codes.issue_codes(
        session, app.config["SECRET_KEY"], yard["compound"], household_ids=[home.id]
    )
    session.commit()
    meeting = plan(client, session)
    post(client, f"/f/c/testyard/meetings/{meeting.id}/status", status="in_progress")
    stranger = app.test_client()
    refused = post(stranger, f"/m/{meeting.code}/signin", building="1", unit="2", room="301")
    assert refused.status_code == 400 and "请用入户码签到" in refused.get_data(as_text=True)
    owner = app.test_client()
    assert post(owner, f"/m/{meeting.code}/signin", household_code=issued.code).status_code == 303
    session.expire_all()
    [present] = session.exec(select(Attendance).where(Attendance.household_id == home.id)).all()
    assert present.verified


def test_one_phone_signs_in_one_household(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    post(client, f"/f/c/testyard/meetings/{meeting.id}/status", status="in_progress")
    phone = app.test_client()
    post(phone, f"/m/{meeting.code}/signin", building="1", unit="1", room="101")
    second = post(phone, f"/m/{meeting.code}/signin", building="1", unit="1", room="102")
    assert second.status_code == 400 and "一部手机只代表一户" in second.get_data(as_text=True)
    session.expire_all()
    assert len(session.exec(select(Attendance)).all()) == 1


def test_signing_in_opens_with_the_meeting(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    early = post(app.test_client(), f"/m/{meeting.code}/signin", building="1", unit="1", room="101")
    assert early.status_code == 400 and "会议开始后才能签到" in early.get_data(as_text=True)


def test_an_unverified_vote_never_changes_a_verified_answer(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    home = next(h for h in yard["households"] if h.label == "2-1-101")
    [issued] = codes.issue_codes(
        session, app.config["SECRET_KEY"], yard["compound"], household_ids=[home.id]
    )
    session.commit()
    log_in(client, "wang")
    meetings_made = []
    for n, (item, how) in enumerate(
        [
            ("parking", {"household_code": issued.code}),
            ("fire_safety", {"building": "2", "unit": "1", "room": "101"}),
        ]
    ):
        post(client, "/f/c/testyard/meetings/new", title=f"第{n}次", day="2026-12-05", time="09:30")
        session.expire_all()
        meeting = session.exec(select(Meeting).order_by(Meeting.id.desc())).first()
        assert meeting is not None
        meetings_made.append(meeting)
        base = f"/f/c/testyard/meetings/{meeting.id}"
        post(client, f"{base}/agenda", item_id=item, topic="")
        post(client, f"{base}/status", status="in_progress")
        phone = app.test_client()
        assert post(phone, f"/m/{meeting.code}/signin", **how).status_code == 303
        entry = items(session, meeting)[0]
        post(client, f"{base}/agenda/{entry.id}/vote", action="open")
        post(phone, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
        closing = post(client, f"{base}/status", status="closed")  # closes the open vote too
        assert closing.status_code == 303
    session.expire_all()
    ballot = session.exec(select(Ballot).where(Ballot.is_current)).one()
    assert ballot.verified and answers_of(session, ballot).approve == ["parking"]
    assert all(m.status == "closed" for m in session.exec(select(Meeting)).all())


def test_a_vote_against_removes_the_item_when_applied(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    resident = app.test_client()
    submit(resident, approve=["parking", "gas_pipeline"], priority=["parking"])
    meeting = plan(client, session)
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]  # parking
    post(client, f"{base}/agenda/{entry.id}/vote", action="open")
    post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="against")
    post(client, f"{base}/agenda/{entry.id}/vote", action="close")
    post(client, f"{base}/agenda/{entry.id}/vote", action="apply")
    session.expire_all()
    answers = answers_of(session, session.exec(select(Ballot).where(Ballot.is_current)).one())
    assert answers.approve == ["gas_pipeline"] and answers.priorities == []


def test_concurrent_double_votes_count_once(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    import threading

    from consult.services import meeting_votes as votes
    from consult.services import meetings as service

    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    entry = items(session, meeting)[0]
    post(client, f"/f/c/testyard/meetings/{meeting.id}/agenda/{entry.id}/vote", action="open")
    home_id = next(h.id for h in yard["households"] if h.label == "1-2-301")
    outcomes: list[str] = []

    def tap() -> None:
        with Session(app.extensions["consult.engine"]) as own:
            try:
                votes.cast_vote(
                    own,
                    own.get(Meeting, meeting.id),
                    own.get(AgendaItem, entry.id),
                    own.get(type(yard["households"][0]), home_id),
                    "for",
                )
                own.commit()
                outcomes.append("stored")
            except service.MeetingError as error:
                outcomes.append(error.reason)

    threads = [threading.Thread(target=tap) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stored"] + ["voted_already"] * 5
    session.expire_all()
    assert len(session.exec(select(PhoneVote)).all()) == 1


def test_a_closed_survey_takes_no_meeting_or_paper_answers(
    client: FlaskClient, app: Flask, yard: dict, session: Session
) -> None:
    meeting = plan(client, session)
    resident = app.test_client()
    run_meeting(client, session, meeting, resident)
    base = f"/f/c/testyard/meetings/{meeting.id}"
    entry = items(session, meeting)[2]
    post(client, f"{base}/agenda/{entry.id}/vote", action="open")
    post(resident, f"/m/{meeting.code}/vote/{entry.id}", choice="for")
    set_mode(session, yard["survey"], "open")
    yard["survey"].status = "closed"
    session.add(yard["survey"])
    session.commit()
    post(client, f"{base}/agenda/{entry.id}/vote", action="close")
    paper = post(client, "/f/c/testyard/paper/entry", household="1-1-101", approve="1")
    assert paper.status_code == 400 and "调查已经截止" in paper.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(Ballot)).all() == []
