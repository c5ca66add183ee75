"""The real day through the API: pickups, second trips, skills and grades, priorities, exact
volumes and what couriers cost, planned and then worked live, on both store backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from api.schemas import ProblemIn
from optimizer.errors import InvalidProblem
from tests.api.conftest import InProcess, wait_solved

T = "2026-11-26T{}:00+08:00"


def window(start: str, end: str) -> list[dict[str, str]]:
    return [{"start": T.format(start), "end": T.format(end)}]


def stop(stop_id: str, dlat: float, dlon: float, **fields: Any) -> dict[str, Any]:
    return {
        "id": stop_id,
        "lat": 31.2204 + dlat,
        "lon": 121.5447 + dlon,
        "service_min": 3,
        "windows": window("09:00", "17:00"),
        "demand": {"parcels": 1, "volume_m3": 0.0099},
        **fields,
    }


def real_day() -> dict[str, Any]:
    """Five cold-chain deliveries only Li (grade A, cold chain, two trips) may make, on a van of
    three parcels: two trips. Wang (grade C, dearer per day) takes the dry stops and the
    pickups; one stop asks for grade A."""
    courier = {"depot": "hub", "shift_start": T.format("08:00"), "shift_end": T.format("18:00"), "speed_kmh": 20.0}
    cold = [stop(f"cold{k}", 0.004 * k, 0.003, skills=["cold_chain"]) for k in range(1, 6)]
    return {
        "name": "real-day",
        "depots": [{"id": "hub", "lat": 31.2204, "lon": 121.5447}],
        "couriers": [
            {
                **courier,
                "id": "li",
                "capacity": {"parcels": 3, "volume_m3": 0.05},
                "skills": ["cold_chain"],
                "grade": "A",
                "max_trips": 2,
                "reload_min": 12,
            },
            {
                **courier,
                "id": "wang",
                "capacity": {"parcels": 20, "volume_m3": 1.5},
                "grade": "C",
                "costs": {"per_courier": 300},
            },
        ],
        "stops": [
            *cold,
            stop("dry1", -0.01, 0.0),
            stop("dry2", -0.01, -0.01, priority=5),
            stop("collect1", -0.005, 0.01, kind="pickup", demand={"parcels": 4, "volume_m3": 0.4}),
            stop("collect2", 0.002, -0.012, kind="pickup", windows=window("10:00", "12:00")),
            stop("vip", 0.001, 0.001, min_grade="A", demand={"parcels": 0, "volume_m3": 0.0}),
        ],
        "costs": {"per_km": 0.8, "per_hour": 30, "per_courier": 120},
    }


@pytest.fixture(scope="module")
def planned(app: InProcess) -> dict[str, Any]:
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": real_day(), "time_limit_s": 10, "iterations": 500})
        assert answer.status_code == 202, answer.text
        plan = wait_solved(client, answer.json()["id"])
    assert plan["status"] == "solved", plan.get("error")
    return plan


def route_of(plan: dict[str, Any], courier_id: str) -> list[dict[str, Any]]:
    return next(r["visits"] for r in plan["routes"] if r["courier_id"] == courier_id)


def test_a_stop_needing_a_skill_or_a_grade_goes_to_a_courier_who_has_it(planned: dict[str, Any]) -> None:
    li = [v["stop_id"] for v in route_of(planned, "li")]
    assert {f"cold{k}" for k in range(1, 6)} <= set(li)
    assert "vip" in li
    assert planned["unassigned"] == []


def test_five_cold_parcels_on_a_three_parcel_van_make_two_trips(planned: dict[str, Any]) -> None:
    visits = route_of(planned, "li")
    reloads = [v for v in visits if v["kind"] == "reload"]
    assert [v["stop_id"] for v in reloads] == ["reload:li:1"]
    before = visits.index(reloads[0])
    trips = [visits[:before], visits[before + 1 :]]
    for trip in trips:  # each trip leaves the hub with at most three parcels
        assert sum(1 for v in trip if v["stop_id"].startswith("cold")) <= 3
    reload = reloads[0]
    stay = datetime.fromisoformat(reload["departure"]) - datetime.fromisoformat(reload["eta"])
    assert stay.total_seconds() == 12 * 60
    # booked by no one: its window is Li's shift, not an open end decades ahead
    assert reload["window"] == {"start": T.format("08:00"), "end": T.format("18:00")}


def test_pickups_are_shown_as_pickups_and_every_window_is_kept(planned: dict[str, Any]) -> None:
    kinds = {v["stop_id"]: v["kind"] for r in planned["routes"] for v in r["visits"]}
    assert kinds["collect1"] == kinds["collect2"] == "pickup"
    assert kinds["dry1"] == "delivery"
    assert planned["kpis"]["late_stops"] == 0
    assert planned["kpis"]["stops"] == 10  # the reload is nobody's stop


def test_the_cost_is_the_couriers_at_their_own_rates(planned: dict[str, Any]) -> None:
    rates = {"li": (120, 0.8, 30), "wang": (300, 0.8, 30)}
    expected = 0.0
    for route in planned["routes"]:
        if not route["visits"]:
            continue
        per_courier, per_km, per_hour = rates[route["courier_id"]]
        hours = (datetime.fromisoformat(route["end"]) - datetime.fromisoformat(route["start"])).total_seconds() / 3600
        expected += per_courier + per_km * route["distance_km"] + per_hour * hours
    assert planned["kpis"]["cost"] == pytest.approx(expected, abs=0.02)


def test_a_delay_on_a_two_trip_day_re_plans_and_keeps_the_trips_whole(app: InProcess, planned: dict[str, Any]) -> None:
    with app.client() as client:
        event = {"event_id": "li-late", "courier_id": "li", "type": "delay", "at": T.format("09:30"), "delay_min": 40}
        answer = client.post(f"/v1/plans/{planned['id']}/events", json=event)
        assert answer.status_code == 200, answer.text
        plan = client.get(f"/v1/plans/{planned['id']}").json()
    li = [v["stop_id"] for v in route_of(plan, "li")]
    cold_stops = [s for s in li if s.startswith("cold")]
    assert len(cold_stops) == 5  # only Li drives cold chain: they all stay with Li
    reload_at = li.index("reload:li:1")
    assert sum(1 for s in li[:reload_at] if s.startswith("cold")) <= 3
    assert sum(1 for s in li[reload_at:] if s.startswith("cold")) <= 3


def test_the_openapi_schema_documents_the_real_day_fields_with_an_example(app: InProcess) -> None:
    with app.client() as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
    stop_fields = schema["StopIn"]["properties"]
    courier_fields = schema["CourierIn"]["properties"]
    for name in ("kind", "skills", "priority", "min_grade"):
        assert stop_fields[name].get("description"), name
    for name in ("skills", "grade", "costs", "max_trips", "reload_min"):
        assert courier_fields[name].get("description"), name
    (example,) = schema["ProblemIn"]["examples"]
    ProblemIn.model_validate(example).to_domain()  # the example is a valid day
    assert any(s.get("kind") == "pickup" for s in example["stops"])


# --- refused, naming the field and the id -----------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "obj_id"),
    [
        (lambda day: day["stops"][7].update(min_grade="B") or day["couriers"][1].update(grade="C"), None, None),
        (lambda day: day["couriers"][0].update(grade=None), "stops.skills", "vip"),
        (lambda day: day["stops"][0]["demand"].update(volume_m3=0.12345678), "stops.demand.volume_m3", "cold1"),
    ],
    ids=["grade-B-stop-served-by-A", "grade-A-stop-without-an-A-courier", "eight-decimals"],
)
def test_the_wire_day_is_checked_naming_field_and_id(change: Any, field: str | None, obj_id: str | None) -> None:
    day = real_day()
    change(day)
    if field is None:
        ProblemIn.model_validate(day).to_domain()
        return
    with pytest.raises(InvalidProblem) as refused:
        ProblemIn.model_validate(day).to_domain()
    assert (field, obj_id) in [(i.field, i.id) for i in refused.value.issues]


def test_amounts_keep_their_decimals_so_five_small_boxes_fill_a_small_van() -> None:
    """0.0099 m3 used to count as 1 m3: a 12 m3 van took 12 of them. Now 0.05 m3 takes five."""
    problem = ProblemIn.model_validate(real_day()).to_domain()
    volume = problem.dimensions.index("volume_m3")
    li = problem.courier_by_id("li")
    box = problem.stop_by_id("cold1").demand[volume]
    assert li.capacity[volume] // box == 5
    assert problem.stop_by_id("collect1").demand[volume] == 4000  # 0.4 m3 in units of 0.0001 m3


@pytest.mark.parametrize(
    ("where", "bad"),
    [("stops", {"priority": 11}), ("stops", {"kind": "return"}), ("couriers", {"max_trips": 0})],
)
def test_a_bad_field_is_a_422_naming_it(app: InProcess, where: str, bad: dict[str, Any]) -> None:
    day = real_day()
    day[where][0].update(bad)
    with app.client() as client:
        answer = client.post("/v1/plans", json={"problem": day, "time_limit_s": 1})
    assert answer.status_code == 422
    assert next(iter(bad)) in answer.text
