"""The mapping file (TOML): the plan's name, time zone and date, its depots, and which column of
the orders and couriers sheets feeds which field of the wire problem (`api.schemas.ProblemIn`).

    name = "pudong-{date}"
    timezone = "Asia/Shanghai"
    date = 2026-11-26

    [[depots]]
    id = "hub"
    lat = 31.2204
    lon = 121.5447

    [orders.columns]
    id = "运单号"
    lat = "纬度"
    windows.1.start = "预约开始"                    # the first booked window
    demand.weight_kg = "重量(kg)"
    service_min = { column = "服务时长(分钟)", default = 4 }
    skills = { column = "技能", separator = "、" }  # a list field: items split on the separator
    kind = { column = "类型", values = { "派送" = "delivery", "揽收" = "pickup" } }

    [couriers.columns]
    id = "工号"
    shift_start = "上班"
    capacity.parcels = { value = 60 }              # the same for every row

Field names are the wire's, found in the wire models themselves: any field of a stop or a
courier can be mapped, numbered from 1 where the wire has a list (`windows.2.end`,
`breaks.1.duration_min`). The value's kind (text, whole number, number, yes/no, time, list)
comes from the field's type. `[depots.columns]` instead of `[[depots]]` reads depots from a
sheet of their own; `[problem]` holds other fields of the problem as in the JSON (e.g. `costs`).
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from api.imports.cells import Kind
from api.imports.errors import SheetError, SheetErrors
from api.schemas import ProblemIn

Loc = tuple[str | int, ...]

ROLES = {"orders": "stops", "couriers": "couriers", "depots": "depots"}
"""Each sheet's role and the field of the wire problem its rows become."""

TOP_KEYS = ("name", "timezone", "date", "depots", "orders", "couriers", "problem")
SHEET_KEYS = ("columns", "sheet", "header_row")
SPEC_KEYS = frozenset({"column", "value", "default", "separator", "values"})


@dataclass(frozen=True, slots=True)
class FieldMap:
    """One wire field of a sheet's rows: fed by `column`, or `value` for every row (or for a
    blank cell, as its default)."""

    key: str
    """As written in the mapping: `windows.1.start`."""
    loc: Loc
    """Where it goes in the row's wire object: ("windows", 0, "start")."""
    kind: Kind
    item_kind: Kind | None = None
    column: str | None = None
    value: Any = None
    separator: str | None = None
    values: tuple[tuple[str, Any], ...] = ()
    """The sheet's words for the wire's values (`"揽收" -> "pickup"`): a cell must be one of them."""

    @property
    def path(self) -> tuple[str, ...]:
        """The wire field without list positions: ("windows", "start")."""
        return tuple(p for p in self.loc if isinstance(p, str))


@dataclass(frozen=True, slots=True)
class SheetMapping:
    role: str
    model: type[BaseModel]
    fields: tuple[FieldMap, ...]
    sheet_name: str | None = None
    header_row: int = 1

    def feeds(self, name: str) -> bool:
        return any(f.loc[0] == name for f in self.fields)


@dataclass(frozen=True, slots=True)
class Mapping:
    filename: str
    zone_name: str
    name: str | None = None
    day: date | None = None
    depots: tuple[dict[str, Any], ...] = ()
    """Inline `[[depots]]`; empty when `depots_sheet` reads them from a sheet."""
    depots_sheet: SheetMapping | None = None
    orders: SheetMapping | None = None
    couriers: SheetMapping | None = None
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def sheets(self) -> dict[str, SheetMapping]:
        found = {"orders": self.orders, "couriers": self.couriers, "depots": self.depots_sheet}
        return {role: sheet for role, sheet in found.items() if sheet is not None}


def read_mapping(source: Path | bytes | str, filename: str = "mapping.toml") -> Mapping:
    """Read and check a mapping file; every mistake in it is reported at once (`SheetErrors`,
    sheet "mapping", the column being the key)."""
    if isinstance(source, Path):
        filename = source.name
        try:
            source = source.read_bytes()
        except OSError as exc:
            raise SheetErrors([_error("", f"cannot read {filename}: {exc.strerror or exc}")]) from None
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SheetErrors([_error("", f"{filename} is not UTF-8 text")]) from None
    try:
        raw = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise SheetErrors([_error("", f"{filename} is not valid TOML: {exc}")]) from None
    return _Reader(filename).mapping(raw)


def _error(key: str, message: str) -> SheetError:
    return SheetError("mapping", None, key, message)


