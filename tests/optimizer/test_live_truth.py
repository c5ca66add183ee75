"""The live day tells the truth under reports as they really come: positions between stops,
holds while waiting, breaks, stale and out-of-order reports, stops that must never vanish.

Each test is one finding of the outside review (issue 10), on hand-checkable planar days:
one planar unit is one metre and one second.
"""

from __future__ import annotations

from dataclasses import replace

from optimizer.invariants import check_day
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.replan import (
    CourierEvent,
    LivePlan,
    ReplanPolicy,
    change_stop,
    hold_the_past,
    reopen_failed,
    reoptimize,
    retime,
    retime_courier,
    served_elsewhere,
)
from optimizer.solution import Route, Unassigned
from optimizer.travel.euclidean import EuclideanSource

SOURCE = EuclideanSource(scale=1)
POLICY = ReplanPolicy(time_limit_s=5.0, iterations=200)


def at(x: float) -> Location:
    return Location(0, x, planar=True)


def line_day(
    windows: list[tuple[int, int]], couriers: int = 1, breaks: tuple[Break, ...] = (), capacity: tuple[int, ...] = ()
) -> Problem:
    """Stops at x = 100, 200, ... from the depot at 0; service 10 s each; demand 1 if capacities."""
    demand = (1,) if capacity else ()
    stops = tuple(
        Stop(f"s{k + 1}", at(100.0 * (k + 1)), (TimeWindow(a, b),), 10, demand) for k, (a, b) in enumerate(windows)
    )
    fleet = tuple(
        Courier(f"c{k + 1}", "hub", 0, 100_000, capacity, profile="planar", breaks=breaks if k == 0 else ())
        for k in range(couriers)
    )
    return Problem("line", (Depot("hub", at(0)),), fleet, stops, ("parcels",) if capacity else ())


def timeline(plan: LivePlan, courier: int = 0) -> list[tuple[str, str, int]]:
    return [(v.stop_id, v.status, v.eta_s) for v in retime(plan, SOURCE).couriers[courier].visits]


def test_a_position_between_stops_presumes_the_stops_behind_it_served() -> None:
    plan = LivePlan(line_day([(0, 300)] * 3), (Route("c1", ("s1", "s2", "s3")),), {})
    # on plan: s1 at 100, s2 at 210, s3 at 320; at 250 the courier is between s2 and s3
    seen = plan.with_event(CourierEvent("p", "c1", "position", 250, position=at(250)))
    assert timeline(seen) == [("s1", "presumed", 100), ("s2", "presumed", 210), ("s3", "next", 300)]
    assert not retime(seen, SOURCE).at_risk


def test_a_position_behind_the_plan_sends_the_courier_on_not_back() -> None:
    plan = LivePlan(line_day([(0, 5_000)] * 3), (Route("c1", ("s1", "s2", "s3")),), {})
    # by the plan s1 and s2 are done at 250, but the courier is still before s2
    seen = plan.with_event(CourierEvent("p", "c1", "position", 250, position=at(150)))
    assert timeline(seen) == [("s1", "presumed", 100), ("s2", "next", 300), ("s3", "ahead", 410)]


def test_a_hold_while_waiting_for_a_window_delays_the_stop() -> None:
    plan = LivePlan(line_day([(0, 1_000), (1_000, 1_100)]), (Route("c1", ("s1", "s2")),), {})
    assert timeline(plan)[1] == ("s2", "ahead", 1_000)  # arrives at 210, waits for 1000
    held = plan.with_event(CourierEvent("d", "c1", "delay", 900, delay_s=300))
    day = retime(held, SOURCE)
    assert [(v.stop_id, v.eta_s, v.late_s) for v in day.couriers[0].visits] == [("s1", 100, 0), ("s2", 1_200, 100)]
    assert day.at_risk


LUNCH = Break("lunch", 150, 800, 300)


