"""Cells into wire values: numbers as JSON numbers (whole where the wire wants an integer),
booleans, lists, and local times as ISO 8601 with the offset of the mapping's time zone.

Each function raises `CellError` with a message a dispatcher can act on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from api.imports.sheets import Cell

Kind = Literal["str", "int", "float", "bool", "datetime", "list"]

TRUE = frozenset({"true", "yes", "y", "1", "是", "对", "√", "✓", "✔"})
FALSE = frozenset({"false", "no", "n", "0", "否", "不", "×", "✗"})
SEPARATORS = re.compile(r"[,;|，；、/]")
"""Between the items of a list cell (e.g. skills), unless the mapping names a separator."""

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
LOCAL_TIME = re.compile(
    r"^(?:(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:[ T]+|$))?"
    r"(?:(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2})(?:\.\d+)?)?)?$"
)
EXCEL_EPOCH = datetime(1899, 12, 30)


class CellError(ValueError):
    """A cell that cannot become the value its field needs; the message says why."""


class NoDate(CellError):
    """A time of day where the plan's date is not known."""


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def shown(cell: Cell) -> str:
    """A cell as the message quotes it."""
    text = cell.isoformat() if isinstance(cell, date | time) else str(cell)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def text(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # an id or a phone Excel stored as a number
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return str(cell).strip()


def number(cell: Cell, *, whole: bool) -> int | float:
    """A number; with `whole`, an integer (12.0 is 12; 12.5 is refused, not rounded)."""
    if isinstance(cell, bool) or not isinstance(cell, int | float | str):
        raise CellError(f"not a number: {shown(cell)}")
    if isinstance(cell, str):
        cleaned = unicodedata.normalize("NFKC", cell).strip()
        if not NUMBER.match(cleaned):
            raise CellError(f"not a number: {shown(cell)}")
        value: int | float = int(cleaned) if cleaned.lstrip("+-").isdigit() else float(cleaned)
    else:
        value = cell
    if not math.isfinite(value):
        raise CellError(f"not a number: {shown(cell)}")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise CellError(f"{shown(cell)} is not a whole number")
        return int(value)
    return float(value)


def boolean(cell: Cell) -> bool:
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float) and cell in (0, 1):
        return bool(cell)
    word = unicodedata.normalize("NFKC", text(cell)).strip().casefold()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise CellError(f"not yes or no: {shown(cell)}")


def local_time(cell: Cell, day: date | None, zone: ZoneInfo) -> str:
    """A local time (`09:00`, `2026-11-26 09:00`, an Excel time or date-time) as ISO 8601 with
    the zone's offset on that day. A time of day needs `day`; "24:00" is the next midnight; a
    time that already carries an offset is kept as that instant."""
    if isinstance(cell, bool):
        raise CellError(f"not a time: {shown(cell)}")
    if isinstance(cell, datetime):
        moment = cell
    elif isinstance(cell, date):
        moment = datetime.combine(cell, time())
    elif isinstance(cell, time):
        moment = _on(day, timedelta(hours=cell.hour, minutes=cell.minute, seconds=cell.second))
    elif isinstance(cell, timedelta):  # a [h]:mm cell
        moment = _on(day, cell)
    elif isinstance(cell, int | float):  # a number Excel did not format as a time
        if not math.isfinite(cell) or not 0 <= cell < 2_958_466:
            raise CellError(f"not a time: {shown(cell)}")
        moment = _on(day, timedelta(days=cell)) if cell < 1 else EXCEL_EPOCH + timedelta(days=cell)
    else:
        moment = _parse(str(cell), day)
    moment = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0)  # Excel's float rounding
    return moment.isoformat()


def _on(day: date | None, since_midnight: timedelta) -> datetime:
    if day is None:
        raise NoDate("a time of day needs the plan's date: set `date` in the mapping (or give one)")
    if not timedelta(0) <= since_midnight <= timedelta(days=1):
        raise CellError("a time of day must lie between 00:00 and 24:00")
    return datetime.combine(day, time()) + since_midnight


def _parse(raw: str, day: date | None) -> datetime:
    cleaned = " ".join(unicodedata.normalize("NFKC", raw).split())
    found = LOCAL_TIME.match(cleaned)
    if found and (found["y"] or found["H"]):
        parts = found.groupdict()
        clock = timedelta(hours=int(parts["H"] or 0), minutes=int(parts["M"] or 0), seconds=int(parts["S"] or 0))
        if parts["H"] and (int(parts["M"]) > 59 or int(parts["S"] or 0) > 59):
            raise CellError(f"not a time: {shown(raw)}")
        if parts["y"]:
            try:
                on = date(int(parts["y"]), int(parts["m"]), int(parts["d"]))
            except ValueError:
                raise CellError(f"not a date: {shown(raw)}") from None
            if clock > timedelta(days=1):
                raise CellError(f"not a time: {shown(raw)}")
            return datetime.combine(on, time()) + clock
        return _on(day, clock)
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        raise CellError(f"not a time: {shown(raw)} (write 09:00 or 2026-11-26 09:00)") from None


def items(cell: Cell, separator: str | None) -> list[str]:
    """The items of a list cell ("冷链、大件"), split on `separator` or on any common one."""
    raw = text(cell)
    parts = raw.split(separator) if separator else SEPARATORS.split(raw)
    return [part.strip() for part in parts if part.strip()]
