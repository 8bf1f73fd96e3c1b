"""Compounds from the spreadsheets facilitators already have: preview, then apply.

A sheet (read and checked by `consult.services.sheets`) has one row per household:
district, compound, building, unit, floor, room, and optionally the compound's code,
the floor area, owner/tenant and whether someone aged 60+ lives there. `plan_import`
lists what would be created or changed without touching the database; `apply_import`
carries a plan out. Importing the same sheet twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from consult.models import Building, Compound, District, Household, Unit
from consult.models._base import row_id
from consult.services.places import household_label
from consult.services.sheets import HouseholdRow, RowError


@dataclass
class ImportPlan:
    """What an import would do, and why rows were refused."""

    rows: list[HouseholdRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_compounds: list[str] = field(default_factory=list)
    new_buildings: int = 0
    new_units: int = 0
    new_households: int = 0
    changed_households: list[str] = field(default_factory=list)
    unchanged_households: int = 0

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.new_compounds
            or self.new_buildings
            or self.new_units
            or self.new_households
            or self.changed_households
        )


@dataclass
class _Existing:
    districts: dict[str, District]
    compounds: dict[tuple[int, str], Compound]
    by_code: dict[str, Compound]


def plan_import(
    session: Session, rows: list[HouseholdRow], errors: list[RowError], *, may_run: set[int] | None
) -> ImportPlan:
    """Compare checked rows with the database; `may_run` limits which compounds may change
    (None: any, and new districts may be created)."""
    plan = ImportPlan(errors=list(errors))
    existing = _Existing(
        districts={d.name: d for d in session.exec(select(District)).all()},
        compounds={(c.district_id, c.name): c for c in session.exec(select(Compound)).all()},
        by_code={c.code: c for c in session.exec(select(Compound)).all()},
    )
    new_compounds: dict[tuple[str, str], str] = {}
    known_units: set[tuple[str, str, str, str]] = set()
    known_buildings: set[tuple[str, str, str]] = set()
    households = _households_by_place(session, {row.compound for row in rows})
    for row in rows:
        district = existing.districts.get(row.district)
        if district is None and may_run is not None:
            plan.errors.append(RowError(row.row, "unknown_district", row.district))
            continue
        compound = existing.compounds.get((row_id(district.id), row.compound)) if district else None
        if compound is None and row.code in existing.by_code:
            other = existing.by_code[row.code]
            plan.errors.append(RowError(row.row, "code_taken", f"{row.code} ({other.name})"))
            continue
        if compound is not None and row.code and row.code != compound.code:
            plan.errors.append(RowError(row.row, "code_differs", f"{row.code} ≠ {compound.code}"))
            continue
        if compound is not None and may_run is not None and compound.id not in may_run:
            plan.errors.append(RowError(row.row, "not_yours", row.compound))
            continue
        place = (row.district, row.compound)
        if compound is None and place in new_compounds and row.code:
            if new_compounds[place] and row.code != new_compounds[place]:
                plan.errors.append(
                    RowError(row.row, "code_differs", f"{row.code} ≠ {new_compounds[place]}")
                )
                continue
            new_compounds[place] = row.code
        if compound is None and place not in new_compounds:
            if row.code and row.code in new_compounds.values():
                plan.errors.append(RowError(row.row, "code_taken", row.code))
                continue
            new_compounds[place] = row.code
            plan.new_compounds.append(row.compound)
        building_key = (*place, row.building)
        unit_key = (*building_key, row.unit)
        current = households.get((*unit_key, row.room)) if compound else None
        if current is None:
            if building_key not in known_buildings and not (
                compound and _has_building(session, compound, row.building)
            ):
                plan.new_buildings += 1
            if unit_key not in known_units and not (
                compound and _has_unit(session, compound, row.building, row.unit)
            ):
                plan.new_units += 1
            plan.new_households += 1
        elif (current.floor, current.area, current.tenure, current.elderly) != (
            row.floor,
            row.area,
            row.tenure,
            row.elderly,
        ):
            plan.changed_households.append(current.label)
        else:
            plan.unchanged_households += 1
        known_buildings.add(building_key)
        known_units.add(unit_key)
        plan.rows.append(row)
    plan.errors.sort(key=lambda e: e.row)
    return plan


def _households_by_place(
    session: Session, compound_names: set[str]
) -> dict[tuple[str, str, str, str, str], Household]:
    rows = session.execute(
        sa_select(
            col(District.name),
            col(Compound.name),
            col(Building.number),
            col(Unit.number),
            Household,
        )
        .join(Compound, col(Compound.district_id) == District.id)
        .join(Building, col(Building.compound_id) == Compound.id)
        .join(Unit, col(Unit.building_id) == Building.id)
        .join(Household, col(Household.unit_id) == Unit.id)
        .where(col(Compound.name).in_(compound_names))
    ).all()
    return {(d, c, b, u, h.room): h for d, c, b, u, h in rows}


def _has_building(session: Session, compound: Compound, number: str) -> bool:
    return (
        session.exec(
            select(Building.id).where(
                Building.compound_id == compound.id, Building.number == number
            )
        ).first()
        is not None
    )


def _has_unit(session: Session, compound: Compound, building: str, unit: str) -> bool:
    return (
        session.exec(
            select(Unit.id)
            .join(Building, col(Building.id) == Unit.building_id)
            .where(
                Building.compound_id == compound.id,
                Building.number == building,
                Unit.number == unit,
            )
        ).first()
        is not None
    )


def apply_import(session: Session, plan: ImportPlan) -> list[Compound]:
    """Create and update what the plan lists; flush. Returns the compounds touched."""
    districts = {d.name: d for d in session.exec(select(District)).all()}
    touched: dict[int, Compound] = {}
    # Codes the sheet gives stay free for it when a code has to be made up for another row;
    # a new compound takes the code that any of its rows gives.
    reserved = {row.code for row in plan.rows if row.code}
    given = {(row.district, row.compound): row.code for row in reversed(plan.rows) if row.code}
    for row in plan.rows:
        district = districts.get(row.district)
        if district is None:
            district = District(code=_free_district_code(session), name=row.district)
            session.add(district)
            session.flush()
            districts[row.district] = district
        compound = session.exec(
            select(Compound).where(
                Compound.district_id == district.id, Compound.name == row.compound
            )
        ).first()
        if compound is None:
            compound = Compound(
                code=given.get((row.district, row.compound))
                or _free_compound_code(session, reserved),
                name=row.compound,
                district_id=row_id(district.id),
            )
            session.add(compound)
            session.flush()
        touched[row_id(compound.id)] = compound
        unit = _unit(session, compound, row.building, row.unit)
        household = session.exec(
            select(Household).where(Household.unit_id == unit.id, Household.room == row.room)
        ).first()
        if household is None:
            household = Household(
                compound_id=row_id(compound.id),
                unit_id=row_id(unit.id),
                room=row.room,
                label=household_label(row.building, row.unit, row.room),
            )
        household.floor, household.area = row.floor, row.area
        household.tenure, household.elderly = row.tenure, row.elderly
        session.add(household)
    session.flush()
    return list(touched.values())


def _unit(session: Session, compound: Compound, building_no: str, unit_no: str) -> Unit:
    building = session.exec(
        select(Building).where(Building.compound_id == compound.id, Building.number == building_no)
    ).first()
    if building is None:
        building = Building(
            compound_id=row_id(compound.id), number=building_no, position=_position(building_no)
        )
        session.add(building)
        session.flush()
    unit = session.exec(
        select(Unit).where(Unit.building_id == building.id, Unit.number == unit_no)
    ).first()
    if unit is None:
        unit = Unit(building_id=row_id(building.id), number=unit_no, position=_position(unit_no))
        session.add(unit)
        session.flush()
    return unit


def _position(number: str) -> int:
    return int(number) if number.isascii() and number.isdecimal() else 10_000


def _free_compound_code(session: Session, reserved: set[str]) -> str:
    taken = set(session.exec(select(Compound.code)).all()) | reserved
    n = len(taken) + 1
    while f"xq{n:04d}" in taken:
        n += 1
    return f"xq{n:04d}"


def _free_district_code(session: Session) -> str:
    taken = set(session.exec(select(District.code)).all())
    n = len(taken) + 1
    while f"d{n:03d}" in taken:
        n += 1
    return f"d{n:03d}"