def test_a_break_taken_before_a_report_is_not_taken_again() -> None:
    # s3 opens at 700: lunch fits in the wait before it (220-520); s4 must start by 900
    problem = line_day([(0, 5_000), (0, 5_000), (700, 5_000), (0, 900)], breaks=(LUNCH,))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3", "s4")),), {})
    assert [b.start_s for b in retime(plan, SOURCE).couriers[0].timed.breaks] == [220]
    done = plan.with_event(CourierEvent("d3", "c1", "stop_completed", 710, stop_id="s3"))
    day = retime(done, SOURCE)
    assert timeline(done)[-1] == ("s4", "ahead", 810)
    assert not day.at_risk
    assert [b.break_id for b in day.couriers[0].timed.breaks] == ["lunch"]


def test_a_break_not_taken_by_its_latest_start_is_taken_late_not_forgotten() -> None:
    early_lunch = Break("lunch", 0, 300, 600)
    problem = line_day([(0, 5_000)] * 3, breaks=(early_lunch,))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    # planned after s2 (220-820); the courier is slow: s1 done only at 500
    slow = plan.with_event(CourierEvent("d1", "c1", "stop_completed", 500, stop_id="s1"))
    state = retime(slow, SOURCE).couriers[0]
    assert [(b.break_id, b.start_s) for b in state.timed.breaks] == [("lunch", 500)]
    assert [v.eta_s for v in state.visits] == [490, 1_200, 1_310]
    assert any(v.kind == "break_late" for v in state.timed.violations)
    assert state.breaks_left == (early_lunch,) and state.breaks_taken == ()


def test_a_delay_with_a_position_keeps_the_stop_being_driven_to() -> None:
    plan = LivePlan(line_day([(0, 5_000)] * 3, couriers=2), (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    held = plan.with_event(CourierEvent("d", "c1", "delay", 150, position=at(150), delay_s=500))
    state = retime(held, SOURCE).couriers[0]
    assert state.next_stop == "s2"
    assert [(v.stop_id, v.status, v.eta_s) for v in state.visits] == [
        ("s1", "presumed", 100),
        ("s2", "next", 700),
        ("s3", "ahead", 810),
    ]
    moved = reoptimize(held, retime(held, SOURCE), SOURCE, POLICY)
    assert next(r for r in moved.routes if r.courier_id == "c1").stop_ids[:2] == ("s1", "s2")


def test_an_older_delay_does_not_override_a_newer_completion() -> None:
    plan = LivePlan(line_day([(0, 5_000)] * 3), (Route("c1", ("s1", "s2", "s3")),), {})
    done = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 500, stop_id="s2"))
    late_news = done.with_event(CourierEvent("h", "c1", "delay", 300, position=at(150), delay_s=1_000))
    assert timeline(late_news)[-1] == ("s3", "ahead", 600)
    assert timeline(late_news) == timeline(done)


def test_unreported_stops_before_a_report_are_timed_as_late_as_it_shows() -> None:
    plan = LivePlan(line_day([(0, 500), (0, 500), (0, 5_000)]), (Route("c1", ("s1", "s2", "s3")),), {})
    # s3 reported done at 3000: s1 and s2, not reported, were served on the way, late
    done = plan.with_event(CourierEvent("d3", "c1", "stop_completed", 3_000, stop_id="s3"))
    day = retime(done, SOURCE)
    assert [(v.stop_id, v.status, v.eta_s, v.late_s) for v in day.couriers[0].visits] == [
        ("s1", "presumed", 2_770, 2_270),
        ("s2", "presumed", 2_880, 2_380),
        ("s3", "done", 2_990, 0),
    ]


def test_a_courier_s_own_delay_counts_after_a_re_plan_made_on_another_courier_s_clock() -> None:
    problem = line_day([(0, 5_000)] * 3 + [(0, 90_000)], couriers=2)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ("s4",))), {})
    # c2's clock runs an hour ahead: by it, c1 has served everything
    ahead = plan.with_event(CourierEvent("p2", "c2", "position", 3_600, position=at(400)))
    replanned = reoptimize(ahead, retime(ahead, SOURCE), SOURCE, POLICY)
    assert {v.status for v in retime(replanned, SOURCE).couriers[0].visits} == {"presumed"}
    # c1's own report: held for an hour at 150, before s2
    held = replanned.with_event(CourierEvent("d", "c1", "delay", 150, delay_s=3_600))
    assert [(s, eta) for s, _, eta in timeline(held)] == [("s1", 100), ("s2", 3_810), ("s3", 3_920)]


