"""Sheets and a mapping into one wire problem (`ProblemIn`), or every bad row at once.

Three passes, each reporting by sheet, row and column:

1. cells: each mapped cell becomes its field's value (a number, a time in the mapping's zone...);
   ids are unique per sheet; a window, break or shift does not end before it starts;
2. shape: `ProblemIn.model_validate` on the whole problem; its errors (`stops[i]...`) are
   traced back to the row the object came from and the column the mapping gave its field;
3. meaning: `to_domain()` on the rows that passed (when every courier and depot did), its
   issues (a field and an id) traced back to the row with that id.

Nothing is returned unless all three pass: a sheet with one bad row plans nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from api.imports import cells
from api.imports.errors import SheetError, SheetErrors
from api.imports.mapping import ROLES, FieldMap, Loc, Mapping, SheetMapping, read_mapping, uncovered
from api.imports.sheets import Sheet, header_key, read_sheet
from api.schemas import ProblemIn
from optimizer.errors import InvalidProblem, ProblemIssue

SheetSource = Path | tuple[bytes, str]
"""A sheet as a path, or as its bytes and file name (an upload)."""

ORDERED = (("start", "end"), ("earliest_start", "latest_start"), ("shift_start", "shift_end"))
"""Time fields of one wire object that must not end before they start."""

ROLE_OF_FIELD = {wire: role for role, wire in ROLES.items()}


@dataclass
class BuiltRow:
    """One sheet row as a wire object, and where each of its fields came from."""

    number: int
    obj: dict[str, Any]
    columns: dict[Loc, str] = field(default_factory=dict)
    """The wire location of each field built (list positions as built) -> its column."""
    unplaced: dict[Loc, str] = field(default_factory=dict)
    """Mapped fields of list entries that were not built (all their cells blank) -> column."""
    reported: set[str] = field(default_factory=set)
    """Columns of this row already reported: what the later passes find there follows from it."""
    bad: bool = False

    @property
    def id(self) -> str:
        value = self.obj.get("id")
        return value if isinstance(value, str) else ""

    def column_for(self, loc: Loc) -> str:
        """The column behind `loc`, or behind the fields under it (several joined by " / ")."""
        for k in range(len(loc), 0, -1):
            if loc[:k] in self.columns:
                return self.columns[loc[:k]]
        under = [c for at, c in (*self.columns.items(), *self.unplaced.items()) if at[: len(loc)] == loc]
        return " / ".join(dict.fromkeys(c for c in under if c))


def import_problem(
    orders: SheetSource,
    couriers: SheetSource,
    mapping: SheetSource | Mapping,
    *,
    depots: SheetSource | None = None,
    day: date | None = None,
    name: str | None = None,
) -> ProblemIn:
    """Read the orders and couriers sheets (CSV or .xlsx) with a mapping file into a wire problem.

    `day` and `name` override the mapping's date and name (a mapping is reused day after day).
    Raises `SheetErrors` listing every bad row, with its sheet, row number and column."""
    if not isinstance(mapping, Mapping):
        mapping = read_mapping(*((mapping,) if isinstance(mapping, Path) else mapping))
    sources = {"orders": orders, "couriers": couriers}
    if mapping.depots_sheet is not None:
        if depots is None:
            raise SheetErrors([SheetError("depots", None, "", "the mapping reads depots from a sheet: give it")])
        sources["depots"] = depots
    errors: list[SheetError] = []
    sheets: dict[str, Sheet] = {}
    for role, sheet_map in mapping.sheets().items():
        source = sources[role]
        content, filename = (source, None) if isinstance(source, Path) else source
        try:
            sheets[role] = read_sheet(
                content, filename, role=role, sheet_name=sheet_map.sheet_name, header_row=sheet_map.header_row
            )
        except SheetErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise SheetErrors(errors)
    return build_problem(sheets, mapping, day=day, name=name)


def build_problem(
    sheets: dict[str, Sheet], mapping: Mapping, *, day: date | None = None, name: str | None = None
) -> ProblemIn:
    """The wire problem from sheets already read (by role); see `import_problem`."""
    return _Build(sheets, mapping, day or mapping.day, name).run()


class _Build:
    def __init__(self, sheets: dict[str, Sheet], mapping: Mapping, day: date | None, name: str | None) -> None:
        self.sheets = sheets
        self.mapping = mapping
        self.day = day
        self.zone = mapping.zone
        self.errors: list[SheetError] = []
        self.rows: dict[str, list[BuiltRow]] = {}
        plan_name = name or mapping.name or "import-{date}"
        self.name = plan_name.replace("{date}", day.isoformat() if day else "").strip("-") or "import"

    def error(self, sheet: str, row: int | None, column: str, message: str, fld: str = "", obj_id: str = "") -> None:
        self.errors.append(SheetError(sheet, row, column, message, fld, obj_id))

    def run(self) -> ProblemIn:
        for role, sheet_map in self.mapping.sheets().items():
            self.rows[role] = self.read(self.sheets[role], self.with_defaults(sheet_map))
        try:
            wire: ProblemIn | None = ProblemIn.model_validate(self.problem(keep_bad=True))
        except ValidationError as exc:
            self.shape_errors(exc)
            wire = None
        if self.checkable():
            self.check_meaning()
        if self.errors:
            raise SheetErrors(self.errors)
        assert wire is not None
        return wire

    # --- pass 1: cells ----------------------------------------------------------------------

    def with_defaults(self, sheet_map: SheetMapping) -> SheetMapping:
        """A courier's depot is the one depot when the mapping gives no depot column."""
        if sheet_map.role == "couriers" and not sheet_map.feeds("depot") and len(self.mapping.depots) == 1:
            depot_id = self.mapping.depots[0].get("id")
            implied = FieldMap("depot", ("depot",), "str", value=depot_id)
            return replace(sheet_map, fields=(*sheet_map.fields, implied))
        return sheet_map

    def read(self, sheet: Sheet, sheet_map: SheetMapping) -> list[BuiltRow]:
        role = sheet.role
        missing = uncovered(sheet_map.model, [f.loc for f in sheet_map.fields])
        for name in missing:
            self.error("mapping", None, f"{role}.columns.{name}", "a required field: map it to a column")
        if missing:
            return []  # every row would miss it: the mapping is what to fix
        present: list[tuple[FieldMap, int | None]] = []
        absent: set[str] = set()
        for fmap in sheet_map.fields:
            index = None
            if fmap.column is not None:
                index = sheet.column(fmap.column)
                problem = None
                if index is None:
                    problem = f"{sheet.filename} has no column {fmap.column!r}"
                elif sheet.columns_named(fmap.column) > 1:
                    problem = "two columns have this name"
                if problem is not None:
                    self.error(role, sheet.header_row, fmap.column, problem)
                    absent.add(fmap.column)  # reported once, at the header, not on every row
                    index = None
            present.append((fmap, index))
        built: list[BuiltRow] = []
        for row in sheet.rows:
            mapped = [row.cells[i] for _, i in present if i is not None]
            if mapped and all(cells.blank(c) for c in mapped):
                continue  # a row with nothing in the mapped columns (formatting, a spacer)
            built.append(self.row(role, row.number, row.cells, present, absent))
        self.unique_ids(role, built, sheet_map)
        return built

    def row(
        self,
        role: str,
        number: int,
        row_cells: tuple[Any, ...],
        present: list[tuple[FieldMap, int | None]],
        absent: set[str],
    ) -> BuiltRow:
        obj: dict[str, Any] = {}
        columns: dict[Loc, str] = {}
        reported: set[str] = set()
        for fmap, index in present:
            column = fmap.column or ""
            columns[fmap.loc] = column
            cell = row_cells[index] if index is not None else None
            raw = fmap.value if cells.blank(cell) else cell
            if cells.blank(raw):
                continue
            try:
                value = self.convert(raw, fmap)
            except cells.NoDate as exc:
                self.error("mapping", None, "date", str(exc))
                reported.add(column)
                continue
            except cells.CellError as exc:
                self.error(role, number, column, str(exc), _dotted(role, fmap), _id_of(row_cells, present))
                reported.add(column)
                continue
            _put(obj, fmap.loc, value)
        renumbered = _compact(obj)
        built = BuiltRow(number, obj, reported=reported | absent, bad=bool(reported))
        for loc, column in columns.items():
            placed = renumbered(loc)
            if placed is None:
                built.unplaced[loc] = column
            else:
                built.columns[placed] = column
        self.in_order(role, built)
        return built

    def convert(self, raw: Any, fmap: FieldMap) -> Any:
        if fmap.values:
            words = {header_key(w): v for w, v in fmap.values}
            word = header_key(cells.text(raw))
            if word not in words:
                raise cells.CellError(f"{cells.shown(raw)} is not one of {', '.join(w for w, _ in fmap.values)}")
            raw = words[word]
        kind = fmap.kind
        if kind == "list":
            return [self.convert_one(piece, fmap.item_kind or "str") for piece in cells.items(raw, fmap.separator)]
        return self.convert_one(raw, kind)

    def convert_one(self, raw: Any, kind: str) -> Any:
        if kind == "int":
            return cells.number(raw, whole=True)
        if kind == "float":
            return cells.number(raw, whole=False)
        if kind == "bool":
            return cells.boolean(raw)
        if kind == "datetime":
            return cells.local_time(raw, self.day, self.zone)
        return cells.text(raw)

    def in_order(self, role: str, row: BuiltRow) -> None:
        """Windows, breaks and shifts whose end is before their start, at the end's column."""

        def walk(node: Any, at: Loc) -> None:
            if isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, (*at, i))
                return
            if not isinstance(node, dict):
                return
            for first, last in ORDERED:
                if isinstance(node.get(first), str) and isinstance(node.get(last), str):
                    begins, ends = datetime.fromisoformat(node[first]), datetime.fromisoformat(node[last])
                    if ends < begins:
                        column = row.column_for((*at, last))
                        row.reported.add(column)
                        self.error(
                            role,
                            row.number,
                            column,
                            f"{_clock(ends, begins)} is before {row.column_for((*at, first)) or first} "
                            f"{_clock(begins, ends)}",
                            ".".join([ROLES[role], *(str(p) for p in at if isinstance(p, str)), last]),
                            row.id,
                        )
                        row.bad = True
            for key, value in node.items():
                walk(value, (*at, key))

        walk(row.obj, ())

    def unique_ids(self, role: str, built: list[BuiltRow], sheet_map: SheetMapping) -> None:
        first_at: dict[str, int] = {}
        column = next((f.column or "" for f in sheet_map.fields if f.loc == ("id",)), "")
        for row in built:
            if not row.id:
                continue
            if row.id in first_at:
                message = f"duplicate id {row.id} (also row {first_at[row.id]})"
                self.error(role, row.number, column, message, f"{ROLES[role]}.id", row.id)
                row.reported.add(column)
                row.bad = True
            else:
                first_at[row.id] = row.number

    # --- pass 2: shape ----------------------------------------------------------------------

    def problem(self, *, keep_bad: bool) -> dict[str, Any]:
        problem: dict[str, Any] = {**self.mapping.problem, "name": self.name}
        if self.mapping.depots_sheet is None:
            problem["depots"] = [dict(d) for d in self.mapping.depots]
        for role, rows in self.rows.items():
            problem[ROLES[role]] = [r.obj for r in rows if keep_bad or not r.bad]
        return problem

    def shape_errors(self, exc: ValidationError) -> None:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = _message(error)
            if len(loc) >= 2 and loc[0] in ROLE_OF_FIELD and isinstance(loc[1], int):
                self.located_error(str(loc[0]), loc[1], loc[2:], message)
            elif len(loc) == 1 and loc[0] in ROLE_OF_FIELD and ROLE_OF_FIELD[str(loc[0])] in self.rows:
                role = ROLE_OF_FIELD[str(loc[0])]
                if error["type"] == "too_short" and not self.rows[role]:
                    message = "the sheet has no rows"
                self.error(role, None, "", message, str(loc[0]))
            else:
                self.error("mapping", None, ".".join(map(str, loc)) or "problem", message, ".".join(map(str, loc)))

    def located_error(self, wire_field: str, index: int, rest: Loc, message: str) -> None:
        role = ROLE_OF_FIELD[wire_field]
        dotted = ".".join([wire_field, *(str(p) for p in rest if isinstance(p, str)), ""]).rstrip(".")
        if role not in self.rows:  # inline depots of the mapping
            where = ".".join([role, str(index + 1), *(str(p) for p in rest)])
            self.error("mapping", None, where, message, dotted)
            return
        rows = self.rows[role]
        if not 0 <= index < len(rows):
            self.error(role, None, "", message, dotted)
            return
        row = rows[index]
        row.bad = True
        column = row.column_for(rest)
        if row.reported & set(column.split(" / ")):
            return  # a cell of it was already reported: this follows from that
        self.error(role, row.number, column, message, dotted, row.id)

    # --- pass 3: meaning --------------------------------------------------------------------

    def checkable(self) -> bool:
        """Whether the good rows can be checked for meaning: every courier and depot row
        passed (without them, stops would be reported for what is the couriers' fault)."""
        return not any(r.bad for role in ("couriers", "depots") for r in self.rows.get(role, []))

    def check_meaning(self) -> None:
        """`to_domain()` on the rows without errors, again without those it finds wrong until it
        finds none: the domain checks each object first and the references between them after."""
        for _ in range(4):
            try:
                ProblemIn.model_validate(self.problem(keep_bad=False)).to_domain()
                return
            except ValidationError:
                return  # only what the bad rows already explain (a list left empty...)
            except InvalidProblem as exc:
                if not self.meaning_errors(exc.issues):
                    return

    def meaning_errors(self, issues: Iterable[ProblemIssue]) -> bool:
        """Report the issues at their rows; whether any row was newly found wrong."""
        marked = False
        found = list(issues)
        named = [i for i in found if i.id]  # an issue without an id comes with one that has it
        for issue in named or found:
            wire_field, _, rest = issue.field.partition(".")
            role = ROLE_OF_FIELD.get(wire_field)
            rows = [r for r in self.rows.get(role or "", []) if r.id == issue.id]
            if role is None or not rows:
                where = f"{issue.field}[{issue.id}]" if issue.id else issue.field
                sheet = "mapping" if role is None else role
                self.error(sheet, None, "", f"{where}: {issue.message}", issue.field, issue.id)
                continue
            path = tuple(p for p in rest.split(".") if p)
            for row in rows:
                self.error(role, row.number, _column_of_path(row, path), issue.message, issue.field, issue.id)
                marked = marked or not row.bad
                row.bad = True
        return marked


