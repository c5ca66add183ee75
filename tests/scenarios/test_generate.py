"""The seeded day generator: deterministic, valid on the wire, realistic, and plannable."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from api.schemas import ProblemIn
from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.plan import plan_day
from optimizer.travel.haversine import great_circle_m
from scenarios.generate import CITIES, generate_day, write_day


def _domain(day: dict[str, Any]) -> Problem:
    return ProblemIn.model_validate(day).to_domain()


def _hour(text: str) -> float:
    t = datetime.fromisoformat(text)
    return t.hour + t.minute / 60


def test_same_seed_gives_identical_day() -> None:
    assert json.dumps(generate_day(120, 10, seed=7)) == json.dumps(generate_day(120, 10, seed=7))


def test_other_seed_gives_other_day() -> None:
    assert generate_day(120, 10, seed=7)["stops"] != generate_day(120, 10, seed=8)["stops"]


def test_day_is_plain_json() -> None:
    day = generate_day(30, 3, seed=1)
    assert json.loads(json.dumps(day)) == day


@pytest.mark.parametrize(("stops", "couriers", "seed"), [(0, 1, 0), (1, 1, 3), (200, 16, 0), (1000, 60, 5)])
def test_day_validates_and_converts(stops: int, couriers: int, seed: int) -> None:
    problem = _domain(generate_day(stops, couriers, seed))
    assert len(problem.stops) == stops
    assert len(problem.couriers) == couriers
    assert problem.dimensions == ("parcels", "weight_kg")
    assert problem.day_start is not None and problem.day_start.utcoffset() is not None


@pytest.mark.parametrize("city", sorted(CITIES))
def test_every_city_converts(city: str) -> None:
    assert len(_domain(generate_day(20, 2, city=city, date="2027-01-05")).stops) == 20


@pytest.mark.parametrize("couriers", [1, 2, 16])
def test_every_window_lies_inside_some_couriers_shift(couriers: int) -> None:
    problem = _domain(generate_day(300, couriers, seed=2))
    for stop in problem.stops:
        for window in stop.windows:
            assert any(c.shift_start_s <= window.start_s and window.end_s <= c.shift_end_s for c in problem.couriers)


def test_slots_are_two_hours_on_the_hour_between_8_and_20() -> None:
    day = generate_day(400, 30, seed=3)
    for stop in day["stops"]:
        for window in stop["windows"]:
            start, end = _hour(window["start"]), _hour(window["end"])
            assert end - start == 2
            assert start == int(start)
            assert start >= 8 and end <= 20


def test_about_one_stop_in_ten_books_two_slots_in_order_an_hour_apart() -> None:
    stops = generate_day(1000, 60, seed=4)["stops"]
    two = [s for s in stops if len(s["windows"]) == 2]
    assert 0.06 <= len(two) / len(stops) <= 0.14
    assert all(len(s["windows"]) <= 2 for s in stops)
    for stop in two:
        first, second = stop["windows"]
        assert _hour(second["start"]) >= _hour(first["end"]) + 1


def test_bookings_peak_in_the_evening_and_dip_after_lunch() -> None:
    starts = Counter(int(_hour(s["windows"][0]["start"])) for s in generate_day(2000, 100, seed=5)["stops"])
    evening = starts[17] + starts[18]
    early_afternoon = starts[13] + starts[14]
    assert evening > 1.3 * early_afternoon


def test_stops_cluster_around_the_hub_within_the_service_area() -> None:
    day = generate_day(600, 40, seed=6)
    city = CITIES["shanghai"]
    problem = _domain(day)
    metres = great_circle_m(problem.locations)
    from_hub = metres[0, 1:]
    assert from_hub.max() <= city.radius_km * 1000 * 1.01
    assert np.median(from_hub) > 2000
    # Most stops have a neighbour much closer than points spread evenly over the disc would
    # (expected nearest-neighbour distance 0.5 / sqrt(density)); noise keeps some far apart.
    between = metres[1:, 1:] + np.eye(len(problem.stops)) * 1e9
    nearest = between.min(axis=1)
    uniform = 0.5 / math.sqrt(len(problem.stops) / (math.pi * (city.radius_km * 1000) ** 2))
    assert np.median(nearest) < 0.6 * uniform
    assert np.quantile(nearest, 0.9) > uniform / 2


def test_customers_demand_and_service_look_real() -> None:
    day = generate_day(500, 30, seed=8)
    for stop in day["stops"]:
        assert re.fullmatch(r"\+86138\d{8}", stop["customer"]["phone"])
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", stop["customer"]["name"])
        assert 2 <= stop["service_min"] <= 6
        assert 0.2 <= stop["demand"]["weight_kg"] <= 15
        assert stop["demand"]["parcels"] in (1, 2, 3)
    assert len({s["id"] for s in day["stops"]}) == 500
    assert len({s["customer"]["phone"] for s in day["stops"]}) > 490


def test_fleet_is_mostly_ebikes_with_vans_on_both_shifts() -> None:
    couriers = generate_day(10, 20, seed=9, vans=0.25)["couriers"]
    vans = [c for c in couriers if c["profile"] == "van"]
    bikes = [c for c in couriers if c["profile"] == "ebike"]
    assert len(vans) == 5 and len(bikes) == 15
    assert all(c["speed_kmh"] == 18 and 60 <= c["capacity"]["weight_kg"] <= 80 for c in bikes)
    assert all(40 <= c["capacity"]["parcels"] <= 60 for c in bikes)
    assert all(c["speed_kmh"] == 25 and c["capacity"]["weight_kg"] > 80 for c in vans)
    assert {(_hour(c["shift_start"]), _hour(c["shift_end"])) for c in vans} == {(8, 18), (10, 20)}
    assert {(_hour(c["shift_start"]), _hour(c["shift_end"])) for c in couriers} == {(8, 18), (10, 20)}
    for courier in couriers:
        (lunch,) = courier["breaks"]
        assert (_hour(lunch["earliest_start"]), _hour(lunch["latest_start"]), lunch["duration_min"]) == (
            11.5,
            13.5,
            30,
        )


def test_no_vans_when_asked_for_none() -> None:
    assert {c["profile"] for c in generate_day(10, 8, vans=0.0)["couriers"]} == {"ebike"}


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"stops": -1}, "stops"),
        ({"couriers": 0}, "couriers"),
        ({"vans": 1.5}, "vans"),
        ({"two_slot_share": -0.1}, "two_slot_share"),
        ({"city": "atlantis"}, "city"),
        ({"date": "26/11/2026"}, "date"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], named: str) -> None:
    args: dict[str, Any] = {"stops": 10, "couriers": 2, **kwargs}
    with pytest.raises(ValueError, match=named):
        generate_day(**args)


def test_write_day_writes_the_generated_json(tmp_path: Path) -> None:
    path = write_day(tmp_path / "day.json", 25, 3, seed=11, city="beijing")
    assert json.loads(path.read_text(encoding="utf-8")) == generate_day(25, 3, seed=11, city="beijing")


@pytest.mark.slow
def test_a_200_stop_16_courier_day_plans_95_percent_on_time_in_5_seconds() -> None:
    problem = _domain(generate_day(200, 16, seed=0))
    plan = plan_day(problem, SolveParams(time_limit_s=5, seed=0))
    served = sum(len(r.visits) for r in plan.schedule.routes)
    on_time = served - plan.schedule.late_stops
    assert on_time / len(problem.stops) >= 0.95
