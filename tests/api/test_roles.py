"""Who may call what is said by a route's principal type (`api.deps`); in process, no server."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import errors
from api.auth import KeyRing, Principal
from api.deps import CallDesk, CourierReader, Planner, Reader, Reporter

KEYS = {"dispatcher": "kd", "planner": "kp", "service": "ks", "courier": "kc"}


GUARDS = {
    "/planner": Planner,
    "/reader": Reader,
    "/calls": CallDesk,
    "/report": Reporter,
    "/couriers/{courier_id}": CourierReader,
}


def _echo(guard: object) -> Callable[..., str]:
    """A route that answers with the caller's role, behind `guard` (a principal type)."""
    depends = get_args(guard)[1]

    def echo(principal: Principal = depends) -> str:
        return principal.role

    return echo


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)
    app.state.keys = KeyRing.parse("dispatcher:kd,planner:kp,service:ks,courier:c01:kc")
    for path, guard in GUARDS.items():
        app.add_api_route(path, _echo(guard))
    return TestClient(app)


ALLOWED = {
    "/planner": {"dispatcher", "planner"},
    "/reader": {"dispatcher", "planner", "service"},
    "/calls": {"dispatcher", "service"},
    "/report": {"dispatcher", "courier"},
    "/couriers/c01": {"dispatcher", "planner", "service", "courier"},
    "/couriers/c02": {"dispatcher", "planner", "service"},
}


@pytest.mark.parametrize("path", sorted(ALLOWED))
@pytest.mark.parametrize("role", sorted(KEYS))
def test_a_role_gets_in_only_where_it_is_allowed(client: TestClient, path: str, role: str) -> None:
    answer = client.get(path, headers={"X-API-Key": KEYS[role]})
    if role in ALLOWED[path]:
        assert answer.status_code == 200 and answer.json() == role
    else:
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_no_key_is_401_before_any_role_check(client: TestClient) -> None:
    assert client.get("/planner").status_code == 401
    assert client.get("/planner", headers={"X-API-Key": "nope"}).status_code == 401
