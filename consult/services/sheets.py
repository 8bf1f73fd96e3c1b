"""Reading the sheets facilitators already have: Excel or CSV, Chinese or English headers.

`read_sheet` turns a file into rows, `check_rows` checks each row on its own and against
the others; `consult.services.imports` compares the checked rows with the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from openpyxl import load_workbook

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
        number = text[: -len(suffix)].strip()
        if text.endswith(suffix) and number.isascii() and number.isdecimal():
            return number
    return text


def template_rows() -> list[list[object]]:
    """Example rows for the downloadable template."""
    return [
        ["奎文区", "东庄小区", "dongzhuang", "1", "1", 1, "101", 68.5, "业主", "是"],
        ["奎文区", "东庄小区", "dongzhuang", "1", "1", 1, "102", 72.0, "租户", ""],
        ["奎文区", "东庄小区", "dongzhuang", "1", "2", 3, "301", 68.5, "", "否"],
    ]