class _Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.errors: list[SheetError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(_error(key, message))

    def mapping(self, raw: dict[str, Any]) -> Mapping:
        for key in raw:
            if key not in TOP_KEYS:
                self.fail(key, f"unknown key (known: {', '.join(TOP_KEYS)})")
        zone_name = self.zone(raw.get("timezone"))
        day = self.day(raw.get("date"))
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            self.fail("name", "must be text")
            name = None
        problem = raw.get("problem", {})
        if not isinstance(problem, dict):
            self.fail("problem", "must be a table of the problem's fields")
            problem = {}
        for key in problem:
            if key in ("name", "depots", "couriers", "stops"):
                self.fail(f"problem.{key}", f"{key} comes from the mapping's own keys and sheets, not [problem]")
            elif key not in ProblemIn.model_fields:
                self.fail(f"problem.{key}", f"the problem has no field {key!r}")
        orders = self.sheet(raw, "orders", required=True)
        couriers = self.sheet(raw, "couriers", required=True)
        inline: tuple[dict[str, Any], ...] = ()
        depots_sheet = None
        depots = raw.get("depots")
        if isinstance(depots, list) and depots and all(isinstance(d, dict) for d in depots):
            inline = tuple(depots)
        elif isinstance(depots, dict):
            depots_sheet = self.sheet(raw, "depots", required=True)
        else:
            self.fail("depots", "give the depots as [[depots]] tables (id, lat, lon) or a sheet with [depots.columns]")
        if self.errors:
            raise SheetErrors(self.errors)
        return Mapping(
            self.filename,
            zone_name,
            name,
            day,
            inline,
            depots_sheet,
            orders,
            couriers,
            {k: v for k, v in problem.items() if k in ProblemIn.model_fields},
        )

    def zone(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            self.fail("timezone", 'name the time zone the sheets\' times are in, e.g. "Asia/Shanghai"')
            return "UTC"
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail("timezone", f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)")
            return "UTC"
        return value

    def day(self, value: Any) -> date | None:
        if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.fail("date", "the plan's date, as 2026-11-26")
        return None

    def sheet(self, raw: dict[str, Any], role: str, *, required: bool) -> SheetMapping | None:
        table = raw.get(role)
        model = _row_model(role)
        if not isinstance(table, dict) or not isinstance(table.get("columns"), dict):
            if required:
                self.fail(f"{role}.columns", f"say which column feeds which field: a [{role}.columns] table")
            return None
        for key in table:
            if key not in SHEET_KEYS:
                self.fail(f"{role}.{key}", f"unknown key (known: {', '.join(SHEET_KEYS)})")
        sheet_name = table.get("sheet")
        if sheet_name is not None and not isinstance(sheet_name, str):
            self.fail(f"{role}.sheet", "the name of the Excel sheet, as text")
            sheet_name = None
        header_row = table.get("header_row", 1)
        if not isinstance(header_row, int) or isinstance(header_row, bool) or not 1 <= header_row <= 100:
            self.fail(f"{role}.header_row", "the row holding the column names, 1 to 100")
            header_row = 1
        fields = []
        for key, spec in _flatten(table["columns"]):
            made = self.field(role, model, key, spec)
            if made is not None:
                fields.append(made)
        return SheetMapping(role, model, tuple(fields), sheet_name, header_row)

    def field(self, role: str, model: type[BaseModel], key: str, spec: Any) -> FieldMap | None:
        where = f"{role}.columns.{key}"
        if isinstance(spec, str):
            spec = {"column": spec}
        if not isinstance(spec, dict) or not spec.keys() <= SPEC_KEYS or not ("column" in spec or "value" in spec):
            self.fail(where, 'a column name, or a table such as { column = "重量", default = 0 } or { value = 4 }')
            return None
        column = spec.get("column")
        if column is not None and (not isinstance(column, str) or not column.strip()):
            self.fail(where, "the column name must be text")
            return None
        separator = spec.get("separator")
        if separator is not None and (not isinstance(separator, str) or not separator):
            self.fail(where, "the separator must be text")
            return None
        try:
            loc, kind, item_kind = resolve(model, key)
        except KeyError as exc:
            self.fail(where, str(exc.args[0]))
            return None
        if separator is not None and kind != "list":
            self.fail(where, "only a list field takes a separator")
        words = spec.get("values", {})
        if "values" in spec and (not isinstance(words, dict) or not words):
            self.fail(where, 'values translate the sheet\'s words: { "揽收" = "pickup", "派送" = "delivery" }')
            words = {}
        value = spec.get("value", spec.get("default"))
        if isinstance(value, datetime | date | time):
            value = value.isoformat() if not isinstance(value, time) else value.strftime("%H:%M:%S")
        column = column.strip() if column else None
        return FieldMap(key, loc, kind, item_kind, column, value, separator, tuple(words.items()))


def _flatten(table: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`windows.1.start = "x"` parses as nested tables; a spec table is a leaf."""
    found: list[tuple[str, Any]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not (value.keys() & SPEC_KEYS):
            found.extend(_flatten(value, name + "."))
        else:
            found.append((name, value))
    return found


def _row_model(role: str) -> type[BaseModel]:
    model = _unwrap(ProblemIn.model_fields[ROLES[role]].annotation)
    args = get_args(model)
    assert args and isinstance(args[0], type) and issubclass(args[0], BaseModel)
    return args[0]


def _unwrap(tp: Any) -> Any:
    """The type inside Annotated[...] and Optional[...]."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif get_origin(tp) in (typing.Union, types.UnionType):
            inner = [a for a in get_args(tp) if a is not type(None)]
            if len(inner) != 1:
                return tp
            tp = inner[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def scalar_kind(tp: Any) -> Kind | None:
    tp = _unwrap(tp)
    if get_origin(tp) is Literal:
        values = get_args(tp)
        if all(isinstance(v, bool) for v in values):
            return "bool"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "int"
        return "str"
    for python_type, kind in ((bool, "bool"), (int, "int"), (float, "float"), (datetime, "datetime"), (str, "str")):
        if tp is python_type:
            return kind  # type: ignore[return-value]
    return None


def resolve(model: type[BaseModel], key: str) -> tuple[Loc, Kind, Kind | None]:
    """Where `key` (`windows.1.start`) goes in a row of `model`, and the kind of its value.
    Raises KeyError with a message naming what is wrong."""
    parts = key.split(".")
    loc: list[str | int] = []
    tp: Any = model
    for i, part in enumerate(parts):
        tp = _unwrap(tp)
        named = ".".join(parts[:i]) or model.__name__.removesuffix("In").lower()
        if _is_model(tp):
            if part not in tp.model_fields:
                known = ", ".join(tp.model_fields)
                raise KeyError(f"{named} has no field {part!r} (it has {known})")
            loc.append(part)
            tp = tp.model_fields[part].annotation
        elif get_origin(tp) is list:
            if not part.isdigit() or not 1 <= int(part) <= 100:
                raise KeyError(f"{named} is a list: number its entries from 1, e.g. {named}.1")
            loc.append(int(part) - 1)
            tp = get_args(tp)[0]
        elif get_origin(tp) is dict:
            loc.append(part)
            tp = get_args(tp)[1]
        else:
            raise KeyError(f"{named} has no parts")
    tp = _unwrap(tp)
    named = key
    if _is_model(tp):
        raise KeyError(f"{named} is a group: map its fields ({', '.join(f'{named}.{f}' for f in tp.model_fields)})")
    if get_origin(tp) is dict:
        raise KeyError(f"{named} holds amounts by name: map each, e.g. {named}.weight_kg")
    if get_origin(tp) in (list, set, frozenset, tuple):
        item = get_args(tp)[0] if get_args(tp) else str
        item_kind = scalar_kind(item)
        if item_kind is None:
            raise KeyError(f"{named} is a list of groups: number its entries from 1, e.g. {named}.1")
        return tuple(loc), "list", item_kind
    kind = scalar_kind(tp)
    if kind is None:
        raise KeyError(f"{named} cannot be read from a cell")
    return tuple(loc), kind, None


def uncovered(model: type[BaseModel], locs: list[Loc], prefix: str = "") -> list[str]:
    """The required fields of `model` that no mapped location feeds (`windows.2.end` where only
    `windows.2.start` is mapped)."""
    missing: list[str] = []
    for name, info in model.model_fields.items():
        inner = [loc[1:] for loc in locs if loc and loc[0] == name]
        if not inner:
            if info.is_required():
                missing.append(prefix + name)
            continue
        tp = _unwrap(info.annotation)
        if _is_model(tp):
            missing.extend(uncovered(tp, inner, f"{prefix}{name}."))
        elif get_origin(tp) is list and _is_model(_unwrap(get_args(tp)[0])):
            item = _unwrap(get_args(tp)[0])
            for index in sorted({loc[0] for loc in inner if loc and isinstance(loc[0], int)}):
                entry = [loc[1:] for loc in inner if loc and loc[0] == index]
                missing.extend(uncovered(item, entry, f"{prefix}{name}.{index + 1}."))
    return missing
