"""A survey's current ballots as read from the database (one JSON text) and the
`consult.ballots/1` document made of them, on both databases."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlmodel import Session

from consult.models import Building, Channel, Household, Unit
from consult.services.ballots import Answers, submit_ballot
from consult.services.tallies import ballots_document, read_ballots
from tests.factories import create_compound, open_survey


def building_of(session: Session, home: Household) -> str:
    unit = session.get(Unit, home.unit_id)
    assert unit is not None
    building = session.get(Building, unit.building_id)
    assert building is not None
    return building.number


def test_no_ballots_read_as_an_empty_list(session: Session) -> None:
    compound, _homes = create_compound(session)
    survey = open_survey(session, compound)
    read = read_ballots(session, compound, survey)
    assert read.ballots == "[]"
    assert ballots_document(session, compound, survey)["ballots"] == []


def test_each_ballot_reads_back_exactly(session: Session) -> None:
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    homes[0].label = 'Bldg "1" \\ 单元 ☂'  # quotes, a backslash and more in the JSON text
    session.add(homes[0])
    answers = [
        (
            homes[0],
            Answers(
                approve=["parking", "elevator_retrofit", "water_supply"],
                priorities=["water_supply", "parking"],
                elderly=True,
            ),
            Channel.PAPER,
            True,
        ),
        (homes[1], Answers(approve=[], children=True), Channel.QR, False),
        (homes[2], Answers(approve=["parking"]), Channel.MEETING, False),
    ]
    for home, given, channel, verified in answers:
        submit_ballot(
            session,
            survey=survey,
            household=home,
            answers=given,
            submission_key=uuid.uuid4().hex,
            channel=channel,
            verified=verified,
        )
    session.commit()
    document = ballots_document(session, compound, survey)
    got = {ballot["household"]: ballot for ballot in document["ballots"]}
    assert list(got) == sorted(got)  # by household label
    for home, given, channel, verified in answers:
        ballot = got[home.label]
        assert ballot == {
            "household": home.label,
            "building": building_of(session, home),
            "approve": sorted(given.approve),
            "rank": given.priorities,
            "elderly": given.elderly,
            "children": given.children,
            "channel": str(channel),
            "verified": verified,
        }
        for flag in ("elderly", "children", "verified"):
            assert type(ballot[flag]) is bool  # SQLite's JSON has 0 and 1
    assert len(got) == 3
    # The same reading twice is the same text: the key the compound page is kept under.
    assert read_ballots(session, compound, survey) == read_ballots(session, compound, survey)


def test_ballots_read_by_label_whatever_order_they_were_stored_in(session: Session) -> None:
    """By label (then household), however the rows lie and whatever the planner knows:
    the same ballots always read as the same text, the key of the kept compound page."""
    compound, homes = create_compound(session)
    survey = open_survey(session, compound)
    for home in sorted(homes, key=lambda home: home.label, reverse=True):
        submit_ballot(
            session,
            survey=survey,
            household=home,
            answers=Answers(approve=["parking"]),
            submission_key=uuid.uuid4().hex,
        )
    session.commit()
    session.exec(text("ANALYZE"))  # type: ignore[call-overload]
    labels = [
        ballot["household"] for ballot in ballots_document(session, compound, survey)["ballots"]
    ]
    assert labels == sorted(home.label for home in homes)
