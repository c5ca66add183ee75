"""Liveness and readiness: the store must answer."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ServiceDep

router = APIRouter(prefix="/v1", tags=["health"])


class Health(BaseModel):
    status: str
    store: str
    executor: str


@router.get("/health", response_model=Health)
def health(service: ServiceDep) -> Health:
    """`200` when the service and its store work; `503 unavailable` when the store does not."""
    service.store.ping()
    return Health(status="ok", store="ok", executor=service.executor.name)
