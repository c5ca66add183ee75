"""Input limits: every refused request is 422 `invalid_input` (413 for an oversized body) in
the one error shape, names the field and the id, and writes nothing.

Each case goes through a real server; before and after, the store itself is counted (plans,
events, audit entries, calls, outbox messages, plan versions) and must be unchanged.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.reliability.support import DAY, SharedDay, StoreCounts

pytestmark = [pytest.mark.xdist_group("reliability-shared")]

Body = dict[str, Any]
Change = Callable[[Body], None]


def problem_name(body: Body) -> str:
    """Plan-level fields are named with the problem's name (the plan has no id yet)."""
    return str(body["problem"]["name"])


@pytest.fixture
def nothing_written(shared: SharedDay) -> Iterator[None]:
    before = StoreCounts.of(shared.managed.store())
    yield
    assert StoreCounts.of(shared.managed.store()) == before, "a refused request left something in the store"


def refused(answer: httpx.Response, field: str, obj_id: str | None, status: int = 422) -> dict[str, Any]:
    """Assert the one error shape, naming `field` (a suffix of the dotted path) and `obj_id`."""
    assert answer.status_code == status, answer.text[:500]
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    assert error["code"] == "invalid_input"
    if status == 422:
        named = [d for d in error["details"] if field in d["field"]]
        assert named, f"no detail names {field}: {error['details']}"
        if obj_id is not None:
            assert any(d["id"] == obj_id for d in named), f"no detail names id {obj_id}: {named}"
            assert obj_id in error["message"] or not obj_id
    assert "Traceback" not in answer.text
    return error


def plan_body(day: Body, **extra: Any) -> Body:
    return {"problem": copy.deepcopy(day), "time_limit_s": 1, **extra}


def raw_post(client: httpx.Client, path: str, text: str) -> httpx.Response:
    """Send JSON text as is (NaN, Infinity and 1e400 are not what `json=` would send)."""
    return client.post(path, content=text.encode(), headers={"Content-Type": "application/json"})


# -- plan bodies -------------------------------------------------------------------------


def stop(k: int) -> Callable[[Body], Body]:
    return lambda b: b["problem"]["stops"][k]


PLAN_CASES: list[tuple[str, Change, str, str | Callable[[Body], str]]] = [
    # (what, change, field named, id named)
    ("latitude above 90", lambda b: stop(3)(b).update(lat=90.0001), "stops.lat", "o0004"),
    ("longitude below -180", lambda b: stop(4)(b).update(lon=-180.5), "stops.lon", "o0005"),
    ("depot far off", lambda b: b["problem"]["depots"][0].update(lat=-91), "depots.lat", "hub"),
    ("demand over 1e9", lambda b: stop(2)(b)["demand"].update(parcels=1e10), "stops.demand.parcels", "o0003"),
    ("penalty over 1e12", lambda b: stop(2)(b).update(penalty=10**13), "stops.penalty", "o0003"),
    ("speed of a jet", lambda b: b["problem"]["couriers"][1].update(speed_kmh=1e6), "couriers.speed_kmh", "c02"),
    ("service for ever", lambda b: stop(0)(b).update(service_min=1e308), "stops.service_min", "o0001"),
    ("a number as text", lambda b: stop(0)(b).update(lat="31.2"), "stops.lat", "o0001"),
    ("true as a number", lambda b: stop(0)(b).update(service_min=True), "stops.service_min", "o0001"),
    ("stop id too long", lambda b: stop(5)(b).update(id="s" * 65), "stops.id", "s" * 65),
    ("stop id with spaces", lambda b: stop(5)(b).update(id="o 6"), "stops.id", "o 6"),
    ("name too long", lambda b: b["problem"].update(name="n" * 201), "problem.name", "n" * 201),
    ("phone too long", lambda b: stop(6)(b)["customer"].update(phone="1" * 41), "customer.phone", "o0007"),
    ("customer name too long", lambda b: stop(6)(b)["customer"].update(name="x" * 201), "customer.name", "o0007"),
    ("address too long", lambda b: stop(6)(b).update(address="a" * 301), "stops.address", "o0007"),
    ("capacity key not an id", lambda b: b["problem"]["couriers"][0]["capacity"].update({"kg weight": 3}),
     "couriers.capacity", "c01"),
    ("nine capacity dimensions", lambda b: b["problem"]["couriers"][0].update(capacity={f"d{i}": 1 for i in range(9)}),
     "couriers.capacity", "c01"),
    ("no window", lambda b: stop(7)(b).update(windows=[]), "stops.windows", "o0008"),
    ("window ends before it starts", lambda b: stop(8)(b).update(
        windows=[{"start": f"{DAY}T12:00:00+08:00", "end": f"{DAY}T10:00:00+08:00"}]), "stops.windows", "o0009"),
    ("window a year later", lambda b: stop(9)(b).update(
        windows=[{"start": "2027-11-26T09:00:00+08:00", "end": "2027-11-26T11:00:00+08:00"}]),
     "stops.windows.start", "o0010"),
    ("window before the day", lambda b: stop(9)(b).update(
        windows=[{"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T11:00:00+08:00"}]),
     "stops.windows.start", "o0010"),
    ("window without an offset", lambda b: stop(9)(b).update(
        windows=[{"start": f"{DAY}T09:00:00", "end": f"{DAY}T11:00:00"}]), "stops.windows.start", "o0010"),
    ("year 9999 shift", lambda b: b["problem"]["couriers"][1].update(shift_end="9999-12-31T23:59:59-12:00"),
     "couriers.shift_end", "c02"),
    ("duplicate stop", lambda b: b["problem"]["stops"].append(copy.deepcopy(stop(0)(b))), "stops.id", "o0001"),
    ("duplicate courier", lambda b: b["problem"]["couriers"].append(copy.deepcopy(b["problem"]["couriers"][1])),
     "couriers.id", "c02"),
    ("duplicate depot", lambda b: b["problem"]["depots"].append(copy.deepcopy(b["problem"]["depots"][0])),
     "depots.id", "hub"),
    ("unknown depot", lambda b: b["problem"]["couriers"][1].update(depot="nowhere"), "couriers.depot", "c02"),
    ("unknown field in a stop", lambda b: stop(1)(b).update(colour="red"), "stops.colour", "o0002"),
    ("unknown field in a courier", lambda b: b["problem"]["couriers"][0].update(wings=2), "couriers.wings",
     "c01"),
    ("unknown field in the problem", lambda b: b["problem"].update(surprise=1), "problem.surprise", problem_name),
    ("unknown field at the top", lambda b: b.update(priority="high"), "priority", problem_name),
    ("time limit zero", lambda b: b.update(time_limit_s=0), "time_limit_s", problem_name),
    ("time limit negative", lambda b: b.update(time_limit_s=-1), "time_limit_s", problem_name),
    ("time limit over 600 s", lambda b: b.update(time_limit_s=601), "time_limit_s", problem_name),
    ("time limit as text", lambda b: b.update(time_limit_s="10"), "time_limit_s", problem_name),
    ("seed as a boolean", lambda b: b.update(seed=False), "seed", problem_name),
    ("seed over 2^31", lambda b: b.update(seed=2**31), "seed", problem_name),
    ("unknown engine", lambda b: b.update(engine="quantum"), "engine", problem_name),
]  # fmt: skip