def test_a_re_optimization_never_loses_a_stop() -> None:
    # one courier with room for one parcel; s1 is late where it is, s2 waits outside the plan
    problem = line_day([(0, 50), (0, 5_000)], capacity=(1,))
    plan = LivePlan(problem, (Route("c1", ("s1",)),), {}, (Unassigned("s2", "no room"),))
    day = retime(plan, SOURCE)
    assert day.at_risk
    better = reoptimize(plan, day, SOURCE, POLICY)
    routed = [s for r in better.routes for s in r.stop_ids]
    left_out = [u.stop_id for u in better.unassigned]
    assert sorted(routed + left_out) == ["s1", "s2"] and len(routed) == 1
    assert all(u.reason for u in better.unassigned)


def test_a_stop_left_out_is_placed_when_a_courier_has_time_and_room() -> None:
    problem = line_day([(0, 5_000), (0, 5_000), (14_000, 16_000)], couriers=2)
    plan = LivePlan(
        problem,
        (Route("c1", ("s1", "s2")), Route("c2", ())),
        {},
        (Unassigned("s3", "no courier near it has time or room left for it"),),
    )
    day = retime(plan, SOURCE)
    assert not day.at_risk  # nobody is late: the stop must still find a courier
    placed = retime(reoptimize(plan, day, SOURCE, POLICY), SOURCE)
    assert placed.unassigned == ()
    _, visit = placed.visits["s3"]
    assert 14_000 <= visit.eta_s <= 16_000


def test_a_hold_during_a_break_before_a_leg_delays_the_drive_after_it() -> None:
    lunch = Break("lunch", 150, 210, 60)
    plan = LivePlan(line_day([(1_000, 1_100)], breaks=(lunch,)), (Route("c1", ("s1",)),), {})
    # lunch at the hub 150-210, then 100 s to s1 and a wait for 1000; held 200-1100
    held = plan.with_event(CourierEvent("d", "c1", "delay", 200, delay_s=900))
    assert timeline(held) == [("s1", "next", 1_200)]
    assert [b.start_s for b in retime(held, SOURCE).couriers[0].timed.breaks] == [150]


def test_a_hold_during_a_break_does_not_cut_the_break_short() -> None:
    lunch = Break("lunch", 100, 100, 300)  # due by 100: taken late, after s1, 110-410
    plan = LivePlan(line_day([(0, 5_000), (0, 5_000)], breaks=(lunch,)), (Route("c1", ("s1", "s2")),), {})
    done = plan.with_event(CourierEvent("d1", "c1", "stop_completed", 110, stop_id="s1"))
    assert timeline(done) == [("s1", "done", 100), ("s2", "ahead", 510)]
    # held 30 s at the second the break begins, or inside it: the break still runs to 410
    for at_s in (110, 111, 300):
        held = done.with_event(CourierEvent("h", "c1", "delay", at_s, delay_s=30))
        assert timeline(held)[-1][2] == 510, at_s
        assert [(b.start_s, b.end_s) for b in retime(held, SOURCE).couriers[0].timed.breaks] == [(110, 410)]
    # a hold outlasting the break ends when the hold does
    long = done.with_event(CourierEvent("h", "c1", "delay", 111, delay_s=400))
    assert timeline(long)[-1][2] == 611


def test_a_position_during_a_break_lets_the_break_run_to_its_end() -> None:
    lunch = Break("lunch", 0, 150, 300)
    plan = LivePlan(line_day([(0, 5_000)] * 2, breaks=(lunch,)), (Route("c1", ("s1", "s2")),), {})
    state = retime(plan, SOURCE).couriers[0]
    assert [(b.start_s, b.end_s) for b in state.timed.breaks] == [(110, 410)]
    seen = plan.with_event(CourierEvent("p", "c1", "position", 200, position=at(150)))
    assert timeline(seen) == [("s1", "presumed", 100), ("s2", "next", 460)]


def test_a_break_the_reports_leave_no_time_for_is_still_due() -> None:
    lunch = Break("lunch", 100, 800, 300)
    problem = line_day([(0, 5_000), (600, 5_000), (0, 5_000)], breaks=(lunch,))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    assert [b.start_s for b in retime(plan, SOURCE).couriers[0].timed.breaks] == [110]  # in the wait for s2
    # s2 done at 300: no 300 s lunch fitted before it, so it is still to come
    done = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 300, stop_id="s2"))
    state = retime(done, SOURCE).couriers[0]
    assert state.breaks_taken == () and [b.start_s for b in state.timed.breaks] == [410]  # after s3 now
    assert timeline(done)[-1] == ("s3", "ahead", 400)