def _column_of_path(row: BuiltRow, path: tuple[str, ...]) -> str:
    """The column(s) feeding a wire field named without list positions (`windows.end`)."""
    under = [c for at, c in row.columns.items() if tuple(p for p in at if isinstance(p, str))[: len(path)] == path]
    return " / ".join(dict.fromkeys(c for c in under if c))


def _put(obj: dict[str, Any], loc: Loc, value: Any) -> None:
    """Set `value` at `loc`; list positions become dict keys until `_compact` makes lists."""
    node: dict[Any, Any] = obj
    for step, following in itertools.pairwise(loc):
        child = node.get(step)
        if child is None:
            child = _Items() if isinstance(following, int) else {}
            node[step] = child
        node = child
    node[loc[-1]] = value


class _Items(dict[int, Any]):
    """A wire list while a row is built: its entries by the mapping's position."""


def _compact(obj: dict[str, Any]) -> Callable[[Loc], Loc | None]:
    """Turn every `_Items` into a list of its entries in order (a window with no cells filled
    is no window) and answer where a location built with the mapping's positions now lies."""
    moved: dict[Loc, dict[int, int]] = {}

    def walk(node: Any, at: Loc) -> Any:
        if isinstance(node, _Items):
            order = sorted(node)
            moved[at] = {old: new for new, old in enumerate(order)}
            return [walk(node[old], (*at, old)) for old in order]
        if isinstance(node, dict):
            for key in list(node):
                node[key] = walk(node[key], (*at, key))
        return node

    walk(obj, ())

    def renumbered(loc: Loc) -> Loc | None:
        out: list[str | int] = []
        for i, step in enumerate(loc):
            if isinstance(step, int):
                positions = moved.get(tuple(loc[:i]))
                if positions is None or step not in positions:
                    return None  # an entry with every cell blank: not built
                out.append(positions[step])
            else:
                out.append(step)
        return tuple(out)

    return renumbered


def _message(error: Any) -> str:
    if error.get("type") == "missing":
        return "missing: the cell is empty"
    message = str(error.get("msg", "invalid"))
    given = error.get("input")
    if isinstance(given, str | int | float) and not isinstance(given, bool):
        message += f" (got {cells.shown(cells.text(given))})"
    return message


def _dotted(role: str, fmap: FieldMap) -> str:
    return ".".join([ROLES[role], *fmap.path])


def _id_of(row_cells: tuple[Any, ...], present: list[tuple[FieldMap, int | None]]) -> str:
    for fmap, index in present:
        if fmap.loc == ("id",) and index is not None and not cells.blank(row_cells[index]):
            return cells.text(row_cells[index])
    return ""


def _clock(moment: datetime, other: datetime) -> str:
    """HH:MM when both times fall on one day, else the date too."""
    return moment.strftime("%H:%M" if moment.date() == other.date() else "%Y-%m-%d %H:%M")
