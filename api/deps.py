"""Typed dependencies: the service and the caller, injected per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from api.auth import KeyRing, Principal
from api.scenarios_service import ScenarioService
from api.service import PlanService

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key; its role decides access")


def get_service(request: Request) -> PlanService:
    service: PlanService = request.app.state.service
    return service


def get_principal(request: Request, key: Annotated[str | None, Depends(api_key_header)]) -> Principal:
    keys: KeyRing = request.app.state.keys
    return keys.authenticate(key)


def get_scenarios(request: Request) -> ScenarioService:
    scenarios: ScenarioService = request.app.state.scenarios
    return scenarios


ServiceDep = Annotated[PlanService, Depends(get_service)]
ScenariosDep = Annotated[ScenarioService, Depends(get_scenarios)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