def test_a_courier_who_does_not_report_follows_the_plan_as_the_clock_moves() -> None:
    """Re-timing only the reporting courier (the fast path) still shows everyone as of the
    clock: c2, silent, has passed s2 by the time c1 reports at 400 s."""
    problem = line_day([(0, 5_000)] * 4, couriers=2)
    plan = LivePlan(problem, (Route("c1", ("s1", "s3")), Route("c2", ("s2", "s4"))), {})
    day = retime(plan, SOURCE)
    assert [v.status for v in day.couriers[1].visits] == ["ahead", "ahead"]
    for at_s, c2_now in ((100, ["next", "ahead"]), (400, ["presumed", "next"]), (900, ["presumed", "presumed"])):
        plan = plan.with_event(CourierEvent(f"p{at_s}", "c1", "position", at_s, position=at(min(at_s, 300))))
        day = retime_courier(plan, day, "c1", SOURCE)
        assert day == retime(plan, SOURCE), at_s
        assert [v.status for v in day.couriers[1].visits] == c2_now, at_s


def _on_lunch_at_300() -> LivePlan:
    """c1 presumed past s1 (100) and s2 (210), on lunch 220-520 by the clock (300); s3 to come."""
    lunch = Break("lunch", 110, 300, 300)
    return LivePlan(line_day([(0, 5_000)] * 3, breaks=(lunch,)), (Route("c1", ("s1", "s2", "s3")),), {}, now_s=300)


def test_a_stop_leaving_the_route_behind_the_courier_does_not_move_their_past() -> None:
    plan = _on_lunch_at_300()
    day = retime(plan, SOURCE)
    assert timeline(plan) == [("s1", "presumed", 100), ("s2", "presumed", 210), ("s3", "next", 620)]
    assert [(b.start_s, b.end_s) for b in day.couriers[0].timed.breaks] == [(220, 520)]
    held = hold_the_past(plan, day, "c1")
    assert timeline(held) == timeline(plan)  # fixing the past changes nothing by itself
    anchor = held.anchors["c1"]
    gone = replace(  # s1 cancelled: out of the route and of the fixed part
        held,
        routes=(Route("c1", ("s2", "s3")),),
        anchors={"c1": replace(anchor, locked=1, presumed=anchor.presumed[1:])},
    )
    assert timeline(gone) == [("s2", "presumed", 210), ("s3", "next", 620)]
    state = retime(gone, SOURCE).couriers[0]
    assert state.breaks_taken == ("lunch",)
    assert [(b.start_s, b.end_s) for b in state.timed.breaks] == [(220, 520)]  # taken when it was
    # without fixing it, s2 and the lunch begun at 220 would move back in time
    loose = replace(plan, routes=(Route("c1", ("s2", "s3")),))
    assert timeline(loose) != timeline(gone)


def test_a_re_plan_during_a_break_lets_the_break_run_to_its_end() -> None:
    plan = _on_lunch_at_300()
    better = reoptimize(plan, retime(plan, SOURCE), SOURCE, POLICY)
    assert [eta for _, _, eta in timeline(better)] == [100, 210, 620]


def test_a_failed_stop_rebooked_after_later_reports_keeps_the_break_taken_after_it() -> None:
    """c1 fails s1 at 320, takes the lunch due by 300 right after (320-380), delivers s2 at 600.
    s1 is rebooked: the attempt is forgotten, but the lunch taken after it is not taken again."""
    lunch = Break("lunch", 300, 300, 60)
    plan = LivePlan(line_day([(0, 5_000)] * 2, breaks=(lunch,)), (Route("c1", ("s1", "s2")),), {})
    plan = plan.with_event(CourierEvent("f1", "c1", "stop_failed", 320, stop_id="s1"))
    plan = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 600, stop_id="s2"))
    assert retime(plan, SOURCE).couriers[0].breaks_taken == ("lunch",)
    reopened = reopen_failed(plan, "s1", SOURCE)
    state = retime(reopened, SOURCE).couriers[0]
    assert state.breaks_taken == ("lunch",) and state.breaks_left == ()
    assert [(v.stop_id, v.status) for v in state.visits] == [("s2", "done"), ("s1", "ahead")]
    assert state.visits[-1].eta_s == 700  # back from s2 to s1 after the delivery, no second lunch


