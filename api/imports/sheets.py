"""Reading a sheet: CSV (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030) or Excel
(.xlsx, read-only), into a header and numbered rows of raw cells.

Rows keep the number Excel shows: with the header on row 1, the first data row is row 2, and
blank rows are skipped but still counted. A file that cannot be read whole (not text, a
quote never closed, an Excel file that does not open, a last row cut short) is an error,
never half a sheet.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from api.imports.errors import SheetError, SheetErrors

Cell = str | int | float | bool | datetime | date | time | timedelta | None
"""A raw cell: text from a CSV; whatever Excel stored from an .xlsx."""

MAX_ROWS = 20_000
"""Data rows read at most: far more than a day's stops (5,000) or couriers (500)."""

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
DELIMITERS = (",", "\t", ";")


@dataclass(frozen=True, slots=True)
class Row:
    number: int
    """As Excel shows it: the header is row 1 (by default), the first data row 2."""
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet as read: its role in the import (`orders`...), file name, header and data rows."""

    role: str
    filename: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    header_row: int = 1

    def column(self, name: str) -> int | None:
        """The index of the column headed `name` (compared without case, spacing or
        full-width forms, so "重量（KG）" finds "重量(kg)"), or None."""
        wanted = header_key(name)
        for i, heading in enumerate(self.header):
            if header_key(heading) == wanted:
                return i
        return None

    def columns_named(self, name: str) -> int:
        wanted = header_key(name)
        return sum(1 for heading in self.header if header_key(heading) == wanted)


def header_key(text: str) -> str:
    """Text as names are compared: without spacing, case or full-width forms ("重量（KG）" is "重量(kg)")."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def read_sheet(
    source: Path | bytes,
    filename: str | None = None,
    *,
    role: str = "sheet",
    sheet_name: str | None = None,
    header_row: int = 1,
) -> Sheet:
    """Read a CSV or .xlsx sheet from a path or bytes; `filename` tells the kind when the content
    does not (an Excel file is recognised by its content whatever its name).

    `sheet_name` picks a worksheet of an Excel file (default: the one open when it was saved);
    `header_row` is the row holding the column names (exports sometimes put a title above)."""
    if isinstance(source, Path):
        filename = filename or source.name
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise SheetErrors([SheetError(role, None, "", f"cannot read {filename}: {exc.strerror or exc}")]) from None
    else:
        data = source
    name = filename or role
    if data.startswith(OLE_MAGIC) or name.lower().endswith(".xls"):
        raise SheetErrors([SheetError(role, None, "", f"{name} is an old Excel file (.xls): save it as .xlsx or CSV")])
    table = _xlsx_rows(data, name, role, sheet_name) if data.startswith(ZIP_MAGIC) else _csv_rows(data, name, role)
    return _sheet(table, name, role, header_row)


def _sheet(table: list[tuple[int, list[Cell]]], filename: str, role: str, header_row: int) -> Sheet:
    errors: list[SheetError] = []
    header_cells = next((cells for number, cells in table if number == header_row), None)
    if header_cells is None or all(_blank(c) for c in header_cells):
        raise SheetErrors([SheetError(role, header_row, "", f"{filename} has no column names on row {header_row}")])
    header = tuple("" if c is None else str(c).strip() for c in header_cells)
    while header and not header[-1]:
        header = header[:-1]
    rows = []
    for number, cells in table:
        if number <= header_row or all(_blank(c) for c in cells):
            continue
        extra = [c for c in cells[len(header) :] if not _blank(c)]
        if extra:
            errors.append(
                SheetError(
                    role,
                    number,
                    "",
                    f"the row has {len(header) + len(extra)} or more cells but the header names {len(header)}: "
                    "a separator inside an unquoted cell?",
                )
            )
            continue
        padded = tuple(cells[: len(header)]) + (None,) * max(0, len(header) - len(cells))
        rows.append(Row(number, padded))
        if len(rows) > MAX_ROWS:
            errors.append(SheetError(role, number, "", f"more than {MAX_ROWS} rows: split the file"))
            break
    if errors:
        raise SheetErrors(errors)
    return Sheet(role, filename, header, tuple(rows), header_row)


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _decode(data: bytes, filename: str, role: str) -> str:
    """UTF-8 (a BOM or not), UTF-16 with a BOM, else GB18030 (what Chinese Excel saves as CSV)."""

    def refused(message: str) -> SheetErrors:
        return SheetErrors([SheetError(role, None, "", f"{filename} {message}")])

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise refused("is not valid UTF-16 text") from None
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start > len(body) - 4:
            raise refused("ends inside a character: is it cut short?") from None
        if bom:
            raise refused("starts as UTF-8 but is not UTF-8 text") from None
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise refused("is neither UTF-8 nor GB18030 text, nor an .xlsx") from None


def _delimiter(text: str) -> str:
    """The delimiter the header line uses most: comma, tab (Excel's "Unicode text") or semicolon."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(data: bytes, filename: str, role: str) -> list[tuple[int, list[Cell]]]:
    text = _decode(data, filename, role)
    if "\x00" in text:
        raise SheetErrors([SheetError(role, None, "", f"{filename} is not a CSV file (it holds binary data)")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    rows: list[tuple[int, list[Cell]]] = []
    try:
        for number, record in enumerate(reader, start=1):
            rows.append((number, list(record)))
            if number > MAX_ROWS + 10:
                break
    except csv.Error as exc:
        raise SheetErrors(
            [SheetError(role, len(rows) + 1, "", f"{filename} cannot be read from here on: {exc}")]
        ) from None
    if rows and text and not text.endswith(("\n", "\r")):
        header = rows[0][1]
        number, last = rows[-1]
        if number > 1 and 0 < len(last) < len(header):
            raise SheetErrors(
                [
                    SheetError(
                        role,
                        number,
                        "",
                        f"the last row has {len(last)} of the header's {len(header)} cells and the file ends "
                        "there: is it cut short?",
                    )
                ]
            )
    return rows


def _xlsx_rows(data: bytes, filename: str, role: str, sheet_name: str | None) -> list[tuple[int, list[Cell]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign zip
        raise SheetErrors(
            [SheetError(role, None, "", f"{filename} is not a readable .xlsx ({type(exc).__name__})")]
        ) from None
    try:
        if sheet_name is not None:
            if sheet_name not in book.sheetnames:
                names = ", ".join(book.sheetnames)
                message = f"{filename} has no sheet {sheet_name!r} (it has {names})"
                raise SheetErrors([SheetError(role, None, "", message)])
            worksheet: Any = book[sheet_name]
        else:
            worksheet = book.active if book.active is not None else book.worksheets[0]
        rows: list[tuple[int, list[Cell]]] = []
        for number, values in enumerate(worksheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
            rows.append((number, list(values)))
            if number > MAX_ROWS + 10:
                break
        return rows
    except SheetErrors:
        raise
    except Exception as exc:  # a sheet whose XML is damaged
        raise SheetErrors(
            [SheetError(role, None, "", f"{filename} is not a readable .xlsx ({type(exc).__name__})")]
        ) from None
    finally:
        book.close()