@pytest.mark.parametrize(("what", "change", "field", "obj_id"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_a_refused_plan_names_field_and_id_and_writes_nothing(
    shared: SharedDay,
    nothing_written: None,
    what: str,
    change: Change,
    field: str,
    obj_id: str | Callable[[Body], str],
) -> None:
    body = plan_body(shared.day)
    change(body)
    with shared.managed.client() as client:
        refused(client.post("/v1/plans", json=body), field, obj_id(body) if callable(obj_id) else obj_id)


NON_FINITE = [
    ("NaN latitude", "lat", "NaN", "stops.lat"),
    ("infinite longitude", "lon", "Infinity", "stops.lon"),
    ("1e400 service minutes", "service_min", "1e400", "stops.service_min"),
    ("integer with 400 digits", "lat", "1" + "0" * 400, "stops.lat"),
]


@pytest.mark.parametrize(("what", "key", "literal", "field"), NON_FINITE, ids=[c[0] for c in NON_FINITE])
def test_non_finite_and_huge_numbers_are_refused(
    shared: SharedDay, nothing_written: None, what: str, key: str, literal: str, field: str
) -> None:
    body = plan_body(shared.day)
    body["problem"]["stops"][4][key] = "__here__"
    body["problem"]["stops"][4]["demand"]["weight_kg"] = "__weight__"
    text = json.dumps(body).replace('"__here__"', literal).replace('"__weight__"', "-Infinity")
    with shared.managed.client() as client:
        error = refused(raw_post(client, "/v1/plans", text), field, "o0005")
        assert any(d["field"].endswith("weight_kg") and d["id"] == "o0005" for d in error["details"])


def test_more_than_5000_stops_or_500_couriers_are_refused(shared: SharedDay, nothing_written: None) -> None:
    base = plan_body(shared.day)
    template = base["problem"]["stops"][0]
    many_stops = copy.deepcopy(base)
    many_stops["problem"]["stops"] = [{**template, "id": f"s{i}"} for i in range(5001)]
    courier = base["problem"]["couriers"][0]
    many_couriers = copy.deepcopy(base)
    many_couriers["problem"]["couriers"] = [{**courier, "id": f"k{i}"} for i in range(501)]
    with shared.managed.client() as client:
        error = refused(client.post("/v1/plans", json=many_stops), "problem.stops", problem_name(base))
        assert "5000" in error["message"]
        error = refused(client.post("/v1/plans", json=many_couriers), "problem.couriers", problem_name(base))
        assert "500" in error["message"]


def test_a_body_over_the_limit_is_413_in_the_one_shape_declared_or_streamed(
    shared: SharedDay, nothing_written: None
) -> None:
    limit = 8_000_000
    big = json.dumps({"problem": {"name": "x" * (limit + 10)}}).encode()

    def chunks() -> Iterator[bytes]:
        for k in range(0, len(big), 65536):
            yield big[k : k + 65536]

    with shared.managed.client() as client:
        declared = client.post("/v1/plans", content=big, headers={"Content-Type": "application/json"})
        refused(declared, "", None, status=413)
        streamed = client.post("/v1/plans", content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in streamed.request.headers
        refused(streamed, "", None, status=413)
        for answer in (declared, streamed):
            assert f"{limit}" in answer.json()["error"]["message"]


def test_malformed_or_absurdly_nested_json_is_422_not_400_or_500(shared: SharedDay, nothing_written: None) -> None:
    with shared.managed.client() as client:
        for text in ("{", "[" * 100_000 + "]" * 100_000, '{"problem": ' + '{"a":' * 5000 + "1" + "}" * 5001):
            answer = raw_post(client, "/v1/plans", text)
            refused(answer, "body", None)
        garbage = client.post("/v1/plans", content=b"\xff\xfe\x00", headers={"Content-Type": "application/json"})
        refused(garbage, "body", None)


# -- events and call outcomes ------------------------------------------------------------


def event(**fields: Any) -> Body:
    return {
        "event_id": "limit-1",
        "courier_id": "c01",
        "type": "position",
        "at": f"{DAY}T10:00:00+08:00",
        "lat": 31.2,
        "lon": 121.5,
        **fields,
    }


EVENT_CASES: list[tuple[str, Body, str, str]] = [
    ("latitude above 90", event(lat=91.0), "lat", "limit-1"),
    ("longitude as text", event(lon="121.5"), "lon", "limit-1"),
    ("only a latitude", event(lon=None), "lat", "limit-1"),
    ("delay over a day", event(type="delay", delay_min=24 * 60 + 1), "delay_min", "limit-1"),
    ("delay of zero", event(type="delay", delay_min=0), "delay_min", "limit-1"),
    ("completion without a stop", event(type="stop_completed"), "stop_id", "limit-1"),
    ("unknown stop", event(type="stop_completed", stop_id="o9999"), "stop_id", "o9999"),
    ("unknown courier", event(courier_id="c99"), "courier_id", "c99"),
    ("unknown type", event(type="teleport"), "type", "limit-1"),
    ("event id too long", event(event_id="e" * 65), "event_id", "e" * 65),
    ("reason too long", event(reason="r" * 301), "reason", "limit-1"),
    ("a year later", event(at="2027-11-26T10:00:00+08:00"), "at", "limit-1"),
    ("before the day", event(at="2026-11-25T10:00:00+08:00"), "at", "limit-1"),
    ("no offset", event(at=f"{DAY}T10:00:00"), "at", "limit-1"),
    ("unknown field", event(speed=12), "speed", "limit-1"),
]


@pytest.mark.parametrize(("what", "body", "field", "obj_id"), EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
def test_a_refused_event_names_field_and_id_and_writes_nothing(
    shared: SharedDay, nothing_written: None, what: str, body: Body, field: str, obj_id: str
) -> None:
    with shared.managed.client() as client:
        refused(client.post(f"/v1/plans/{shared.plan_id}/events", json=body), field, obj_id)


def test_non_finite_event_numbers_are_refused(shared: SharedDay, nothing_written: None) -> None:
    text = json.dumps(event(type="delay", delay_min=30))
    with shared.managed.client() as client:
        for old, new, field in (
            ('"lat": 31.2', '"lat": NaN', "lat"),
            ('"delay_min": 30', '"delay_min": Infinity', "delay_min"),
            ('"lon": 121.5', '"lon": 1e400', "lon"),
        ):
            refused(raw_post(client, f"/v1/plans/{shared.plan_id}/events", text.replace(old, new)), field, "limit-1")


OUTCOME_CASES: list[tuple[str, Body, str]] = [
    ("unknown outcome", {"outcome": "shrugged"}, "outcome"),
    ("note too long", {"outcome": "unreachable", "note": "n" * 501}, "note"),
    ("rebooked without a window", {"outcome": "rebooked"}, "new_window"),
    (
        "rebooked into last year",
        {
            "outcome": "rebooked",
            "new_window": {"start": "2025-11-26T09:00:00+08:00", "end": "2025-11-26T11:00:00+08:00"},
        },
        "new_window",
    ),
    (
        "rebooked backwards",
        {"outcome": "rebooked", "new_window": {"start": f"{DAY}T12:00:00+08:00", "end": f"{DAY}T11:00:00+08:00"}},
        "new_window",
    ),
    ("unknown field", {"outcome": "unreachable", "by": "phone"}, "by"),
]


@pytest.mark.parametrize(("what", "body", "field"), OUTCOME_CASES, ids=[c[0] for c in OUTCOME_CASES])
def test_a_refused_call_outcome_names_field_and_call_and_writes_nothing(
    shared: SharedDay, nothing_written: None, what: str, body: Body, field: str
) -> None:
    with shared.managed.client("service") as client:
        refused(client.post(f"/v1/calls/{shared.call_id}/outcome", json=body), field, shared.call_id)
