"""One error shape for every failure: {"error": {"code", "message", "details"}}.

Validation errors name the field and, where the body has one, the id of the object it is
in (`stops[3]` becomes `stops[o1003]`). Nothing else of an exception reaches a client.
"""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from api.store import Conflict, NotFound, StoreUnavailable
from optimizer.errors import InvalidProblem

log = logging.getLogger("ontime.api")

Code = Literal["invalid_input", "not_found", "forbidden", "infeasible", "conflict", "unavailable", "internal"]


class ApiError(Exception):
    def __init__(self, status: int, code: Code, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class ErrorDetail(BaseModel):
    field: str
    id: str
    message: str


class ErrorInfo(BaseModel):
    code: Code
    message: str
    details: list[ErrorDetail]


class ErrorOut(BaseModel):
    """The one error shape, documented in the OpenAPI schema for every status it can have."""

    error: ErrorInfo


RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (401, "`forbidden`: missing or unknown API key"),
        (403, "`forbidden`: the key's role may not do this"),
        (404, "`not_found`"),
        (405, "`not_found`: method not allowed (see the `Allow` header)"),
        (409, "`conflict` or `infeasible`"),
        (413, "`invalid_input`: request body too large"),
        (422, "`invalid_input`, naming the field and the id"),
        (503, "`unavailable`: the database or the solver pool cannot be reached; retry later"),
    )
}
"""Passed to `FastAPI(responses=...)`: replaces FastAPI's own 422 schema with the one shape."""


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def invalid(field: str, obj_id: str, message: str) -> ApiError:
    return ApiError(
        422,
        "invalid_input",
        f"{field}[{obj_id}]: {message}" if obj_id else f"{field}: {message}",
        [{"field": field, "id": obj_id, "message": message}],
    )


def _named_location(loc: tuple[Any, ...], body: Any) -> tuple[str, str]:
    """Turn ('body', 'problem', 'stops', 3, 'windows', 0, 'end') into ('problem.stops.windows.end', 'o1003')."""
    parts: list[str] = []
    obj_id = ""
    node = body
    for step in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(step, int):
            if isinstance(node, list) and 0 <= step < len(node):
                node = node[step]
                if isinstance(node, dict) and isinstance(node.get("id"), str):
                    obj_id = node["id"]
            continue
        parts.append(str(step))
        node = node.get(step) if isinstance(node, dict) else None
    if not obj_id and isinstance(body, dict):
        for key in ("event_id", "id"):
            if isinstance(body.get(key), str):
                obj_id = body[key]
                break
    return ".".join(parts) or "body", obj_id


def _owner_id(body: Any, path: dict[str, Any]) -> str:
    """For a field outside any object with an id: the problem's name, else the call or plan in the path."""
    problem = body.get("problem") if isinstance(body, dict) else None
    if isinstance(problem, dict) and isinstance(problem.get("name"), str):
        return str(problem["name"])
    return next((str(path[key]) for key in ("call_id", "plan_id") if path.get(key)), "")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        body = exc.body
        details = []
        for error in exc.errors()[:50]:
            field, obj_id = _named_location(tuple(error.get("loc", ())), body)
            obj_id = obj_id or _owner_id(body, request.path_params)
            details.append({"field": field, "id": obj_id, "message": str(error.get("msg", "invalid"))})
        first = details[0] if details else {"field": "body", "id": "", "message": "invalid"}
        where = f"{first['field']}[{first['id']}]" if first["id"] else first["field"]
        return JSONResponse(error_body("invalid_input", f"{where}: {first['message']}", details), status_code=422)

    @app.exception_handler(InvalidProblem)
    async def invalid_problem(_: Request, exc: InvalidProblem) -> JSONResponse:
        details = [{"field": i.field, "id": i.id, "message": i.message} for i in exc.issues]
        return JSONResponse(error_body("invalid_input", str(exc)[:500], details), status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(error_body("not_found", str(exc)), status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(error_body("conflict", str(exc)), status_code=409)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse(
            error_body("unavailable", "the database is unavailable; try again shortly"), status_code=503
        )

    @app.exception_handler(BrokenProcessPool)
    async def solver_pool_broken(_: Request, exc: BrokenProcessPool) -> JSONResponse:
        log.error("the solver pool is broken: %s", exc)
        return JSONResponse(error_body("unavailable", "the solver pool is unavailable; try again shortly"), 503)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. JSON nested too deep)
            detail = [{"field": "body", "id": "", "message": str(exc.detail)}]
            return JSONResponse(error_body("invalid_input", f"body: {exc.detail}", detail), status_code=422)
        code = {
            404: "not_found",
            401: "forbidden",
            403: "forbidden",
            405: "not_found",
            409: "conflict",
            413: "invalid_input",
        }.get(exc.status_code, "invalid_input")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette's Allow names only the first route on the path
            path = request.scope.get("path", "")
            paths: dict[str, Any] = request.app.openapi().get("paths", {})
            methods = {m.upper() for t, ops in paths.items() if compile_path(t)[0].fullmatch(path) for m in ops}
            if methods:
                headers["Allow"] = ", ".join(sorted(methods))
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "internal error; it has been logged"), status_code=500)
