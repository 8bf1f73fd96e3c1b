"""The seeded city read as arrays: every compound's menu equals `tally` of its document."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session, col, select

import consult.tally as engine
from consult.db import make_engine
from consult.models import Compound, SurveyMode
from consult.services.city_tally import city_tally
from consult.services.surveys import current_survey
from consult.services.tallies import ballots_document
from tests.conftest import SeededCity


@pytest.mark.parametrize("method", ["approval", "borda", "schulze"])
def test_the_seeded_city_as_arrays_equals_tally_of_each_document(
    seeded_city: SeededCity, method: str
) -> None:
    engine_ = make_engine(seeded_city.url)
    with Session(engine_) as session:
        city = city_tally(session, method=method)
        assert len(city) == 466
        budget = 3_000_000  # the seeded compounds have none: a greedy selection for each
        parts = [dataclasses.replace(part, budget=budget) for part in city.parts]
        priced = engine.CityMenus(parts)
        compounds = session.exec(select(Compound).order_by(col(Compound.code))).all()
        for compound in compounds:
            survey = current_survey(session, compound)
            assert survey is not None
            document = ballots_document(session, compound, survey)
            only = survey.mode == SurveyMode.CODES
            assert city[compound.code] == engine.tally(document, method=method, verified_only=only)
            assert priced[compound.code] == engine.tally(
                document, method=method, verified_only=only, budget=budget
            )
    engine_.dispose()