def test_stops_before_a_report_are_timed_around_the_break_taken_among_them() -> None:
    """Plan: s1 at 100, s2 at 210, lunch 220-520, s3 at 620. s3 reported done at 630, as
    planned: s1 and s2 were served as planned, not pushed into the lunch."""
    lunch = Break("lunch", 110, 300, 300)
    plan = LivePlan(line_day([(0, 5_000)] * 3, breaks=(lunch,)), (Route("c1", ("s1", "s2", "s3")),), {})
    done = plan.with_event(CourierEvent("d3", "c1", "stop_completed", 630, stop_id="s3"))
    state = retime(done, SOURCE).couriers[0]
    assert [(v.stop_id, v.status, v.eta_s) for v in state.visits] == [
        ("s1", "presumed", 100),
        ("s2", "presumed", 210),
        ("s3", "done", 620),
    ]
    assert [(b.start_s, b.end_s) for b in state.timed.breaks] == [(220, 520)]


def test_cancelling_a_presumed_stop_before_a_reported_one_keeps_the_courier_s_past() -> None:
    """The same day; s1 or s2 (presumed served before the reported s3) cancelled: the other
    stop and the lunch stay when they were."""
    lunch = Break("lunch", 110, 300, 300)
    problem = line_day([(0, 5_000)] * 3, breaks=(lunch,))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    plan = plan.with_event(CourierEvent("d3", "c1", "stop_completed", 630, stop_id="s3"))
    for gone, kept in (("s1", ("s2", 210)), ("s2", ("s1", 100))):
        without = replace(problem, stops=tuple(s for s in problem.stops if s.id != gone))
        state = retime(change_stop(plan, without, gone, SOURCE, rebooked=False), SOURCE).couriers[0]
        assert [(v.stop_id, v.eta_s) for v in state.visits] == [kept, ("s3", 620)]
        assert [(b.start_s, b.end_s) for b in state.timed.breaks] == [(220, 520)]


def test_a_stop_a_colleague_served_leaves_the_route_without_moving_its_courier_s_past() -> None:
    """c1 is presumed past s1 (100) and s2 (210) and driving to s3 (320) at 250, when c2
    reports serving s2: c1 did not serve it, but where c1 is stands (not at s3 by 210)."""
    plan = LivePlan(line_day([(0, 5_000)] * 3, couriers=2), (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    plan = plan.with_event(CourierEvent("p2", "c2", "position", 250, position=at(200)))
    assert timeline(plan) == [("s1", "presumed", 100), ("s2", "presumed", 210), ("s3", "next", 320)]
    served = served_elsewhere(plan, CourierEvent("d2", "c2", "stop_completed", 250, stop_id="s2"), SOURCE)
    assert timeline(served) == [("s1", "presumed", 100), ("s3", "next", 320)]
    assert [(v.stop_id, v.status) for v in retime(served, SOURCE).couriers[1].visits] == [("s2", "done")]


def test_a_colleague_s_stop_reported_served_does_not_send_its_courier_back() -> None:
    """c2 is presumed past s3 (300) and s4 (410) at 600, when they report serving s2, which the
    plan gave c1: s2 joins c2's route after the stops they had begun by then, not before them
    (it sent them back to s3 and s4, ETAs out of order, found replaying a live day)."""
    plan = LivePlan(line_day([(0, 5_000)] * 4, couriers=2), (Route("c1", ("s1", "s2")), Route("c2", ("s3", "s4"))), {})
    plan = plan.with_event(CourierEvent("p1", "c1", "position", 600, position=at(200)))
    assert timeline(plan, 1) == [("s3", "presumed", 300), ("s4", "presumed", 410)]
    served = served_elsewhere(plan, CourierEvent("d2", "c2", "stop_completed", 600, stop_id="s2"), SOURCE)
    # the report at 590 leaves them just time to drive back from s4: served as late as it allows
    assert timeline(served, 1) == [("s3", "presumed", 270), ("s4", "presumed", 380), ("s2", "done", 590)]
    assert not check_day(served, retime(served, SOURCE), source=SOURCE)


def test_a_break_is_not_taken_while_the_courier_reports_serving_a_stop() -> None:
    """The lunch (60 s) must start at 200; s1 opens at 201, so the plan has the lunch at
    200-260 and both stops (same place, no service time) at 260. c1 reports s2 done at 201,
    then s1 (before it on the route) at 260: at 201 they were at s2, not at lunch."""
    lunch = Break("lunch", 200, 200, 60)
    stops = (Stop("s1", at(100), (TimeWindow(201, 351),), 0), Stop("s2", at(100), (TimeWindow(52, 202),), 0))
    fleet = (Courier("c1", "hub", 0, 100_000, profile="planar", breaks=(lunch,)),)
    plan = LivePlan(Problem("one", (Depot("hub", at(0)),), fleet, stops), (Route("c1", ("s1", "s2")),), {})
    assert [(b.start_s, b.end_s) for b in retime(plan, SOURCE).couriers[0].timed.breaks] == [(200, 260)]
    plan = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 201, stop_id="s2"))
    plan = plan.with_event(CourierEvent("d1", "c1", "stop_completed", 260, stop_id="s1"))
    day = retime(plan, SOURCE)
    assert [(v.stop_id, v.status, v.eta_s) for v in day.couriers[0].visits] == [
        ("s1", "done", 260),
        ("s2", "done", 201),
    ]
    assert all(not b.start_s < 201 < b.end_s for b in day.couriers[0].timed.breaks)
    assert check_day(plan, day) == ()


