"""What every aggregate's repository functions share: ids, "now", checked values, rows turned
into records, and the two steps each of them repeats: read a row or raise NotFound, insert a
row or explain why the database refused it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.store.errors import Conflict, NotFound
from api.store.models import Base, PlanRow

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "UNSET",
    "Unset",
    "check",
    "get_row",
    "insert",
    "insert_or_error",
    "new_id",
    "now_utc",
    "record",
    "require_plan",
    "stored_error",
]


class Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = Unset.UNSET
"""Default of optional update arguments: "leave this column as it is" (None means SQL NULL)."""

_MAX_ERROR_LEN = 4000

_Record = TypeVar("_Record", bound="DataclassInstance")
_Row = TypeVar("_Row", bound=Base)


def new_id() -> str:
    """A fresh id: uuid4 hex."""
    return uuid.uuid4().hex


def now_utc() -> datetime:
    """The default of every wall-clock column: now, in UTC."""
    return datetime.now(UTC)


def record(cls: type[_Record], row: Base) -> _Record:
    """The frozen record of `row`: each field of `cls` read from the row's attribute of that name."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def stored_error(error: str | None) -> str | None:
    """An error text as it is stored: cut to its first 4000 characters."""
    return None if error is None else error[:_MAX_ERROR_LEN]


def check(value: str, allowed: Iterable[str], what: str) -> str:
    """`value` if it is one of `allowed`, else ValueError naming `what`."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def get_row(s: Session, model: type[_Row], key: str | int, what: str) -> _Row:
    """The row of `model` with this primary key; NotFound ("<what> <key> not found") if none."""
    row = s.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key} not found")
    return row


def require_plan(s: Session, plan_id: str) -> None:
    """NotFound unless the plan exists (reads only its id)."""
    if s.scalar(select(PlanRow.id).where(PlanRow.id == plan_id)) is None:
        raise NotFound(f"plan {plan_id} not found")


def insert_or_error(s: Session, row: Base) -> IntegrityError | None:
    """Insert `row` inside a SAVEPOINT. On an integrity error the savepoint is rolled back (the
    surrounding transaction stays usable, e.g. to read the row that won) and the error is
    returned."""
    s.flush()  # anything pending goes out first, outside the savepoint
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError as exc:
        return exc
    return None


def insert(s: Session, row: _Row, taken: Callable[[], str | None], *, plan_id: str | None = None) -> _Row:
    """Insert `row` (see `insert_or_error`) and return it. If the database refuses it, say why:
    `taken()` names the uniqueness rule the row broke (-> Conflict with that message) or returns
    None; then a missing plan `plan_id` -> NotFound; else the database's error is raised as is."""
    error = insert_or_error(s, row)
    if error is None:
        return row
    conflict = taken()
    if conflict is not None:
        raise Conflict(conflict) from error
    if plan_id is not None:
        require_plan(s, plan_id)
    raise error
