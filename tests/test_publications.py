"""Publishing the results (公示): residents read the published version, not the live count."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import AuditEvent, Household, Publication, Survey, SurveyPhase, SurveyStatus
from consult.services import places, publications, surveys
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, create_user, log_in, open_survey
from tests.test_city_tally import answer


def answered(session: Session, survey: Survey, homes: list[Household], count: int) -> None:
    """`count` households answer: all want parking, the first two also water supply."""
    for number, home in enumerate(homes[:count]):
        approve = ["parking", "water_supply"] if number < 2 else ["parking"]
        answer(session, survey, home, approve)


def publish(client: FlaskClient, code: str = "testyard", **fields: str) -> Any:
    page = client.get(f"/f/c/{code}/publish").get_data(as_text=True)
    data = {
        "csrf_token": hidden_fields(page)["csrf_token"],
        "contact": "居委会办公室 1号楼102室，电话 0536-1234567",
        "comments_until": (local_today() + timedelta(days=7)).isoformat(),
        **fields,
    }
    return client.post(f"/f/c/{code}/publish", data=data)


def publish_refused(client: FlaskClient) -> bool:
    """Post a well-formed publication with a token from a page the user may open."""
    token = hidden_fields(client.get("/account/password").get_data(as_text=True))["csrf_token"]
    response = client.post(
        "/f/c/testyard/publish",
        data={"csrf_token": token, "contact": "x", "comments_until": local_today().isoformat()},
    )
    return response.status_code == 403


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def setup_compound(
    session: Session, client: FlaskClient, answers: int = 6
) -> tuple[Survey, list[Household]]:
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    answered(session, survey, homes, answers)
    create_user(session, "wang", "facilitator", compounds=[compound])
    log_in(client, "wang")
    client.get("/?lang=en")  # remembered in a cookie
    return survey, homes


def test_nothing_is_shown_before_publication(session: Session, client: FlaskClient) -> None:
    setup_compound(session, client)
    html = client.get("/c/testyard/results?lang=en").get_data(as_text=True)
    assert "not published yet" in html
    assert "Parking" not in html  # no live count


def test_publish_freezes_what_residents_read(session: Session, client: FlaskClient) -> None:
    survey, homes = setup_compound(session, client, answers=6)
    response = publish(client)
    assert response.status_code == 303
    html = text_of(client.get("/c/testyard/results?lang=en").get_data(as_text=True))
    assert "6 of 24 households answered." in html
    assert "100% of households that answered (6 households)" in html  # parking
    assert "居委会办公室 1号楼102室" in html
    assert "Objections and comments until" in html
    # Water supply has 2 approvals, fewer than 5: withheld, listed without figures.
    assert "1 other items" not in html and "other items" in html
    # More answers come in: the published page does not move.
    answered(session, survey, homes[6:], 4)
    assert "6 of 24 households answered." in text_of(
        client.get("/c/testyard/results?lang=en").get_data(as_text=True)
    )
    # An updated version shows the new count; the first stays readable.
    assert publish(client).status_code == 303
    latest = text_of(client.get("/c/testyard/results?lang=en").get_data(as_text=True))
    assert "10 of 24 households answered." in latest and "updated version 2" in latest
    first = text_of(client.get("/c/testyard/results?v=1&lang=en").get_data(as_text=True))
    assert "6 of 24 households answered." in first and "This is an earlier version." in first
    assert client.get("/c/testyard/results?v=3").status_code == 404
    assert client.get("/c/testyard/results?v=x").status_code == 404
    assert client.get("/c/testyard/results?v=²").status_code == 404  # a digit to isdigit()
    versions = session.exec(select(Publication.version).order_by(Publication.version)).all()
    assert versions == [1, 2]
    events = session.exec(select(AuditEvent.action)).all()
    assert events.count("results.publish") == 2


def test_too_few_answers_publish_nothing(session: Session, client: FlaskClient) -> None:
    setup_compound(session, client, answers=4)
    page = client.get("/f/c/testyard/publish").get_data(as_text=True)
    assert "at least 5 households must have answered" in page  # said before trying
    response = publish(client)
    assert response.status_code == 400
    assert "at least 5 households must have answered" in response.get_data(as_text=True)
    assert session.exec(select(Publication)).all() == []


def test_bad_publish_forms_are_refused(session: Session, client: FlaskClient) -> None:
    setup_compound(session, client)
    for fields, message in [
        ({"contact": "  "}, "Say how residents object or comment"),
        ({"comments_until": ""}, "Give the last day for objections"),
        ({"comments_until": "2026-02-30"}, "Give the last day for objections"),
        (
            {"comments_until": (local_today() - timedelta(days=1)).isoformat()},
            "cannot be in the past",
        ),
        ({"contact": "x" * 1001}, "1000"),
    ]:
        response = publish(client, **fields)
        assert response.status_code == 400, fields
        assert message in response.get_data(as_text=True), fields
    no_token = client.post("/f/c/testyard/publish", data={"contact": "x"})
    assert no_token.status_code == 400
    assert session.exec(select(Publication)).all() == []


def test_only_those_who_run_the_compound_publish(session: Session, app: Flask) -> None:
    compound, homes = create_compound(session)
    answered(session, open_survey(session, compound), homes, 6)
    other, _ = create_compound(session, "other", "别的小区")
    create_user(session, "li", "facilitator", compounds=[other])
    create_user(session, "zhou", "planner")
    for username in ("li", "zhou"):
        client = app.test_client()
        log_in(client, username)
        assert client.get("/f/c/testyard/publish").status_code == 403
        assert publish_refused(client)
    assert session.exec(select(Publication)).all() == []


def test_only_published_meetings_go_public_on_their_local_day(session: Session) -> None:
    from datetime import UTC, datetime

    from consult.models import ActionItem, Meeting, MeetingStatus, Party
    from consult.services.publications import snapshot

    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    answered(session, survey, homes, 5)
    for code, status, what in (
        ("pub1", MeetingStatus.PUBLISHED, "修楼道灯"),
        ("plan1", MeetingStatus.PLANNED, "草稿事项"),
    ):
        meeting = Meeting(
            compound_id=compound.id or 0,
            code=code,
            title=f"议事会 {code}",
            # 23:30 UTC is 07:30 the next morning in the compounds' time zone.
            starts_at=datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
            status=status,
        )
        session.add(meeting)
        session.flush()
        session.add(ActionItem(meeting_id=meeting.id or 0, what=what, owner=Party.PROPERTY_COMPANY))
    session.commit()
    content = snapshot(session, compound, survey, local_today())
    assert content["minutes"] == [{"code": "pub1", "title": "议事会 pub1", "date": "2026-11-21"}]
    assert [action["what"] for action in content["actions"]] == ["修楼道灯"]


def test_overview_reads_what_the_three_lookups_read(session: Session) -> None:
    """The district, current survey and latest publication of a compound, in one
    statement, are those `district_of`, `current_survey` and `published` find, through
    drafts, later surveys, other compounds' rows and several versions."""
    compound, _homes = create_compound(session)
    other, _ = create_compound(session, code="otheryard", name="别的小区")

    def agrees() -> None:
        for place in (compound, other):
            for phase in SurveyPhase:
                assert publications.overview(session, place, phase) == (
                    places.district_of(session, place),
                    surveys.current_survey(session, place, phase),
                    publications.published(session, place),
                )

    agrees()  # no survey, no publication
    open_survey(session, compound, status=SurveyStatus.DRAFT)
    agrees()  # a draft is not current
    first = open_survey(session, compound, status=SurveyStatus.CLOSED)
    open_survey(session, other)
    agrees()
    for version in (1, 2):
        session.add(Publication(compound_id=compound.id, survey_id=first.id, version=version))
    session.add(Publication(compound_id=other.id, survey_id=first.id, version=3))
    session.commit()
    open_survey(session, compound)  # a later survey is current
    open_survey(session, compound, status=SurveyStatus.DRAFT)
    agrees()
    latest = publications.overview(session, compound).publication
    assert latest is not None and latest.version == 2
