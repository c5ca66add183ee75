"""The app factory (`uvicorn --factory api.main:create_app`): nothing is built at import."""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import errors
from api.auth import KeyRing
from api.outbox import OutboxWorker
from api.plans.service import PlanService
from api.routers import calls, console, events, health, imports, maps, plans
from api.routers.scenarios import router as scenarios_router
from api.scenarios_service import ScenarioService
from api.settings import Settings, get_settings
from api.store import Store
from api.sweep import Sweeper
from api.tasks import warm_up
from scenarios.executors import LocalExecutor, make_executor

log = logging.getLogger("ontime.api")

CONSOLE_DIR = Path(__file__).parent / "console"
POLISH_NICENESS = 10

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413 `invalid_input`, streamed or not."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        import json

        body = json.dumps(errors.error_body("invalid_input", f"request body over {self.limit} bytes")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    """An HTTPException, so FastAPI's body parsing lets it through (it turns others into 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    keys = KeyRing.parse(settings.api_keys)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.database_url)
        store.migrate()
        address = os.environ.get("RAY_ADDRESS")
        plans_executor = make_executor(settings.executor, settings.solver_workers, address)
        # An answer's re-optimization stays on this machine, whatever the executor: it has a
        # second, and a round trip to a cluster would spend part of it. Whole-day solves,
        # background improvements (longer than an answer may take) and what-if runs go to the
        # executor: the local pool or Ray.
        replan_executor = LocalExecutor(1)
        replica = settings.replica_id or socket.gethostname()
        outbox = OutboxWorker(store, settings.webhook_url, settings.webhook_timeout_s, replica=replica)
        polish = None
        if settings.polish_time_limit_s:
            # background improvement yields the cores to answering requests
            polish = plans_executor if settings.executor == "ray" else LocalExecutor(1, niceness=POLISH_NICENESS)
        service = PlanService(
            settings,
            store,
            plans_executor,
            outbox.wake,
            replan_executor=replan_executor,
            polish_executor=polish,
        )
        app.state.service = service
        app.state.scenarios = ScenarioService(settings, store, plans_executor, service.runtime.source)
        app.state.keys = keys
        outbox.start()
        threading.Thread(target=replan_executor.warm_up, args=(warm_up,), daemon=True).start()
        sweeper = Sweeper([("plans", service.resume), ("what-if runs", app.state.scenarios.resume)], settings.sweep_s)
        sweeper.start()
        # What start-up built lives as long as the server: keep it out of the collector's full
        # passes, which otherwise stop every request for 60-90 ms now and then (measured).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            sweeper.stop()
            service.stop()
            app.state.scenarios.stop()
            outbox.stop()
            plans_executor.shutdown()
            replan_executor.shutdown()
            if polish is not None and polish is not plans_executor:
                polish.shutdown()
            store.dispose()

    app = FastAPI(
        title="OnTime",
        version="0.1.0",
        summary="Courier routes that meet every booked window, kept true all day.",
        lifespan=lifespan,
        responses=errors.RESPONSES,
    )
    errors.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    for router in (
        health.router,
        plans.router,
        events.router,
        calls.router,
        console.router,
        imports.router,
        maps.router,
    ):
        app.include_router(router)
    app.include_router(scenarios_router)
    if CONSOLE_DIR.is_dir():
        app.mount("/console", StaticFiles(directory=CONSOLE_DIR, html=True), name="console")
    return app
