"""Compounds from the spreadsheets facilitators already have: read, check, preview, apply.

A sheet (Excel .xlsx or CSV, Chinese or English headers) has one row per
household: district, compound, building, unit, floor, room, and optionally the
compound's code, the floor area, owner/tenant and whether someone aged 60+
lives there. `plan_import` checks every row and lists what would be created or
changed without touching the database; `apply_import` carries a plan out.
Importing the same sheet twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from openpyxl import load_workbook
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from consult.models import Building, Compound, District, Household, Unit
from consult.models._base import row_id
from consult.services.places import household_label

#: Accepted headers for each column, compared case-insensitively without spaces.
HEADERS = {
    "district": ("district", "区", "城区", "区县", "所在区"),
    "compound": ("compound", "小区", "小区名称"),
    "code": ("code", "compoundcode", "小区代码", "代码"),
    "building": ("building", "楼栋", "楼号", "楼"),
    "unit": ("unit", "单元"),
    "floor": ("floor", "楼层", "层"),
    "room": ("room", "房号", "户号", "门牌号"),
    "area": ("area", "floorarea", "面积", "建筑面积", "面积(m²)", "面积(平方米)"),
    "tenure": ("tenure", "owner/tenant", "ownertenant", "产权", "自有/租住", "业主/租户"),
    "elderly": ("elderly", "老人", "60岁以上老人", "有老人"),
}
REQUIRED = ("district", "compound", "building", "unit", "floor", "room")
TEMPLATE_HEADERS_ZH = (
    "区",
    "小区",
    "小区代码",
    "楼栋",
    "单元",
    "楼层",
    "房号",
    "面积",
    "产权",
    "老人",
)
HEADERS_EN = (
    "district",
    "compound",
    "code",
    "building",
    "unit",
    "floor",
    "room",
    "area",
    "tenure",
    "elderly",
)
TENURE_WORDS = {
    "owner": "owner",
    "业主": "owner",
    "自有": "owner",
    "tenant": "tenant",
    "租户": "tenant",
    "租住": "tenant",
    "": "",
}
YES_WORDS = {"1", "y", "yes", "true", "是", "有", "√", "✓"}
NO_WORDS = {"", "0", "n", "no", "false", "否", "无"}
MAX_ROWS = 20_000
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


class SheetError(ValueError):
    """The file as a whole cannot be read (not the fault of one row)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class RowError:
    """Why one row of the sheet was refused; `reason` is a key the pages translate."""

    row: int
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class HouseholdRow:
    """One checked row."""

    row: int
    district: str
    compound: str
    code: str
    building: str
    unit: str
    floor: int
    room: str
    area: float | None
    tenure: str | None
    elderly: bool


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


def _key(header: object) -> str:
    return re.sub(r"\s+", "", str(header or "")).lower()


def read_sheet(filename: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """Read an .xlsx or .csv file into (row number, {column: text}) pairs."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001 - any unreadable workbook is the same to a person
            raise SheetError("unreadable_file", error.__class__.__name__) from error
        sheet = book.worksheets[0]
        table = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    elif name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SheetError("unreadable_file", "encoding")
        table = [list(row) for row in csv.reader(io.StringIO(text))]
    else:
        raise SheetError("wrong_type", filename[-20:])
    return _to_records(table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _to_records(table: list[list[str]]) -> list[tuple[int, dict[str, str]]]:
    if not table:
        raise SheetError("empty")
    aliases = {_key(alias): column for column, names in HEADERS.items() for alias in names}
    columns = [aliases.get(_key(header)) for header in table[0]]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SheetError("missing_columns", ", ".join(missing))
    records = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(str(c).strip() for c in cells):
            continue
        record = {
            column: str(cells[i]).strip()
            for i, column in enumerate(columns)
            if column and i < len(cells)
        }
        records.append((number, record))
    if len(records) > MAX_ROWS:
        raise SheetError("too_many_rows", str(MAX_ROWS))
    return records


def check_rows(
    records: Iterable[tuple[int, dict[str, str]]],
) -> tuple[list[HouseholdRow], list[RowError]]:
    """Check each row on its own and against the others (a room twice)."""
    rows: list[HouseholdRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, str, str, str], int] = {}
    for number, record in records:
        problem = _check(number, record)
        if isinstance(problem, RowError):
            errors.append(problem)
            continue
        key = (problem.district, problem.compound, problem.building, problem.unit, problem.room)
        if key in seen:
            errors.append(RowError(number, "duplicate_room", f"{seen[key]}"))
            continue
        seen[key] = number
        rows.append(problem)
    return rows, errors


def _check(number: int, record: dict[str, str]) -> HouseholdRow | RowError:
    for column in REQUIRED:
        if not record.get(column, "").strip():
            return RowError(number, f"missing_{column}")
    for column in ("district", "compound", "building", "unit", "room"):
        if len(record[column]) > (120 if column in ("district", "compound") else 20):
            return RowError(number, "too_long", column)
    try:
        floor = int(float(record["floor"]))
        if not -5 <= floor <= 200:
            raise ValueError
    except (ValueError, OverflowError):
        return RowError(number, "unreadable_floor", record["floor"][:20])
    area: float | None = None
    if record.get("area", "").strip():
        try:
            area = float(record["area"].replace("m²", "").replace("㎡", "").strip())
            if not 0 < area < 10_000:  # also refuses inf and nan
                raise ValueError
        except (ValueError, OverflowError):
            return RowError(number, "unreadable_area", record["area"][:20])
    tenure = TENURE_WORDS.get(record.get("tenure", "").strip().lower())
    if tenure is None:
        return RowError(number, "unreadable_tenure", record["tenure"][:20])
    elderly_word = record.get("elderly", "").strip().lower()
    if elderly_word not in YES_WORDS | NO_WORDS:
        return RowError(number, "unreadable_elderly", elderly_word[:20])
    code = record.get("code", "").strip().lower()
    if code and not CODE_RE.match(code):
        return RowError(number, "bad_code", code[:40])
    return HouseholdRow(
        row=number,
        district=record["district"].strip(),
        compound=record["compound"].strip(),
        code=code,
        building=_number(record["building"], "号楼", "栋", "楼"),
        unit=_number(record["unit"], "单元"),
        floor=floor,
        room=record["room"].strip().removesuffix("室"),
        area=area,
        tenure=tenure or None,
        elderly=elderly_word in YES_WORDS,
    )


def _number(text: str, *suffixes: str) -> str:
    """Return "3" for "3号楼" or "3", keeping other names as they are."""
    text = text.strip()
    for suffix in suffixes:
        if text.endswith(suffix) and text[: -len(suffix)].strip().isdigit():
            return text[: -len(suffix)].strip()
    return text


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
    return int(number) if number.isdigit() else 10_000


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


def template_rows() -> list[list[object]]:
    """Example rows for the downloadable template."""
    return [
        ["奎文区", "东庄小区", "dongzhuang", "1", "1", 1, "101", 68.5, "业主", "是"],
        ["奎文区", "东庄小区", "dongzhuang", "1", "1", 1, "102", 72.0, "租户", ""],
        ["奎文区", "东庄小区", "dongzhuang", "1", "2", 3, "301", 68.5, "", "否"],
    ]
