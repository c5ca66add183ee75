"""The live-day invariant checker: each rule holds on a day timed by `retime` and is broken by
a small hand-made one. Planar line days: one unit is one metre and one second."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from optimizer.events import OpenCall
from optimizer.handover import Handover, with_handovers
from optimizer.invariants import (
    BREAKS_TAKEN_ONCE,
    CAPACITY_HOLDS,
    ETAS_FOLLOW_TRAVEL,
    EVERY_STOP_ONCE,
    LATENESS_AS_BOOKED,
    NO_ETA_BEFORE_OWN_CLOCK,
    ONE_CALL_PER_LATE_STOP,
    PARCELS_STAY_ON_THEIR_VAN,
    RULES,
    SERVED_NEVER_MOVE,
    DayCheck,
    InvariantBroken,
    Violation,
    assert_day,
    check_day,
)
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.replan import CourierEvent, CourierState, DayState, LivePlan, Progress, retime
from optimizer.schedule import BreakTiming
from optimizer.solution import Route, Unassigned
from optimizer.travel.euclidean import EuclideanSource

SOURCE = EuclideanSource(scale=1)
LUNCH = Break("lunch", 100, 2_000, 300)


def at(x: float) -> Location:
    return Location(0, x, planar=True)


def line_day(
    windows: list[tuple[int, int]],
    couriers: int = 1,
    capacity: tuple[int, ...] = (),
    breaks: tuple[Break, ...] = (),
    spacing: float = 100.0,
) -> Problem:
    """Stops at x = 100, 200, ... from the depot at 0 (`spacing` apart); service 10 s each;
    demand 1 when couriers have a capacity; `breaks` for the first courier."""
    demand = (1,) if capacity else ()
    stops = tuple(
        Stop(f"s{k + 1}", at(spacing * (k + 1)), (TimeWindow(a, b),), 10, demand) for k, (a, b) in enumerate(windows)
    )
    fleet = tuple(
        Courier(f"c{k + 1}", "hub", 0, 100_000, capacity, profile="planar", breaks=breaks if k == 0 else ())
        for k in range(couriers)
    )
    return Problem("line", (Depot("hub", at(0)),), fleet, stops, ("parcels",) if capacity else ())


def plan(problem: Problem, *routes: tuple[str, ...], left_out: tuple[Unassigned, ...] = (), now_s: int = 0) -> LivePlan:
    return LivePlan(problem, tuple(Route(f"c{k + 1}", r) for k, r in enumerate(routes)), {}, left_out, now_s)


def broken(found: tuple[Violation, ...], rule: str) -> set[str]:
    """Subjects `rule` found broken."""
    return {v.subject for v in found if v.rule == rule}


def check(live: LivePlan, **kwargs: object) -> tuple[Violation, ...]:
    return check_day(live, retime(live, SOURCE), source=SOURCE, **kwargs)  # type: ignore[arg-type]


def with_visits(day: DayState, courier: int, **changes: dict[str, object]) -> DayState:
    """`day` with some visits of one courier changed (by stop id)."""
    state = day.couriers[courier]
    visits = tuple(replace(v, **changes[v.stop_id]) if v.stop_id in changes else v for v in state.visits)  # type: ignore[arg-type]
    couriers = tuple(replace(state, visits=visits) if k == courier else c for k, c in enumerate(day.couriers))
    return replace(day, couriers=couriers)


def report(live: LivePlan, courier: str, kind: str, at_s: int, **fields: object) -> LivePlan:
    return live.with_event(CourierEvent(f"{kind}-{at_s}", courier, kind, at_s, **fields))  # type: ignore[arg-type]


# -- every_stop_once ----------------------------------------------------------------------


def test_a_day_of_routed_served_and_left_out_stops_keeps_every_invariant() -> None:
    problem = line_day([(0, 5_000)] * 4, couriers=2, capacity=(3,), breaks=(LUNCH,))
    live = plan(problem, ("s1", "s2"), ("s3",), left_out=(Unassigned("s4", "no room"),))
    live = report(live, "c1", "stop_completed", 120, stop_id="s1")
    live = report(live, "c2", "delay", 150, delay_s=400)
    assert check(live, calls={"s4": OpenCall("k1", "s4", "dropped", None)}) == ()


def test_a_stop_neither_routed_nor_left_out_has_vanished() -> None:
    live = plan(line_day([(0, 5_000)] * 2), ("s1",))
    assert broken(check(live), EVERY_STOP_ONCE) == {"s2"}


def test_a_stop_both_routed_and_left_out_or_on_two_routes_is_there_twice() -> None:
    problem = line_day([(0, 5_000)] * 3, couriers=2)
    assert broken(check(plan(problem, ("s1", "s2"), ("s3", "s2"))), EVERY_STOP_ONCE) == {"s2"}
    twice = plan(problem, ("s1", "s2"), ("s3",), left_out=(Unassigned("s2", "no room"),))
    assert broken(check(twice), EVERY_STOP_ONCE) == {"s2"}


def test_a_stop_left_out_needs_a_reason_and_routes_name_known_stops() -> None:
    problem = line_day([(0, 5_000)] * 2)
    assert broken(check(plan(problem, ("s1",), left_out=(Unassigned("s2", " "),))), EVERY_STOP_ONCE) == {"s2"}
    assert broken(check(plan(problem, ("s1", "s9", "s2"))), EVERY_STOP_ONCE) == {"s9"}


# -- one_call_per_late_stop ---------------------------------------------------------------


def late_day() -> LivePlan:
    """s1 on time (100), s2 late (210, window ends 150), s3 left out."""
    problem = line_day([(0, 1_000), (0, 150), (0, 1_000)])
    return plan(problem, ("s1", "s2"), left_out=(Unassigned("s3", "no room"),))


def test_every_late_or_left_out_stop_has_one_open_call_of_its_kind() -> None:
    calls = {"s2": OpenCall("k2", "s2", "late", 210), "s3": OpenCall("k3", "s3", "dropped", None)}
    assert check(late_day(), calls=calls) == ()
    assert broken(check(late_day(), calls={}), ONE_CALL_PER_LATE_STOP) == {"s2", "s3"}
    wrong_kind = {**calls, "s3": OpenCall("k3", "s3", "late", None)}
    assert broken(check(late_day(), calls=wrong_kind), ONE_CALL_PER_LATE_STOP) == {"s3"}


def test_no_late_call_stays_open_on_a_stop_on_time_served_accepted_late_or_gone() -> None:
    calls = {"s2": OpenCall("k2", "s2", "late", 210), "s3": OpenCall("k3", "s3", "dropped", None)}
    on_time = {**calls, "s1": OpenCall("k1", "s1", "late", 100)}
    assert broken(check(late_day(), calls=on_time), ONE_CALL_PER_LATE_STOP) == {"s1"}
    served = report(late_day(), "c1", "stop_completed", 300, stop_id="s2")
    assert broken(check(served, calls=calls), ONE_CALL_PER_LATE_STOP) == {"s2"}
    assert check(late_day(), calls={"s3": calls["s3"]}, quiet={"s2"}) == ()  # accepted late: no call
    assert broken(check(late_day(), calls=calls, quiet={"s2"}), ONE_CALL_PER_LATE_STOP) == {"s2"}
    gone = {**calls, "s7": OpenCall("k7", "s7", "late", 400)}
    assert broken(check(late_day(), calls=gone), ONE_CALL_PER_LATE_STOP) == {"s7"}


def test_calls_are_checked_only_when_given() -> None:
    assert broken(check(late_day()), ONE_CALL_PER_LATE_STOP) == set()


# -- served_never_move --------------------------------------------------------------------


def test_a_served_stop_stays_with_its_courier() -> None:
    problem = line_day([(0, 5_000)] * 3, couriers=2)
    live = report(plan(problem, ("s1", "s2"), ("s3",)), "c1", "stop_completed", 120, stop_id="s1")
    before = retime(live, SOURCE)
    later = report(live, "c2", "position", 400, position=at(250))
    assert check(later, before=before, before_plan=live) == ()
    moved = replace(live, routes=(Route("c1", ("s2",)), Route("c2", ("s1", "s3"))))
    assert broken(check(moved, before=before, before_plan=live), SERVED_NEVER_MOVE) == {"s1"}


def test_a_failed_stop_opens_again_only_when_rebooked() -> None:
    problem = line_day([(0, 5_000)] * 2)
    live = report(plan(problem, ("s1", "s2")), "c1", "stop_failed", 120, stop_id="s1")
    before = retime(live, SOURCE)
    reopened = replace(live, progress={"c1": replace(live.progress_of("c1"), failed={})})
    assert broken(check(reopened, before=before, before_plan=live), SERVED_NEVER_MOVE) == {"s1"}
    stops = (replace(problem.stops[0], windows=(TimeWindow(3_000, 4_000),)), problem.stops[1])
    rebooked = replace(reopened, problem=replace(problem, stops=stops))
    assert check(rebooked, before=before, before_plan=live) == ()
    # rebooked to the very window it had: a rebooking all the same, when the change says so
    assert check(reopened, before=before, before_plan=live, rebooked=["s1"]) == ()
    retried = report(live, "c1", "stop_completed", 300, stop_id="s1")
    assert check(retried, before=before, before_plan=live) == ()


def test_the_stop_being_driven_to_stays_first() -> None:
    problem = line_day([(0, 5_000)] * 3, couriers=2)
    live = plan(problem, ("s1", "s2", "s3"), (), now_s=150)  # s1 served at 100, driving to s2
    before = retime(live, SOURCE)
    assert before.couriers[0].next_stop == "s2"
    assert check(report(live, "c2", "position", 400, position=at(0)), before=before, before_plan=live) == ()
    reordered = replace(live, routes=(Route("c1", ("s1", "s3", "s2")), Route("c2", ())))
    assert broken(check(reordered, before=before, before_plan=live), SERVED_NEVER_MOVE) == {"s2"}
    given_away = replace(live, routes=(Route("c1", ("s1", "s3")), Route("c2", ("s2",))))
    assert broken(check(given_away, before=before, before_plan=live), SERVED_NEVER_MOVE) == {"s2"}
    # without the plan before, who reported is unknown: only served stops are checked
    assert broken(check(reordered, before=before), SERVED_NEVER_MOVE) == set()


def test_a_couriers_own_report_may_say_where_they_really_are() -> None:
    problem = line_day([(0, 5_000)] * 3)
    live = plan(problem, ("s1", "s2", "s3"), now_s=150)
    before = retime(live, SOURCE)
    behind = report(live, "c1", "position", 160, position=at(50))  # not at s1 yet: s1 is next again
    assert retime(behind, SOURCE).couriers[0].next_stop == "s1"
    assert check(behind, before=before, before_plan=live) == ()


# -- no_eta_before_own_clock --------------------------------------------------------------


def test_nothing_left_starts_before_the_couriers_latest_report() -> None:
    problem = line_day([(0, 5_000)] * 2)
    live = report(plan(problem, ("s1", "s2")), "c1", "position", 500, position=at(0))
    assert check(live) == ()
    stale = replace(live, progress={"c1": Progress(last_report_s=500)}, now_s=0)  # a clock the timing never saw
    assert broken(check(stale), NO_ETA_BEFORE_OWN_CLOCK) == {"s1", "s2"}


def test_nothing_left_starts_during_a_reported_hold() -> None:
    problem = line_day([(0, 5_000)] * 2)
    live = plan(problem, ("s1", "s2"))
    held = report(live, "c1", "delay", 50, delay_s=1_000)
    assert check(held) == ()
    found = check_day(held, retime(live, SOURCE))  # timed as if the hold had not been reported
    assert broken(found, NO_ETA_BEFORE_OWN_CLOCK) == {"s1", "s2"}
    back_at_work = report(held, "c1", "stop_completed", 300, stop_id="s1")  # the hold ended early
    assert retime(back_at_work, SOURCE).couriers[0].visits[1].eta_s < 1_050
    assert check(back_at_work) == ()


# -- etas_follow_travel -------------------------------------------------------------------


def test_etas_leave_time_for_every_leg() -> None:
    near = plan(line_day([(0, 5_000)] * 3), ("s1", "s2", "s3"))
    far = replace(near, problem=line_day([(0, 5_000)] * 3, spacing=300.0))
    assert check_day(near, retime(near, SOURCE), source=SOURCE) == ()
    found = check_day(far, retime(near, SOURCE), source=SOURCE)  # timed 100 apart, they are 300 apart
    assert broken(found, ETAS_FOLLOW_TRAVEL) == {"s1", "s2", "s3"}
    assert broken(check_day(far, retime(near, SOURCE)), ETAS_FOLLOW_TRAVEL) == set()  # no source: no legs


def test_the_first_stop_left_is_a_leg_after_the_last_stop_reported() -> None:
    live = report(plan(line_day([(0, 5_000)] * 2), ("s1", "s2")), "c1", "stop_completed", 500, stop_id="s1")
    day = retime(live, SOURCE)
    assert check_day(live, day, source=SOURCE) == ()
    timing = day.couriers[0].visits[1].timing
    assert timing is not None
    early = replace(timing, arrival_s=520, start_s=520, departure_s=530)
    too_soon = with_visits(day, 0, s2={"eta_s": 520, "timing": early})
    assert broken(check_day(live, too_soon, source=SOURCE), ETAS_FOLLOW_TRAVEL) == {"s2"}


def test_service_starts_when_the_window_opens_never_before() -> None:
    live = plan(line_day([(0, 5_000), (1_000, 5_000)]), ("s1", "s2"))
    day = retime(live, SOURCE)
    visit = day.couriers[0].visits[1]
    assert visit.timing is not None and visit.timing.wait_s > 0 and visit.eta_s == 1_000
    early = replace(visit.timing, start_s=900, wait_s=690, departure_s=910)
    assert broken(check_day(live, with_visits(day, 0, s2={"eta_s": 900, "timing": early})), ETAS_FOLLOW_TRAVEL) == {
        "s2"
    }
    late_start = replace(visit.timing, start_s=1_100, wait_s=890, departure_s=1_110)
    found = check_day(live, with_visits(day, 0, s2={"eta_s": 1_100, "timing": late_start}), source=SOURCE)
    assert broken(found, ETAS_FOLLOW_TRAVEL) == {"s2"}  # waited past the opening


# -- lateness_as_booked -------------------------------------------------------------------


def test_visits_are_timed_against_the_windows_booked_now() -> None:
    problem = line_day([(0, 5_000)] * 2)
    live = plan(problem, ("s1", "s2"))
    stops = (problem.stops[0], replace(problem.stops[1], windows=(TimeWindow(0, 150),)))
    rebooked = replace(live, problem=replace(problem, stops=stops))
    assert check(rebooked) == ()
    stale = check_day(rebooked, retime(live, SOURCE))  # timed before the rebooking
    assert broken(stale, LATENESS_AS_BOOKED) == {"s2"}
    understated = with_visits(retime(rebooked, SOURCE), 0, s2={"late_s": 0})
    assert broken(check_day(rebooked, understated), LATENESS_AS_BOOKED) == {"s2"}


# -- breaks_taken_once --------------------------------------------------------------------


def lunch_day(now_s: int) -> LivePlan:
    """Lunch after s3 (330-630)."""
    return plan(line_day([(0, 5_000)] * 3, breaks=(LUNCH,)), ("s1", "s2", "s3"), now_s=now_s)


def with_breaks(day: DayState, *breaks: BreakTiming) -> DayState:
    state: CourierState = day.couriers[0]
    return replace(day, couriers=(replace(state, timed=replace(state.timed, breaks=breaks)), *day.couriers[1:]))


def test_a_break_is_taken_once() -> None:
    live = lunch_day(0)
    day = retime(live, SOURCE)
    assert [(b.break_id, b.start_s) for b in day.couriers[0].timed.breaks] == [("lunch", 330)]
    assert check_day(live, day) == ()
    twice = with_breaks(day, BreakTiming("lunch", 330, 630), BreakTiming("lunch", 700, 1_000))
    assert broken(check_day(live, twice), BREAKS_TAKEN_ONCE) == {"c1"}
    foreign = with_breaks(day, BreakTiming("nap", 330, 630))
    assert broken(check_day(live, foreign), BREAKS_TAKEN_ONCE) == {"c1"}


def test_no_stop_is_served_during_a_break() -> None:
    live = lunch_day(0)
    day = retime(live, SOURCE)
    assert check_day(live, with_breaks(day, BreakTiming("lunch", 320, 320))) == ()  # a break of no time
    assert check_day(live, with_breaks(day, BreakTiming("lunch", 330, 630))) == ()  # right after s3
    during = with_breaks(day, BreakTiming("lunch", 300, 600))  # s3 is served at 320-330
    assert broken(check_day(live, during), BREAKS_TAKEN_ONCE) == {"s3"}


def test_no_stop_behind_a_courier_was_served_during_a_break_taken() -> None:
    live = lunch_day(700)  # s1-s3 presumed served (100, 210, 320), lunch taken 330-630
    day = retime(live, SOURCE)
    assert [v.status for v in day.couriers[0].visits] == ["presumed"] * 3
    assert day.couriers[0].breaks_taken == ("lunch",) and check_day(live, day) == ()
    during = with_breaks(day, BreakTiming("lunch", 200, 500))  # s2 presumed served at 210
    assert broken(check_day(live, during), BREAKS_TAKEN_ONCE) == {"s2", "s3"}


def test_a_stop_presumed_before_a_report_that_leaves_it_no_time_was_done_when_that_began() -> None:
    # s3 reported done at 215 (and begun then): s2, presumed at 210 with 10 s of service, was
    # squeezed to end when s3 began; a break from 216 is beside both, one from 212 is not
    live = report(lunch_day(700), "c1", "stop_completed", 215, stop_id="s3")
    state = retime(live, SOURCE).couriers[0]
    visits = tuple(
        replace(v, eta_s=210, timing=None) if v.stop_id == "s2" else replace(v, eta_s=215) if v.stop_id == "s3" else v
        for v in state.visits
    )
    assert [(v.stop_id, v.status, v.eta_s) for v in visits][1:] == [("s2", "presumed", 210), ("s3", "done", 215)]
    day = replace(retime(live, SOURCE), couriers=(replace(state, visits=visits, breaks_taken=("lunch",)),))
    assert broken(check_day(live, with_breaks(day, BreakTiming("lunch", 216, 516))), BREAKS_TAKEN_ONCE) == set()
    assert broken(check_day(live, with_breaks(day, BreakTiming("lunch", 212, 512))), BREAKS_TAKEN_ONCE) == {"s2", "s3"}


def test_a_break_begun_is_not_scheduled_again() -> None:
    live = lunch_day(500)
    before = retime(live, SOURCE)
    later = replace(live, now_s=900)
    assert check_day(later, retime(later, SOURCE), before=before, before_plan=live) == ()
    moved = with_breaks(retime(later, SOURCE), BreakTiming("lunch", 950, 1_250))
    assert broken(check_day(later, moved, before=before, before_plan=live), BREAKS_TAKEN_ONCE) == {"c1"}


# -- capacity_holds -----------------------------------------------------------------------


def test_a_van_not_yet_gone_carries_its_whole_route() -> None:
    assert broken(check(plan(line_day([(0, 5_000)] * 3, capacity=(3,)), ("s1", "s2", "s3"))), CAPACITY_HOLDS) == set()
    overloaded = plan(line_day([(0, 5_000)] * 3, capacity=(2,)), ("s1", "s2", "s3"))
    assert broken(check(overloaded), CAPACITY_HOLDS) == {"c1"}


def test_a_stop_a_courier_reports_served_is_a_fact_not_a_load() -> None:
    # the plan gave c1 two parcels; c1 also served s3 (say, picked up at the hub on the way):
    # what is left to carry still fits, and the report must not be refused for it
    live = plan(line_day([(0, 5_000)] * 3, capacity=(2,)), ("s3", "s1", "s2"))
    served = report(live, "c1", "stop_completed", 320, stop_id="s3")
    assert broken(check(served), CAPACITY_HOLDS) == set()


@pytest.mark.parametrize(
    ("taker_route", "broken_for"), [(("s3", "s4", "take", "s2"), set()), (("take", "s2", "s3", "s4"), {"c2"})]
)
def test_a_hand_over_fills_the_takers_van_only_from_the_meeting(
    taker_route: tuple[str, ...], broken_for: set[str]
) -> None:
    problem = replace(line_day([(0, 5_000)] * 4, couriers=2, capacity=(2,)), handover_s=60)
    meeting = Handover("c1", "c2", ("s2",), at(100), 100)
    problem = with_handovers(problem, (meeting,))
    taker = tuple(meeting.take_id if s == "take" else s for s in taker_route)
    live = replace(plan(problem, ("s1", meeting.give_id), taker), handovers=(meeting,), loaded={"s1": "c1", "s2": "c1"})
    assert broken(check(live), CAPACITY_HOLDS) == broken_for


# -- the checker itself -------------------------------------------------------------------


def test_assert_day_lists_every_broken_invariant() -> None:
    live = plan(line_day([(0, 5_000)] * 3), ("s1",))
    with pytest.raises(InvariantBroken) as raised:
        assert_day(live, retime(live, SOURCE))
    assert {v.subject for v in raised.value.violations} == {"s2", "s3"}
    assert "every_stop_once [s2]" in str(raised.value)
    assert_day(plan(line_day([(0, 5_000)]), ("s1",)), retime(plan(line_day([(0, 5_000)]), ("s1",)), SOURCE))


def test_more_rules_plug_in_beside_the_built_in_ones() -> None:
    seen: list[DayCheck] = []

    def no_empty_route(check: DayCheck) -> Iterator[Violation]:
        seen.append(check)
        for route in check.live.routes:
            if not route.stop_ids:
                yield Violation("no_empty_route", route.courier_id, "an idle courier")

    live = plan(line_day([(0, 5_000)], couriers=2), ("s1",), ())
    found = check_day(live, retime(live, SOURCE), rules=(*RULES, no_empty_route))
    assert found == (Violation("no_empty_route", "c2", "an idle courier"),) and seen[0].live is live


# -- parcels_stay_on_their_van -------------------------------------------------------------


def test_a_loaded_parcel_on_another_van_without_a_hand_over_breaks_parcels_stay_on_their_van() -> None:
    problem = _parcel_day()
    moved = LivePlan(problem, (Route("c1", ("s1",)), Route("c2", ("s2",))), {}, loaded={"s2": "c1"})
    assert [v.rule for v in check_day(moved, retime(moved, SOURCE))] == [PARCELS_STAY_ON_THEIR_VAN]
    handed = replace(moved, handovers=(Handover("c1", "c2", ("s2",), Location(0, 100, planar=True), 100),))
    assert PARCELS_STAY_ON_THEIR_VAN not in {v.rule for v in check_day(handed, retime(handed, SOURCE))}
    kept = replace(moved, routes=(Route("c1", ("s1", "s2")), Route("c2", ())))
    assert PARCELS_STAY_ON_THEIR_VAN not in {v.rule for v in check_day(kept, retime(kept, SOURCE))}


def _parcel_day() -> Problem:
    stops = tuple(Stop(f"s{k}", Location(0, 100.0 * k, planar=True), (TimeWindow(0, 5_000),), 10) for k in (1, 2))
    fleet = tuple(Courier(f"c{k}", "hub", 0, 100_000, profile="planar") for k in (1, 2))
    return Problem("parcels", (Depot("hub", Location(0, 0, planar=True)),), fleet, stops)