def test_a_forgotten_attempt_keeps_the_courier_at_work_until_their_last_report() -> None:
    """c1 reports s3 failed at 650 and s2 (before it on the route) failed at 700; s3 is then
    rebooked. The attempt at s3 still fixes where c1 was, but they were at s2 until 700: the
    lunch due at 650 comes after that, not during s2."""
    lunch = Break("lunch", 650, 650, 100)
    plan = LivePlan(line_day([(0, 5_000)] * 3, breaks=(lunch,)), (Route("c1", ("s1", "s2", "s3")),), {})
    plan = plan.with_event(CourierEvent("f3", "c1", "stop_failed", 650, stop_id="s3"))
    plan = plan.with_event(CourierEvent("f2", "c1", "stop_failed", 700, stop_id="s2"))
    reopened = reopen_failed(plan, "s3", SOURCE)
    day = retime(reopened, SOURCE)
    assert [(v.stop_id, v.status) for v in day.couriers[0].visits][-2:] == [("s2", "failed"), ("s3", "ahead")]
    assert [b.start_s for b in day.couriers[0].timed.breaks] == [700]  # s3 ahead: lunch first
    assert check_day(reopened, day) == ()


def test_stops_before_a_report_earlier_than_planned_are_timed_before_it() -> None:
    """One place, no travel. Plan: s1 at 0, lunch 200-260 (it must start at 200), s2 (60 s of
    service, opens at 141) at 260, s3 at 320. c1 reports s3 done at 200: s2 was served by
    then (140-200), not squeezed into 200-260 beside the lunch still due."""
    lunch = Break("lunch", 200, 200, 60)
    stops = (
        Stop("s1", at(0), (TimeWindow(0, 150),), 0),
        Stop("s2", at(0), (TimeWindow(141, 291),), 60),
        Stop("s3", at(0), (TimeWindow(141, 320),), 0),
    )
    fleet = (Courier("c1", "hub", 0, 100_000, profile="planar", breaks=(lunch,)),)
    plan = LivePlan(Problem("one", (Depot("hub", at(0)),), fleet, stops), (Route("c1", ("s1", "s2", "s3")),), {})
    assert [v.eta_s for v in retime(plan, SOURCE).couriers[0].visits] == [0, 260, 320]
    plan = plan.with_event(CourierEvent("d3", "c1", "stop_completed", 200, stop_id="s3"))
    day = retime(plan, SOURCE)
    assert [(v.stop_id, v.status, v.eta_s) for v in day.couriers[0].visits][1:] == [
        ("s2", "presumed", 140),
        ("s3", "done", 200),
    ]
    assert check_day(plan, day) == ()


