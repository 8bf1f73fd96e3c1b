"""Where people live: District -> Compound -> Building -> Unit -> Household."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class District(SQLModel, table=True):
    """A city district (区), the planners' unit of comparison."""

    id: int | None = Field(default=None, primary_key=True)
    #: Short ASCII code used in URLs and exports, e.g. "kuiwen".
    code: str = Field(max_length=40, unique=True, index=True)
    #: Chinese name, e.g. 奎文区.
    name: str = Field(max_length=80)
    #: The city the district belongs to, e.g. 潍坊市.
    city: str = Field(default="", max_length=80)


class Compound(SQLModel, table=True):
    """A residential compound (小区): the place a survey asks."""

    id: int | None = Field(default=None, primary_key=True)
    #: Short ASCII code in the QR link /c/<code>.
    code: str = Field(max_length=40, unique=True, index=True)
    #: Chinese name, e.g. 东庄小区.
    name: str = Field(max_length=120)
    #: The district it belongs to.
    district_id: int = Field(foreign_key="district.id", index=True)
    #: Street address shown on posters.
    address: str = Field(default="", max_length=200)
    #: The renovation budget in yuan, when one is set: the menu then shows what it buys.
    budget: int | None = Field(default=None)
    #: The phase of the renovation cycle the compound is in (see models/phases.py).
    phase: str = Field(default="needs", max_length=20, sa_column_kwargs={"server_default": "needs"})
    #: Counts the imports that changed its buildings, units or households: pages rendered
    #: from the layout (the survey's pickers) are kept until it changes.
    layout_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Building(SQLModel, table=True):
    """A building (楼栋) of a compound."""

    __table_args__ = (UniqueConstraint("compound_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The compound it stands in.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: Its number as residents say it ("3" for 3号楼).
    number: str = Field(max_length=20)
    #: Ordering key so that building 10 comes after building 9.
    position: int = Field(default=0)


class Unit(SQLModel, table=True):
    """A unit (单元, one stairwell) of a building."""

    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The building it belongs to.
    building_id: int = Field(foreign_key="building.id", index=True)
    #: Its number as residents say it ("2" for 2单元).
    number: str = Field(max_length=20)
    #: Ordering key.
    position: int = Field(default=0)


class Household(SQLModel, table=True):
    """A household (户): the voting unit, known only by its building-unit-room label."""

    __table_args__ = (UniqueConstraint("unit_id", "room"),)

    id: int | None = Field(default=None, primary_key=True)
    #: Denormalised for the per-compound counts on every page.
    compound_id: int = Field(foreign_key="compound.id", index=True)
    #: The unit (and through it the building) of the household.
    unit_id: int = Field(foreign_key="unit.id", index=True)
    #: Room number as on the door, e.g. "301".
    room: str = Field(max_length=20)
    #: Floor, for elevator questions and door-knocking lists.
    floor: int = Field(default=1)
    #: "building-unit-room", e.g. "3-2-301": the opaque key in exports and the tally.
    label: str = Field(max_length=80, index=True)
    #: Floor area in m², for owners' consent (may be unknown).
    area: float | None = Field(default=None)
    #: owner / tenant, as the compound's records say (None if unknown).
    tenure: str | None = Field(default=None, max_length=20)
    #: The community's records say someone aged 60+ lives here (ballots may say so too).
    elderly: bool = Field(default=False)
    #: HMAC-SHA256 of the household's code (每户一码) under the instance secret; None if none.
    code_hash: str | None = Field(default=None, max_length=64, unique=True)
    #: When the current code was issued (UTC).
    code_issued_at: datetime | None = Field(default=None)
