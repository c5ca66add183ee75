"""Import what dispatchers have: orders and couriers sheets (CSV or Excel) with a mapping file
into the wire problem (`api.schemas.ProblemIn`), or every bad row at once.

    sheets.py    CSV (UTF-8, GB18030...) and .xlsx into a header and numbered rows of cells
    mapping.py   the mapping file (TOML): name, time zone, date, depots, column -> wire field
    cells.py     a cell into its field's value: numbers, yes/no, lists, local times
    problem.py   the three passes (cells, shape, meaning) and the errors traced to rows
    errors.py    `SheetError` (sheet, row, column, message) and `SheetErrors`
    templates/   orders.csv, couriers.csv and mapping.toml to start from (`ontime plan --template`)
"""

from __future__ import annotations

from pathlib import Path

from api.imports.errors import SheetError, SheetErrors
from api.imports.mapping import Mapping, read_mapping
from api.imports.problem import SheetSource, build_problem, import_problem
from api.imports.sheets import Sheet, read_sheet

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_FILES = ("orders.csv", "couriers.csv", "mapping.toml")


def template_texts() -> dict[str, str]:
    """The shipped templates by file name."""
    return {name: (TEMPLATES / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES}


def write_templates(folder: Path) -> list[Path]:
    """Copy the templates into `folder` (made if need be); a file already there is never
    overwritten (FileExistsError): it may be a mapping someone has edited."""
    targets = [folder / name for name in TEMPLATE_FILES]
    for target in targets:
        if target.exists():
            raise FileExistsError(f"{target} exists: choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in zip(TEMPLATE_FILES, targets):
        target.write_bytes((TEMPLATES / name).read_bytes())
    return targets


__all__ = [
    "TEMPLATES",
    "TEMPLATE_FILES",
    "Mapping",
    "Sheet",
    "SheetError",
    "SheetErrors",
    "SheetSource",
    "build_problem",
    "import_problem",
    "read_mapping",
    "read_sheet",
    "template_texts",
    "write_templates",
]