def test_a_break_the_stops_presumed_before_a_report_leave_no_time_for_is_still_due() -> None:
    """One place, no travel. Plan: s0 at 0, lunch 200-757 (it must start at 200), s1 (56 s of
    service, opens at 300) at 757, s2 at 813. c1 reports s2 done at 800, ahead of the plan:
    s1 was served by 744, inside where the lunch would be, so the lunch was not taken before
    it; it is still due, late."""
    lunch = Break("lunch", 200, 200, 557)
    stops = (
        Stop("s0", at(0), (TimeWindow(0, 5_000),), 0),
        Stop("s1", at(0), (TimeWindow(300, 5_000),), 56),
        Stop("s2", at(0), (TimeWindow(0, 5_000),), 0),
    )
    fleet = (Courier("c1", "hub", 0, 100_000, profile="planar", breaks=(lunch,)),)
    plan = LivePlan(Problem("one", (Depot("hub", at(0)),), fleet, stops), (Route("c1", ("s0", "s1", "s2")),), {})
    assert [v.eta_s for v in retime(plan, SOURCE).couriers[0].visits] == [0, 757, 813]
    plan = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 800, stop_id="s2"))
    day = retime(plan, SOURCE)
    assert [(v.stop_id, v.eta_s) for v in day.couriers[0].visits][1:] == [("s1", 744), ("s2", 800)]
    assert day.couriers[0].breaks_taken == () and [b.start_s for b in day.couriers[0].timed.breaks] == [800]
    assert check_day(plan, day) == ()


def test_a_stop_squeezed_before_a_report_that_leaves_no_time_for_it_is_done_when_that_begins() -> None:
    """s1 lies 200 s out (1 s of service), s2 at the hub. c1 reports s2 done at 200 (no time
    to have been at s1 and back) and a hold at 200, when their lunch must begin: s1 is
    presumed done by 200, not served during the lunch the hold finds under way."""
    lunch = Break("lunch", 200, 200, 60)
    stops = (Stop("s1", at(200), (TimeWindow(150, 587),), 1), Stop("s2", at(0), (TimeWindow(0, 5_000),), 0))
    fleet = (Courier("c1", "hub", 0, 100_000, profile="planar", breaks=(lunch,)),)
    plan = LivePlan(Problem("out", (Depot("hub", at(0)),), fleet, stops), (Route("c1", ("s1", "s2")),), {})
    plan = plan.with_event(CourierEvent("h", "c1", "delay", 200, delay_s=30))
    plan = plan.with_event(CourierEvent("d2", "c1", "stop_completed", 200, stop_id="s2"))
    day = retime(plan, SOURCE)
    assert [(v.stop_id, v.status) for v in day.couriers[0].visits] == [("s1", "presumed"), ("s2", "done")]
    assert day.couriers[0].visits[0].eta_s + 1 <= 200
    assert check_day(plan, day) == ()


def test_a_re_plan_after_a_break_taken_behind_the_clock_sets_out_after_it() -> None:
    """c1: s1 at 100, lunch 110-410, s2 at 510. At 450 (the clock, moved by another
    courier) s1 is behind them and the lunch taken; a re-plan then must not have c1 leave s1
    at 110 as if the lunch had not been."""
    lunch = Break("lunch", 110, 110, 300)
    problem = line_day([(0, 5_000)] * 2, couriers=2, breaks=(lunch,))
    plan = LivePlan(problem, (Route("c1", ("s1", "s2")), Route("c2", ())), {})
    plan = plan.with_event(CourierEvent("p", "c2", "position", 450, position=at(0)))
    assert timeline(plan) == [("s1", "presumed", 100), ("s2", "next", 510)]
    better = reoptimize(
        plan, retime(plan, SOURCE), SOURCE, ReplanPolicy(time_limit_s=30.0, iterations=1), focus=frozenset({"c1"})
    )
    day = retime(better, SOURCE)
    assert [(v.stop_id, v.eta_s) for v in day.couriers[0].visits] == [("s1", 100), ("s2", 510)]
    assert check_day(better, day) == ()
