"""Typed dependencies: the service and the caller, injected per request, and the role checks.

A route states who may call it by the type of its principal: `Planner` (dispatcher,
planner), `Reader` (dispatcher, planner, customer service), `CallDesk` (dispatcher,
customer service), `Reporter` (courier, dispatcher), `CourierReader` (anyone but another
courier, for a path naming `courier_id`). A key without the role gets 403 `forbidden`.

All are `async def`: they only read the app's state, and a plain `def` dependency would cost
each request a hop to the thread pool and back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from api.auth import KeyRing, Principal, Role, require, require_courier_access
from api.plans.service import PlanService
from api.scenarios_service import ScenarioService

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key; its role decides access")


async def get_service(request: Request) -> PlanService:
    service: PlanService = request.app.state.service
    return service


async def get_principal(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> Principal:
    keys: KeyRing = request.app.state.keys
    return keys.authenticate(key)


async def get_scenarios(request: Request) -> ScenarioService:
    scenarios: ScenarioService = request.app.state.scenarios
    return scenarios


ServiceDep = Annotated[PlanService, Depends(get_service)]
ScenariosDep = Annotated[ScenarioService, Depends(get_scenarios)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def allow(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, if their role is one of `roles` (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        require(principal, *roles)
        return principal

    return check


async def courier_access(courier_id: str, principal: CurrentPrincipal) -> Principal:
    """The caller, unless a courier asks about another courier (403)."""
    require_courier_access(principal, courier_id)
    return principal


Planner = Annotated[Principal, Depends(allow("dispatcher", "planner"))]
Reader = Annotated[Principal, Depends(allow("dispatcher", "planner", "service"))]
CallDesk = Annotated[Principal, Depends(allow("dispatcher", "service"))]
Reporter = Annotated[Principal, Depends(allow("courier", "dispatcher"))]
CourierReader = Annotated[Principal, Depends(courier_access)]
