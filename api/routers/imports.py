"""Imports: a day from what dispatchers have (an orders sheet, a couriers sheet, a mapping file)
as the wire problem, to post to `POST /v1/plans`; or every bad row, and nothing planned."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import Planner
from api.errors import ApiError
from api.imports import SheetError, SheetErrors, import_problem, read_mapping, template_texts
from api.schemas import ProblemIn, Wire

router = APIRouter(prefix="/v1/imports", tags=["imports"])

MAX_FILE_CHARS = 12_000_000
"""Base64 characters of one file; the request body limit (ONTIME_MAX_BODY_BYTES) binds first."""


class SheetFileIn(Wire):
    """A file as the browser read it: its name (its kind: .csv, .xlsx, .toml) and its bytes in base64."""

    filename: Annotated[str, Field(min_length=1, max_length=200)]
    content_base64: Annotated[str, Field(max_length=MAX_FILE_CHARS)]


class ImportIn(Wire):
    orders: SheetFileIn
    couriers: SheetFileIn
    mapping: SheetFileIn
    depots: SheetFileIn | None = Field(None, description="the depots sheet, when the mapping reads depots from one")
    date: dt.date | None = Field(None, description="the plan's date for times given as HH:MM (default: the mapping's)")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="the plan's name (default: the mapping's)"
    )


class TemplateFileOut(BaseModel):
    name: str
    text: str


class TemplatesOut(BaseModel):
    files: list[TemplateFileOut]


@router.post("/problem", response_model=ProblemIn)
def import_day(body: ImportIn, principal: Planner) -> ProblemIn:
    """Read an orders sheet and a couriers sheet (CSV in UTF-8 or GB18030, or .xlsx) with a mapping
    file (TOML; see `GET /v1/imports/templates`) into the wire problem (dispatcher, planner).
    Any bad row: 422 `invalid_input` whose `details` list every one with `sheet`, `row` (as
    Excel numbers it: the header is row 1), `column`, and the wire `field` and row `id`."""
    try:
        files = {role: _decoded(role, f) for role, f in _files(body).items()}
        mapping = read_mapping(files["mapping"][0], files["mapping"][1])
        return import_problem(
            files["orders"],
            files["couriers"],
            mapping,
            depots=files.get("depots"),
            day=body.date,
            name=body.name,
        )
    except SheetErrors as exc:
        raise _refused(exc) from None


@router.get("/templates", response_model=TemplatesOut)
def templates(principal: Planner) -> TemplatesOut:
    """The example orders and couriers sheets and their mapping file, to start from."""
    return TemplatesOut(files=[TemplateFileOut(name=n, text=t) for n, t in template_texts().items()])


def _files(body: ImportIn) -> dict[str, SheetFileIn]:
    files = {"orders": body.orders, "couriers": body.couriers, "mapping": body.mapping}
    if body.depots is not None:
        files["depots"] = body.depots
    return files


def _decoded(role: str, upload: SheetFileIn) -> tuple[bytes, str]:
    try:
        return base64.b64decode(upload.content_base64, validate=True), upload.filename
    except (binascii.Error, ValueError):
        raise SheetErrors([SheetError(role, None, "", f"{upload.filename}: content_base64 is not base64")]) from None


def _refused(exc: SheetErrors) -> ApiError:
    count = len(exc.errors)
    message = f"{count} problem{'s' if count != 1 else ''} in the sheets, nothing imported; first: {exc.errors[0]}"
    return ApiError(422, "invalid_input", message[:500], [e.detail() for e in exc.errors[:1000]])
