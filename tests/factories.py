"""Factories: small compounds and surveys made per test, not shared rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session, select

from consult.models import (
    Account,
    Compound,
    District,
    Household,
    Role,
    Survey,
    SurveyPhase,
    SurveyStatus,
)
from consult.services.accounts import create_account
from consult.services.seed import DemoCompound, build_compound
from consult.services.surveys import local_today, offer_whole_catalog
from tests.conftest import hidden_fields


def create_district(session: Session, code: str = "kuiwen", name: str = "奎文区") -> District:
    """Return the district with this code, creating it."""
    district = session.exec(select(District).where(District.code == code)).first()
    if district is None:
        district = District(code=code, name=name, city="潍坊市")
        session.add(district)
        session.flush()
    return district


def create_compound(
    session: Session,
    code: str = "testyard",
    name: str = "测试小区",
    units: tuple[int, ...] = (2, 2),
    floors: int = 3,
    per_floor: int = 2,
) -> tuple[Compound, list[Household]]:
    """Create a compound of buildings with the given unit counts; commit."""
    district = create_district(session)
    shape = DemoCompound(code, name, district.code, "", units, floors, per_floor, 0)
    households = build_compound(session, shape, district)
    compound = session.get(Compound, households[0].compound_id)
    session.commit()
    assert compound is not None
    return compound, households


def open_survey(
    session: Session,
    compound: Compound,
    *,
    status: SurveyStatus = SurveyStatus.OPEN,
    opens_in_days: int = -5,
    closes_in_days: int = 20,
) -> Survey:
    """Create a needs survey over the whole catalogue; commit."""
    today = local_today()
    survey = Survey(
        compound_id=compound.id,  # type: ignore[arg-type]
        phase=SurveyPhase.NEEDS,
        status=status,
        opens_on=today + timedelta(days=opens_in_days),
        closes_on=today + timedelta(days=closes_in_days),
    )
    session.add(survey)
    session.flush()
    offer_whole_catalog(session, survey)
    session.commit()
    return survey


PASSWORD = "correct-horse-battery"


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    compounds: list[Compound] | None = None,
    districts: list[District] | None = None,
    password: str = PASSWORD,
) -> Account:
    """Create an account with the given role and scope; commit."""
    account = create_account(
        session,
        username=username,
        password=password,
        role=Role(role),
        compounds=compounds,
        districts=districts,
    )
    session.commit()
    return account


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Log the client in through the login form (CSRF token included)."""
    page = client.get("/login").get_data(as_text=True)
    token = hidden_fields(page).get("csrf_token", "")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
