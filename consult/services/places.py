"""Looking up compounds, buildings, units and households."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import bindparam, event, func, inspect
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from consult.models import Building, Compound, District, Household, Unit

#: Built once: every resident's request starts here.
_COMPOUND_BY_CODE = select(Compound).where(col(Compound.code) == bindparam("code"))


def compound_by_code(session: Session, code: str) -> Compound | None:
    """Return the compound with this QR code, or None."""
    return session.exec(_COMPOUND_BY_CODE, params={"code": code}).first()


_DISTRICT = select(District).where(col(District.id) == bindparam("district"))


def district_of(session: Session, compound: Compound) -> District:
    """Return the compound's district."""
    district = session.exec(_DISTRICT, params={"district": compound.district_id}).one()
    return district


def household_count(session: Session, compound: Compound) -> int:
    """Count the compound's households."""
    count = session.exec(
        select(func.count()).select_from(Household).where(Household.compound_id == compound.id)
    ).one()
    return int(count)


#: The latest household of a compound (the index on compound_id answers it alone).
_LATEST_HOUSEHOLD = sql_select(func.max(Household.id)).where(
    col(Household.compound_id) == bindparam("compound")
)


#: What of a household, unit or building the layout (the pickers, their order) shows.
_LAYOUT_FIELDS: dict[type, tuple[str, ...]] = {
    Household: ("unit_id", "room", "floor", "label"),
    Unit: ("building_id", "number", "position"),
    Building: ("compound_id", "number", "position"),
}


@event.listens_for(OrmSession, "before_flush")
def _count_layout_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Bump `Compound.layout_version` of every compound whose layout this flush changes.

    Whatever the path (an import, a building added, a household's floor corrected),
    pages kept from the old layout are then kept under a key that is no longer asked.
    """
    touched: set[int] = set()
    for row in chain(session.new, session.dirty, session.deleted):
        fields = _LAYOUT_FIELDS.get(type(row))
        if fields is None:
            continue
        if row not in session.new and row not in session.deleted:
            state = inspect(row)
            if not any(state.attrs[name].history.has_changes() for name in fields):
                continue
        if isinstance(row, Unit):
            building = session.get(Building, row.building_id)
            compound_id = building.compound_id if building is not None else None
        else:
            compound_id = row.compound_id
        if compound_id is not None:
            touched.add(compound_id)
    for compound_id in touched:
        compound = session.get(Compound, compound_id)
        if compound is not None:
            compound.layout_version += 1


def layout_stamp(session: Session, compound: Compound) -> int:
    """Return what tells whether the compound's layout changed: its latest household's id.

    Households are only ever added (each with its building and unit, numbered as they
    stay), never renumbered or removed, so a new building, unit or room is a new id.
    """
    return int(session.execute(_LATEST_HOUSEHOLD, {"compound": compound.id}).scalar() or 0)


@dataclass
class UnitRooms:
    """A unit's number and its rooms, for the household picker."""

    number: str
    rooms: list[str] = field(default_factory=list)


@dataclass
class BuildingUnits:
    """A building's number and its units, for the household picker."""

    number: str
    units: list[UnitRooms] = field(default_factory=list)


def layout(session: Session, compound: Compound) -> list[BuildingUnits]:
    """Return the compound's buildings, units and rooms in residents' order."""
    rows = session.exec(
        select(Building.number, Unit.number, Household.room)
        .join(Unit, col(Unit.building_id) == Building.id)
        .join(Household, col(Household.unit_id) == Unit.id)
        .where(Building.compound_id == compound.id)
        .order_by(
            col(Building.position), col(Unit.position), col(Household.floor), col(Household.room)
        )
    ).all()
    buildings: list[BuildingUnits] = []
    for building_no, unit_no, room in rows:
        if not buildings or buildings[-1].number != building_no:
            buildings.append(BuildingUnits(building_no))
        units = buildings[-1].units
        if not units or units[-1].number != unit_no:
            units.append(UnitRooms(unit_no))
        units[-1].rooms.append(room)
    return buildings


_FIND_HOUSEHOLD = (
    select(Household)
    .join(Unit, col(Unit.id) == Household.unit_id)
    .join(Building, col(Building.id) == Unit.building_id)
    .where(
        col(Building.compound_id) == bindparam("compound"),
        col(Building.number) == bindparam("building"),
        col(Unit.number) == bindparam("unit"),
        col(Household.room) == bindparam("room"),
    )
)
#: The same, locking the household's row (PostgreSQL; SQLite renders no FOR UPDATE).
_FIND_AND_LOCK_HOUSEHOLD = _FIND_HOUSEHOLD.with_for_update(of=Household)


def find_household(
    session: Session, compound: Compound, building: str, unit: str, room: str, *, lock: bool = False
) -> Household | None:
    """Return the household at building-unit-room of the compound, or None.

    `lock`: lock the household's row until the transaction ends (`SELECT ... FOR UPDATE`
    on PostgreSQL; nothing on SQLite, see `services.ballots.lock_household`).
    """
    return session.exec(
        _FIND_AND_LOCK_HOUSEHOLD if lock else _FIND_HOUSEHOLD,
        params={"compound": compound.id, "building": building, "unit": unit, "room": room},
    ).first()


class Homes:
    """A compound's buildings, units and rooms, asked about one at a time (no layout loaded)."""

    def __init__(self, session: Session, compound: Compound) -> None:
        self.session = session
        self.compound = compound
        #: The household a successful `has_room` found, for the caller to store against.
        self.found: Household | None = None

    def has_building(self, building: str) -> bool:
        """Whether the compound has this building."""
        return (
            self.session.exec(
                select(Building.id).where(
                    Building.compound_id == self.compound.id, Building.number == building
                )
            ).first()
            is not None
        )

    def has_unit(self, building: str, unit: str) -> bool:
        """Whether the building has this unit."""
        return (
            self.session.exec(
                select(Unit.id)
                .join(Building, col(Building.id) == Unit.building_id)
                .where(
                    Building.compound_id == self.compound.id,
                    Building.number == building,
                    Unit.number == unit,
                )
            ).first()
            is not None
        )

    def has_room(self, building: str, unit: str, room: str) -> bool:
        """Whether the unit has this room (and remember its household)."""
        self.found = find_household(self.session, self.compound, building, unit, room)
        return self.found is not None


def household_label(building: str, unit: str, room: str) -> str:
    """Return the opaque building-unit-room key of a household."""
    return f"{building}-{unit}-{room}"
