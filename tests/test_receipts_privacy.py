"""A household checks or withdraws its answer by receipt; small counts stay private."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import Ballot, Compound, SurveyStatus
from consult.services.ballots import Answers, submit_ballot
from consult.services.publications import NotEnoughAnswers, publish
from consult.services.surveys import local_today
from tests.conftest import hidden_fields
from tests.factories import create_compound, open_survey
from tests.test_residents_survey import submit


@pytest.fixture
def yard(session: Session) -> dict[str, Any]:
    compound, households = create_compound(session)
    return {"survey": open_survey(session, compound), "households": households}


def receipt_of(response: Any) -> str:
    return str(response.headers["Location"]).rsplit("/", 1)[-1]


def test_receipt_shows_the_answer(client: FlaskClient, yard: dict) -> None:
    receipt = receipt_of(submit(client))
    html = client.get(f"/r/{receipt[:4]}-{receipt[4:]}".lower()).get_data(as_text=True)
    assert "1-2-301" in html
    assert "屋面维修(防水)" in html and "第 2 优先" in html
    assert "楼道灯坏了" in html
    assert "这份回答有效" in html


def test_receipt_entry_form_redirects(client: FlaskClient, yard: dict) -> None:
    receipt = receipt_of(submit(client))
    response = client.get(f"/r?receipt={receipt[:4]}-{receipt[4:]}")
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


def test_withdraw_stops_counting(client: FlaskClient, yard: dict, session: Session) -> None:
    receipt = receipt_of(submit(client))
    assert "1</strong> / 24" in client.get("/c/testyard").get_data(as_text=True)
    page = client.get(f"/r/{receipt}").get_data(as_text=True)
    response = client.post(
        f"/r/{receipt}/withdraw", data={"csrf_token": hidden_fields(page)["csrf_token"]}
    )
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "您已于" in html and "撤回这份回答" in html
    assert "0</strong> / 24" in client.get("/c/testyard").get_data(as_text=True)
    [ballot] = session.exec(select(Ballot)).all()
    assert not ballot.is_current and ballot.withdrawn_at is not None


def test_a_replaced_answer_says_so(client: FlaskClient, yard: dict) -> None:
    first = receipt_of(submit(client))
    submit(client, approve=["gas_pipeline"], priority=[])
    assert "较新的回答已替换了这一份" in client.get(f"/r/{first}").get_data(as_text=True)


def test_withdrawing_after_closing_is_refused(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    receipt = receipt_of(submit(client))
    page = client.get(f"/r/{receipt}").get_data(as_text=True)
    survey = yard["survey"]
    survey.status = SurveyStatus.CLOSED
    session.add(survey)
    session.commit()
    response = client.post(
        f"/r/{receipt}/withdraw", data={"csrf_token": hidden_fields(page)["csrf_token"]}
    )
    assert response.status_code == 400
    session.expire_all()
    assert session.exec(select(Ballot)).one().is_current


@pytest.mark.parametrize("receipt", ["ZZZZZZZZ", "short", "<b>x", "0000OOOO"])
def test_unknown_receipts_are_404(client: FlaskClient, yard: dict, receipt: str) -> None:
    response = client.get(f"/r/{receipt}")
    assert response.status_code == 404
    assert "无法识别的回执码" in response.get_data(as_text=True)


def publish_now(session: Session, yard: dict) -> None:
    survey = yard["survey"]
    compound = session.get(Compound, survey.compound_id)
    assert compound is not None
    publish(
        session, compound, survey, None, contact="居委会", comments_until=None, today=local_today()
    )
    session.commit()


def test_results_wait_for_five_households(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    for household in yard["households"][:4]:
        submit_ballot(
            session,
            survey=yard["survey"],
            household=household,
            answers=Answers(approve=["gas_pipeline"]),
            submission_key=f"{household.id:032d}",
        )
    session.commit()
    with pytest.raises(NotEnoughAnswers):
        publish_now(session, yard)
    html = client.get("/c/testyard/results").get_data(as_text=True)
    assert "<meter" not in html
    assert "尚未公示" in html


def test_items_chosen_by_fewer_than_five_show_no_figure(
    client: FlaskClient, yard: dict, session: Session
) -> None:
    for n, household in enumerate(yard["households"][:6]):
        items = ["gas_pipeline"] + (["parking"] if n < 2 else [])
        submit_ballot(
            session,
            survey=yard["survey"],
            household=household,
            answers=Answers(approve=items),
            submission_key=f"{household.id:032d}",
        )
    session.commit()
    publish_now(session, yard)
    html = client.get("/c/testyard/results").get_data(as_text=True)
    assert "100% of" not in html
    assert "占已回答户数的 100%（6 户）" in html
    assert "少于 5 户" in html
    assert "（2 户）" not in html
