"""What-if variants: each change does what its name says, composes, and reads from the wire."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.schemas import ProblemIn
from optimizer.errors import InvalidProblem
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.plan import plan_day
from optimizer.travel.haversine import HaversineSource, great_circle_m
from scenarios.generate import generate_day
from scenarios.variants import (
    AddCouriers,
    DemandScale,
    InvalidChange,
    RemoveCouriers,
    Scenario,
    ServiceScale,
    ShiftOffset,
    SlotWidth,
    Traffic,
    TrafficPeriod,
    Variant,
    apply_changes,
    parse_changes,
)

H = 3600
BASE = ProblemIn.model_validate(generate_day(40, 5, seed=3)).to_domain()


def _tiny(*couriers: Courier, stops: tuple[Stop, ...] = ()) -> Problem:
    """A planar day with one depot; stops default to one at (1, 1) booked 09:00-11:00."""
    stops = stops or (Stop("s1", Location(1.0, 1.0, planar=True), (TimeWindow(9 * H, 11 * H),), 240),)
    return Problem("tiny", (Depot("hub", Location(0.0, 0.0, planar=True)),), couriers, stops)


def _courier(courier_id: str, start_h: float = 8, end_h: float = 18) -> Courier:
    lunch = Break("lunch", int(11.5 * H), int(13.5 * H), 1800)
    return Courier(courier_id, "hub", int(start_h * H), int(end_h * H), breaks=(lunch,))


# --- couriers --------------------------------------------------------------------------


def test_remove_couriers_by_count_drops_the_last_ones() -> None:
    changed = RemoveCouriers(count=2).apply(BASE)
    assert [c.id for c in changed.couriers] == [c.id for c in BASE.couriers[:-2]]
    assert changed.stops == BASE.stops


def test_remove_couriers_by_id_drops_exactly_those() -> None:
    changed = RemoveCouriers(ids=("c02", "c04")).apply(BASE)
    assert [c.id for c in changed.couriers] == ["c01", "c03", "c05"]


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (RemoveCouriers(count=5), "one must stay"),
        (RemoveCouriers(ids=("c01", "c02", "c03", "c04", "c05")), "one must stay"),
        (RemoveCouriers(ids=("c09",)), "unknown courier 'c09'"),
    ],
)
def test_remove_couriers_refuses_what_the_day_cannot_lose(variant: RemoveCouriers, message: str) -> None:
    with pytest.raises(InvalidChange, match=message):
        variant.apply(BASE)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [({}, "count"), ({"count": 1, "ids": ("c01",)}, "count"), ({"count": 0}, "count"), ({"ids": ("a", "a")}, "ids")],
)
def test_remove_couriers_checks_its_parameters(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidChange) as caught:
        RemoveCouriers(**kwargs)
    assert caught.value.issues[0].field == key


def test_add_couriers_copies_the_first_courier_with_new_ids() -> None:
    first = replace(BASE.couriers[0], available_s=9 * H, fixed_prefix=())
    base = replace(BASE, couriers=(first, *BASE.couriers[1:]))
    changed = AddCouriers(count=2).apply(base)
    added = changed.couriers[len(base.couriers) :]
    assert [c.id for c in added] == ["c01.add1", "c01.add2"]
    for courier in added:
        assert courier == replace(first, id=courier.id, available_s=None)


def test_add_couriers_skips_ids_in_use() -> None:
    problem = _tiny(_courier("a"), _courier("a.add1"))
    assert [c.id for c in AddCouriers(count=1).apply(problem).couriers] == ["a", "a.add1", "a.add2"]


def test_shift_offset_moves_shifts_and_breaks() -> None:
    changed = ShiftOffset(minutes=90).apply(_tiny(_courier("a")))
    (courier,) = changed.couriers
    assert (courier.shift_start_s, courier.shift_end_s) == (int(9.5 * H), int(19.5 * H))
    assert (courier.breaks[0].earliest_start_s, courier.breaks[0].latest_start_s) == (13 * H, 15 * H)


def test_shift_offset_can_leave_breaks_at_their_clock_times() -> None:
    (courier,) = ShiftOffset(minutes=-60, move_breaks=False).apply(_tiny(_courier("a"))).couriers
    assert (courier.shift_start_s, courier.breaks[0].earliest_start_s) == (7 * H, int(11.5 * H))


def test_shift_offset_refuses_to_start_before_the_day() -> None:
    with pytest.raises(InvalidChange, match="before the day starts") as caught:
        ShiftOffset(minutes=-9 * 60).apply(_tiny(_courier("a")))
    assert caught.value.issues[0].field == "minutes"


# --- stops -----------------------------------------------------------------------------


def test_demand_scale_up_clones_stops_near_themselves() -> None:
    changed = DemandScale(factor=1.5, seed=4).apply(BASE)
    assert len(changed.stops) == 60
    assert changed.stops[:40] == BASE.stops
    ids = [s.id for s in changed.stops]
    assert len(set(ids)) == len(ids)
    for clone in changed.stops[40:]:
        source = BASE.stop_by_id(clone.id.rsplit(".", 1)[0])
        assert (clone.windows, clone.service_s, clone.demand, clone.penalty) == (
            source.windows,
            source.service_s,
            source.demand,
            source.penalty,
        )
        # 150 m of jitter in each direction: more than 1 km away would be a 5-sigma event.
        assert great_circle_m([source.location, clone.location])[0, 1] < 1000


def test_demand_scale_down_drops_a_sample_and_keeps_the_order() -> None:
    changed = DemandScale(factor=0.7, seed=1).apply(BASE)
    kept = [s.id for s in changed.stops]
    assert len(kept) == 28
    assert kept == [s.id for s in BASE.stops if s.id in set(kept)]


def test_demand_scale_never_drops_a_stop_fixed_to_a_courier() -> None:
    fixed = ("o0001", "o0002")
    base = replace(BASE, couriers=(replace(BASE.couriers[0], fixed_prefix=fixed), *BASE.couriers[1:]))
    for seed in range(10):
        kept = {s.id for s in DemandScale(factor=0.1, seed=seed).apply(base).stops}
        assert set(fixed) <= kept


def test_demand_scale_is_seeded() -> None:
    assert DemandScale(1.3, seed=2).apply(BASE) == DemandScale(1.3, seed=2).apply(BASE)
    assert DemandScale(1.3, seed=2).apply(BASE) != DemandScale(1.3, seed=3).apply(BASE)


def test_demand_scale_jitters_planar_stops_in_the_instances_units() -> None:
    stops = tuple(
        Stop(f"s{k}", Location(float(k), float(k), planar=True), (TimeWindow(0, 100),), 0) for k in range(0, 101, 10)
    )
    changed = DemandScale(factor=2.0, seed=0).apply(_tiny(_courier("a"), stops=stops))
    for clone in changed.stops[len(stops) :]:
        source = next(s for s in stops if s.id == clone.id.rsplit(".", 1)[0])
        assert clone.location.planar
        assert math.dist((clone.location.lat, clone.location.lon), (source.location.lat, source.location.lon)) < 5


def test_slot_width_recentres_each_window() -> None:
    changed = SlotWidth(minutes=60).apply(_tiny(_courier("a")))
    assert changed.stops[0].windows == (TimeWindow(int(9.5 * H), int(10.5 * H)),)


def test_slot_width_merges_windows_that_come_to_meet_and_stays_after_midnight() -> None:
    stop = Stop(
        "s1",
        Location(1.0, 1.0, planar=True),
        (TimeWindow(0, 2 * H), TimeWindow(8 * H, 10 * H), TimeWindow(13 * H, 15 * H)),
    )
    (changed,) = SlotWidth(minutes=300).apply(_tiny(_courier("a"), stops=(stop,))).stops
    # Centres 01:00, 09:00, 14:00 -> [0, 03:30], [06:30, 11:30] + [11:30, 16:30] merged.
    assert changed.windows == (TimeWindow(0, int(3.5 * H)), TimeWindow(int(6.5 * H), int(16.5 * H)))


def test_service_scale_multiplies_service_times() -> None:
    changed = ServiceScale(factor=1.5).apply(_tiny(_courier("a")))
    assert changed.stops[0].service_s == 360


# --- traffic ---------------------------------------------------------------------------


def test_traffic_leaves_the_problem_and_scales_travel() -> None:
    scenario = apply_changes(BASE, [Traffic(factor=1.2)])
    assert scenario.problem is BASE
    assert scenario.travel_factor == 1.2
    plain = HaversineSource().matrix(BASE)
    slow = scenario.source().matrix(BASE)
    assert np.array_equal(slow.distances_m, plain.distances_m)
    for profile in BASE.profiles:
        assert np.array_equal(slow.durations(profile), plain.scaled(1.2).durations(profile))


def test_a_traffic_profile_counts_by_its_mean_over_shift_hours() -> None:
    # Two couriers, 08-18 and 10-20: 20 h of shifts. Rush 08:00-10:00 x1.5 touches 2 h of
    # the first; 17:00-19:00 x1.4 touches 1 h of the first and 2 h of the second.
    problem = _tiny(_courier("a", 8, 18), _courier("b", 10, 20))
    traffic = Traffic(profile=(TrafficPeriod(8 * H, 10 * H, 1.5), TrafficPeriod(17 * H, 19 * H, 1.4)))
    assert traffic.travel_factor(problem) == pytest.approx(1 + (2 * 0.5 + 3 * 0.4) / 20)
    assert (traffic.factor_at(9 * H), traffic.factor_at(12 * H), traffic.factor_at(19 * H)) == (1.5, 1.0, 1.0)


def test_travel_factors_compose_on_the_problem_changed_so_far() -> None:
    problem = _tiny(_courier("a", 8, 18))
    rush = Traffic(profile=(TrafficPeriod(18 * H, 20 * H, 2.0),))
    assert apply_changes(problem, [rush]).travel_factor == 1.0
    later = apply_changes(problem, [ShiftOffset(minutes=120), rush, Traffic(factor=1.5)])
    assert later.travel_factor == pytest.approx(1.5 * (1 + 2 * 1.0 / 10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "either factor or profile"),
        ({"factor": 1.2, "profile": (TrafficPeriod(0, 1, 2.0),)}, "either factor or profile"),
        ({"factor": 0.0}, "above 0"),
        ({"profile": (TrafficPeriod(5, 5, 2.0),)}, "end after it starts"),
        ({"profile": (TrafficPeriod(0, 10, 2.0), TrafficPeriod(5, 20, 2.0))}, "overlap"),
    ],
)
def test_traffic_checks_its_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidChange, match=message):
        Traffic(**kwargs)


def test_a_scenario_plans_with_its_slower_travel() -> None:
    small = ProblemIn.model_validate(generate_day(25, 3, seed=1)).to_domain()
    scenario = apply_changes(small, parse_changes([{"kind": "traffic", "factor": 1.5}]))
    plan = plan_day(scenario.problem, SolveParams(time_limit_s=1, seed=0), source=scenario.source())
    assert np.array_equal(
        plan.matrix.durations("ebike"), HaversineSource().matrix(small).scaled(1.5).durations("ebike")
    )


# --- the wire form ---------------------------------------------------------------------


def test_the_contracts_examples_parse() -> None:
    assert parse_changes([{"kind": "remove_couriers", "count": 2}]) == (RemoveCouriers(count=2),)
    assert parse_changes([{"kind": "demand_scale", "factor": 1.3}, {"kind": "traffic", "factor": 1.2}]) == (
        DemandScale(factor=1.3),
        Traffic(factor=1.2),
    )
    assert parse_changes(
        [
            {"kind": "remove_couriers", "ids": ["c01"]},
            {"kind": "add_couriers", "count": 1},
            {
                "kind": "traffic",
                "profile": [{"start": "07:30", "end": "09:30", "factor": 1.5}, ["17:00", "19:00", 1.3]],
            },
            {"kind": "slot_width", "minutes": 60},
            {"kind": "shift_offset", "minutes": -30, "move_breaks": False},
            {"kind": "service_scale", "factor": 1.2},
            {"kind": "demand_scale", "factor": 0.8, "seed": 5, "jitter_m": 50},
        ]
    ) == (
        RemoveCouriers(ids=("c01",)),
        AddCouriers(count=1),
        Traffic(profile=(TrafficPeriod(int(7.5 * H), int(9.5 * H), 1.5), TrafficPeriod(17 * H, 19 * H, 1.3))),
        SlotWidth(minutes=60),
        ShiftOffset(minutes=-30, move_breaks=False),
        ServiceScale(factor=1.2),
        DemandScale(factor=0.8, seed=5, jitter_m=50),
    )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ([{"kind": "remove_couriers", "count": 1}, {"kind": "teleport"}], ["changes[1].kind"]),
        ([{"count": 2}], ["changes[0].kind"]),
        ([{"kind": "add_couriers"}], ["changes[0].count"]),
        ([{"kind": "add_couriers", "count": 2, "colour": "red"}], ["changes[0].colour"]),
        ([{"kind": "add_couriers", "count": 1.5}], ["changes[0].count"]),
        ([{"kind": "add_couriers", "count": True}], ["changes[0].count"]),
        ([{"kind": "remove_couriers", "count": 0}], ["changes[0].count"]),
        ([{"kind": "remove_couriers", "ids": "c01"}], ["changes[0].ids"]),
        ([{"kind": "demand_scale", "factor": "lots"}], ["changes[0].factor"]),
        ([{"kind": "demand_scale", "factor": -1}], ["changes[0].factor"]),
        ([{"kind": "traffic", "profile": [["7:00", "25:00x", 1.2]]}], ["changes[0].profile[0].end"]),
        ([{"kind": "traffic", "profile": [{"start": "07:00", "factor": 1.2}]}], ["changes[0].profile[0]"]),
        ([{"kind": "slot_width", "minutes": 0}], ["changes[0].minutes"]),
        ([{"kind": "shift_offset", "minutes": 30, "move_breaks": "yes"}], ["changes[0].move_breaks"]),
        (
            [{"kind": "service_scale"}, {"kind": "slot_width", "minutes": 60, "x": 1}],
            ["changes[0].factor", "changes[1].x"],
        ),
        (["remove_couriers"], ["changes[0]"]),
    ],
)
def test_wire_mistakes_name_the_position_and_key(changes: list[Any], fields: list[str]) -> None:
    with pytest.raises(InvalidChange) as caught:
        parse_changes(changes)
    assert [issue.field for issue in caught.value.issues] == fields
    assert isinstance(caught.value, InvalidProblem)


def test_parse_changes_names_the_enclosing_field() -> None:
    with pytest.raises(InvalidChange) as caught:
        parse_changes([{"kind": "traffic"}], where="variants[2].changes")
    assert caught.value.issues[0].field == "variants[2].changes[0].factor"
    assert caught.value.issues[0].id == "traffic"


def test_a_change_that_does_not_fit_the_day_names_its_position() -> None:
    with pytest.raises(InvalidChange) as caught:
        apply_changes(BASE, [ServiceScale(1.1), RemoveCouriers(ids=("nobody",))])
    assert caught.value.issues[0].field == "changes[1].ids"


def test_a_change_that_breaks_the_day_is_blamed_before_the_days_issues() -> None:
    van = replace(_courier("van"), capacity=(100,))
    bike = replace(_courier("bike"), capacity=(10,))
    stop = Stop("heavy", Location(1.0, 1.0, planar=True), (TimeWindow(9 * H, 11 * H),), 60, (50,))
    problem = Problem("tiny", (Depot("hub", Location(0.0, 0.0, planar=True)),), (van, bike), (stop,), ("kg",))
    with pytest.raises(InvalidChange) as caught:
        apply_changes(problem, [RemoveCouriers(ids=("van",))])
    assert [(i.field, i.id) for i in caught.value.issues] == [
        ("changes[0]", "remove_couriers"),
        ("stops.demand", "heavy"),
    ]


def test_changes_must_be_a_list() -> None:
    with pytest.raises(InvalidChange, match="must be a list"):
        parse_changes("remove_couriers")  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------

factors = st.floats(min_value=0.05, max_value=3.0, allow_nan=False)
variants: st.SearchStrategy[Variant] = st.one_of(
    st.builds(RemoveCouriers, count=st.integers(1, 2)),
    st.builds(AddCouriers, count=st.integers(1, 3)),
    st.builds(DemandScale, factor=factors, seed=st.integers(0, 2**32)),
    st.builds(Traffic, factor=st.floats(min_value=0.5, max_value=3.0)),
    st.builds(SlotWidth, minutes=st.sampled_from([30, 60, 90, 120, 180, 240, 600])),
    st.builds(ShiftOffset, minutes=st.integers(-120, 180)),
    st.builds(ServiceScale, factor=st.floats(min_value=0.0, max_value=3.0)),
)
chains = st.lists(variants, min_size=1, max_size=4)
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _applied(chain: list[Variant]) -> Scenario | None:
    """The chain applied to the base day, or None when it removes every courier (the one
    refusal these chains can meet)."""
    try:
        return apply_changes(BASE, chain)
    except InvalidChange as exc:
        assert "one must stay" in str(exc)
        assume(False)
        return None


@quick
@given(chains)
def test_any_chain_gives_a_valid_day_with_unique_stop_ids(chain: list[Variant]) -> None:
    scenario = _applied(chain)
    assert scenario is not None
    ids = [s.id for s in scenario.problem.stops]
    assert len(ids) == len(set(ids))
    assert scenario.problem.couriers
    assert scenario.travel_factor > 0


@quick
@given(chains)
def test_chains_are_deterministic_and_leave_the_base_alone(chain: list[Variant]) -> None:
    before = replace(BASE)
    assert _applied(chain) == _applied(chain)
    assert before == BASE


@quick
@given(chains)
def test_the_wire_form_round_trips(chain: list[Variant]) -> None:
    assert parse_changes([v.to_wire() for v in chain]) == tuple(chain)


@quick
@given(chains, st.integers(1, 4))
def test_removing_couriers_never_adds_any(chain: list[Variant], count: int) -> None:
    scenario = _applied(chain)
    assert scenario is not None
    problem = scenario.problem
    if count < len(problem.couriers):
        assert len(RemoveCouriers(count=count).apply(problem).couriers) == len(problem.couriers) - count
    kept = RemoveCouriers(ids=(problem.couriers[-1].id,)).apply(problem) if len(problem.couriers) > 1 else problem
    assert len(kept.couriers) <= len(problem.couriers)


@quick
@given(factors, st.integers(0, 1000))
def test_demand_scale_reaches_its_stop_count(factor: float, seed: int) -> None:
    assert len(DemandScale(factor, seed=seed).apply(BASE).stops) == round(len(BASE.stops) * factor)


@quick
@given(st.integers(1, 600))
def test_slot_width_gives_every_window_at_least_that_width(minutes: int) -> None:
    changed = SlotWidth(minutes=minutes).apply(BASE)
    for before, after in zip(BASE.stops, changed.stops):
        assert after.id == before.id
        assert all(w.end_s - w.start_s >= minutes * 60 or w.start_s == 0 for w in after.windows)
        assert len(after.windows) <= len(before.windows)
        if len(after.windows) == len(before.windows):
            assert all(w.end_s - w.start_s == minutes * 60 for w in after.windows if w.start_s > 0)


@quick
@given(st.integers(-300, 300))
def test_shift_offset_there_and_back_is_no_change(minutes: int) -> None:
    assert ShiftOffset(-minutes).apply(ShiftOffset(minutes).apply(BASE)) == BASE


@quick
@given(
    st.lists(
        st.tuples(st.integers(0, 23), st.integers(1, 3), st.floats(min_value=0.5, max_value=3.0)),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
def test_a_profiles_factor_lies_between_its_extremes(periods: list[tuple[int, int, float]]) -> None:
    starts = sorted(periods)
    profile = []
    for k, (hour, length, factor) in enumerate(starts):
        end = min(hour + length, starts[k + 1][0] if k + 1 < len(starts) else 48)
        profile.append(TrafficPeriod(hour * H, end * H, factor))
    factor = Traffic(profile=tuple(profile)).travel_factor(BASE)
    low = min(1.0, *(p.factor for p in profile))
    high = max(1.0, *(p.factor for p in profile))
    assert low - 1e-9 <= factor <= high + 1e-9
