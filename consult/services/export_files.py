"""Export tables and their files: an Excel workbook written row by row, CSV streamed.

A `Table` is a header and a generator of rows of plain values; the writers
translate headers and yes/no when they write (so the locale of the request or of
the command line decides), keep numbers as numbers, and never hold a whole table
in memory: openpyxl's write-only mode streams each sheet to disk, CSV is yielded
in chunks of about 64 KB.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlmodel import Session, col

#: Rows fetched from the database at a time while a table streams.
PAGE = 2000
#: Bytes of CSV gathered before a chunk is sent.
CHUNK = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Excel number formats by column kind ("text" and "flag" need none).
FORMATS = {"number": None, "percent": "0.0%", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
#: Leading characters that make a spreadsheet read text as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Column:
    """A column: its header, what it holds, and its width in Excel (characters).

    Kinds: "text", "number", "percent" (a fraction), "date", "datetime" (local
    wall-clock time) and "flag" (a boolean written as yes or no).
    """

    header: LazyString
    kind: str = "text"
    width: int = 10


@dataclass
class Table:
    """A named table: sheet title, columns, and rows read as they are consumed."""

    name: str
    title: LazyString
    columns: list[Column]
    rows: Iterator[Row]


#: The columns that open most tables.
CODE = Column(_l("Compound code"), width=14)
NAME = Column(_l("Compound"), width=16)


def streamed(session: Session, statement: Any) -> Iterator[Any]:
    """Yield the statement's rows, fetched PAGE at a time (a server-side cursor on PostgreSQL)."""
    # Through the session's connection: plain rows, without the ORM's per-row bookkeeping.
    result = session.connection().execute(statement.execution_options(yield_per=PAGE))
    try:
        yield from result
    finally:
        result.close()


def in_scope(column: Any, ids: Collection[int]) -> Any:
    """Return the condition that a compound id column is one of `ids`."""
    return col(column).in_(sorted(ids))


def english() -> bool:
    """Whether the current locale (of the request, or forced by the command line) is English."""
    return str(get_locale() or "").startswith("en")


def _width(text: str) -> int:
    """Return the columns a text takes in Excel: Chinese characters take two."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


def _yes_no() -> tuple[str, str]:
    return str(_l("yes")), str(_l("no"))


# -- Excel -------------------------------------------------------------------------------------


def write_xlsx(tables: Iterable[Table], target: str | IO[bytes]) -> dict[str, int]:
    """Write each table as a sheet of a write-only workbook; return the rows written per table.

    Headers are bold and frozen, columns sized, numbers stay numbers, fractions show
    as percentages and dates as dates.
    """
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    yes, no = _yes_no()
    counts: dict[str, int] = {}
    for table in tables:
        sheet = book.create_sheet(title=_sheet_title(str(table.title)))
        headers = [str(column.header) for column in table.columns]
        # Widths and the frozen pane must be set before the first row is written.
        for index, (column, header) in enumerate(zip(table.columns, headers, strict=True), 1):
            width = max(column.width, _width(header) + 2)
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        sheet.append([_styled(sheet, header, font=bold) for header in headers])
        # One formatted cell per column, refilled row after row: a write-only sheet writes
        # each row as it is appended, so the cell is free again for the next one.
        formatted = [
            _styled(sheet, None, number_format=fmt) if (fmt := FORMATS.get(column.kind)) else None
            for column in table.columns
        ]
        count = 0
        for row in table.rows:
            sheet.append(_excel_row(sheet, row, formatted, yes, no))
            count += 1
        counts[table.name] = count
    book.save(target)
    return counts


def _sheet_title(title: str) -> str:
    """Return a title Excel accepts: at most 31 characters, none of []:*?/\\."""
    return "".join("_" if char in "[]:*?/\\" else char for char in title)[:31] or "sheet"


def _styled(
    sheet: WriteOnlyWorksheet, value: Any, *, font: Font | None = None, number_format: str = ""
) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula or an error code, whatever a person typed
    return cell


def _excel_row(
    sheet: WriteOnlyWorksheet,
    row: Row,
    formatted: list[WriteOnlyCell | None],
    yes: str,
    no: str,
) -> list[Any]:
    values: list[Any] = []
    for value, cell in zip(row, formatted, strict=True):
        if value is None or isinstance(value, bool):
            values.append(None if value is None else yes if value else no)
        elif isinstance(value, str):
            values.append(_text(sheet, value))
        elif cell is not None and isinstance(value, int | float | date):
            cell.value = value
            values.append(cell)
        else:
            values.append(value)
    return values


def _text(sheet: WriteOnlyWorksheet, value: str) -> Any:
    """Return text as Excel takes it: without control characters, never as a formula."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith("=") or value in ERROR_CODES:
        return _styled(sheet, value)
    return value


# -- CSV ---------------------------------------------------------------------------------------


def csv_chunks(table: Table) -> Iterator[bytes]:
    """Yield the table as UTF-8 CSV with a byte order mark (so Excel reads Chinese), in chunks.

    Fractions are written as fractions, dates as ISO dates, yes/no translated; text
    that a spreadsheet would take for a formula gets a leading apostrophe.
    """
    yes, no = _yes_no()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([str(column.header) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(value, yes, no) for value in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _csv_value(value: Any, yes: str, no: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes if value else no
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value
