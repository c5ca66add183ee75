"""What an import reports: every bad cell or row, where the dispatcher sees it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SHEET_ORDER = ("mapping", "depots", "couriers", "orders")
"""The order errors are listed in: what everything else depends on first."""


@dataclass(frozen=True, slots=True)
class SheetError:
    """One thing wrong with the input.

    `sheet` is the file's role (`orders`, `couriers`, `depots`, `mapping`); `row` the row number
    as Excel shows it (the header is row 1, the first data row 2; None: the whole file);
    `column` the column's header as the sheet has it (for the mapping file: the key);
    `field` and `id` the wire field and the row's id, where known.
    """

    sheet: str
    row: int | None
    column: str
    message: str
    field: str = ""
    id: str = ""

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.message}"

    def detail(self) -> dict[str, object]:
        """The error as one entry of the API's `details` (field and id, plus sheet, row and column)."""
        return {
            "field": self.field or self.column,
            "id": self.id,
            "message": self.message,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
        }


class SheetErrors(ValueError):
    """The input could not be read into a plan; `errors` lists every bad row at once.

    Raised instead of returning anything: a file with one bad row plans nothing."""

    def __init__(self, errors: Iterable[SheetError]) -> None:
        self.errors = tuple(_sorted_unique(errors))
        first = str(self.errors[0]) if self.errors else "nothing to import"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(first + more)


def _sorted_unique(errors: Iterable[SheetError]) -> list[SheetError]:
    """One error per cell (the first found: later ones are its consequences), by sheet and row."""
    seen: set[tuple[object, ...]] = set()
    kept: list[SheetError] = []
    for error in errors:
        key: tuple[object, ...] = (error.sheet, error.row, error.column)
        if error.row is None or not error.column:
            key += (error.message,)
        if key not in seen:
            seen.add(key)
            kept.append(error)
    rank = {name: i for i, name in enumerate(SHEET_ORDER)}
    return sorted(kept, key=lambda e: (rank.get(e.sheet, len(rank)), e.sheet, e.row or 0))
