"""The live day on hand-checkable planar days: holds, presumed progress, re-optimization."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.replan import (
    Anchor,
    CourierEvent,
    LivePlan,
    Progress,
    ReplanPolicy,
    hand_over,
    rebase,
    reoptimize,
    retime,
    retime_courier,
)
from optimizer.solution import Route
from optimizer.travel.euclidean import EuclideanSource

SOURCE = EuclideanSource(scale=1)  # one planar unit = one metre = one second
BOUNDED = ReplanPolicy(time_limit_s=30.0, iterations=200)
"""Searches stop after a fixed amount of work: the same answer however busy the machine is."""


def line_day(windows: list[tuple[int, int]], couriers: int = 1, *, at_hub: bool = False) -> Problem:
    """Stops at x = 100, 200, ... on a line from the depot at 0; service 10 s each; `at_hub`:
    their parcels stay at the hub (free to go to any courier) rather than leave on a van."""
    stops = tuple(
        Stop(f"s{k + 1}", Location(0, 100.0 * (k + 1), planar=True), (TimeWindow(a, b),), 10, at_hub=at_hub)
        for k, (a, b) in enumerate(windows)
    )
    fleet = tuple(Courier(f"c{k + 1}", "hub", 0, 100_000, profile="planar") for k in range(couriers))
    return Problem("line", (Depot("hub", Location(0, 0, planar=True)),), fleet, stops)


def test_without_reports_etas_follow_the_plan() -> None:
    problem = line_day([(0, 1_000)] * 3)
    day = retime(LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {}), SOURCE)
    assert [v.eta_s for v in day.couriers[0].visits] == [100, 210, 320]
    assert {v.status for v in day.couriers[0].visits} == {"ahead"}


def test_a_hold_pushes_only_what_comes_after_it() -> None:
    problem = line_day([(0, 1_000)] * 3)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=150, delay_s=500))
    visits = retime(held, SOURCE).couriers[0].visits
    # s1 started at 100 < 150: served as planned; the courier left s1 at 110, held 500 s
    assert [(v.stop_id, v.status, v.eta_s) for v in visits] == [
        ("s1", "presumed", 100),
        ("s2", "next", 710),
        ("s3", "ahead", 820),
    ]


def test_a_completion_report_anchors_the_courier_at_that_stop_and_time() -> None:
    problem = line_day([(0, 1_000)] * 3)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    done = plan.with_event(CourierEvent("e1", "c1", "stop_completed", at_s=400, stop_id="s1"))
    visits = retime(done, SOURCE).couriers[0].visits
    # standing at s1 at `now`: nothing beyond it is locked yet
    expected = [("s1", "done", 390), ("s2", "ahead", 500), ("s3", "ahead", 610)]
    assert [(v.stop_id, v.status, v.eta_s) for v in visits] == expected


def test_a_late_stop_is_reported_with_its_lateness() -> None:
    problem = line_day([(0, 1_000), (0, 300), (0, 1_000)])
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=150, delay_s=500))
    day = retime(held, SOURCE)
    assert day.at_risk and day.couriers[0].late_stops == ("s2",)
    assert day.late_s == 710 - 300


def test_re_optimization_moves_a_stop_to_the_courier_who_can_still_make_it() -> None:
    problem = line_day([(0, 1_000), (0, 1_000), (0, 400)], couriers=2, at_hub=True)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=2_000))
    before = retime(held, SOURCE)
    assert "s3" in before.couriers[0].late_stops
    better = retime(reoptimize(held, before, SOURCE, BOUNDED), SOURCE)
    assert better.late_s < before.late_s
    assert "s3" in better.couriers[1].ahead and better.couriers[1].late_stops == ()


def test_a_courier_given_stops_at_a_replan_leaves_no_earlier_than_the_replan() -> None:
    # s1 opens at 1200, so c1 has not left at 1000; s2 and s3 are open from 0
    problem = line_day([(1_200, 1_500), (0, 1_600), (0, 1_600)], couriers=2, at_hub=True)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=1_000, delay_s=3_000))
    moved = reoptimize(held, retime(held, SOURCE), SOURCE, BOUNDED)
    second = next(c for c in retime(moved, SOURCE).couriers if c.courier_id == "c2")
    assert second.ahead, "the idle courier should take over stops"
    assert all(v.eta_s >= 1_000 + 100 for v in second.visits), [v.eta_s for v in second.visits]
    assert all(v.status in ("next", "ahead") for v in second.visits)


def events_strategy() -> st.SearchStrategy[list[CourierEvent]]:
    kinds = st.sampled_from(["stop_completed", "stop_failed", "position", "delay"])
    return st.lists(
        st.builds(
            lambda k, t, s, d: CourierEvent(
                f"e{t}-{k}-{s}", "c1", k, t, f"s{s}", Location(0, 50.0 * s, planar=True), d
            ),
            kinds,
            st.integers(0, 2_000),
            st.integers(1, 3),
            st.integers(1, 900),
        ),
        max_size=8,
        unique_by=lambda e: e.event_id,
    )


@settings(max_examples=40, deadline=None)
@given(events_strategy(), st.randoms(use_true_random=False))
def test_reports_give_the_same_day_whatever_order_they_arrive_in(events: list[CourierEvent], rnd: object) -> None:
    problem = line_day([(0, 5_000)] * 3)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    in_time_order = plan
    for event in sorted(events, key=lambda e: (e.at_s, e.event_id)):
        in_time_order = in_time_order.with_event(event)
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    as_arrived = plan
    for event in shuffled:
        as_arrived = as_arrived.with_event(event)
    assert as_arrived.progress_of("c1") == in_time_order.progress_of("c1") or _same_latest(events)
    assert retime(as_arrived, SOURCE) == retime(in_time_order, SOURCE) or _same_latest(events)


def _same_latest(events: list[CourierEvent]) -> bool:
    """Two reports of one kind at the same second: either may win (documented tie)."""
    seen: dict[tuple[str, int], int] = {}
    for e in events:
        key = (e.kind, e.at_s)
        seen[key] = seen.get(key, 0) + 1
    return any(n > 1 for n in seen.values())


def test_progress_is_a_plain_value() -> None:
    progress = Progress().apply(CourierEvent("e", "c1", "stop_completed", 10, "s1"))
    assert progress.done == {"s1": 10} and replace(progress) == progress


def test_re_timing_only_the_reporting_courier_matches_a_full_re_time() -> None:
    problem = line_day([(0, 5_000)] * 4, couriers=2)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2")), Route("c2", ("s3", "s4"))), {})
    before = retime(plan, SOURCE)
    for event in (
        CourierEvent("p", "c1", "position", 150, position=Location(0, 120.0, planar=True)),
        CourierEvent("d", "c1", "stop_completed", 260, stop_id="s1"),
        CourierEvent("h", "c1", "delay", 300, delay_s=900),
    ):
        plan = plan.with_event(event)
        fast = retime_courier(plan, before, "c1", SOURCE)
        full = retime(plan, SOURCE)
        assert fast.couriers[0] == full.couriers[0]
        assert fast.couriers[1].timed == full.couriers[1].timed  # the other courier's timing is unchanged
        before = fast


def _moved_to_c2() -> tuple[LivePlan, LivePlan]:
    """c1 held at 50 s for 2000 s; re-optimization hands s3 to the idle c2."""
    problem = line_day([(0, 1_000), (0, 1_000), (0, 400)], couriers=2, at_hub=True)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ())), {})
    held = plan.with_event(CourierEvent("e1", "c1", "delay", at_s=50, delay_s=2_000))
    better = reoptimize(held, retime(held, SOURCE), SOURCE, BOUNDED)
    assert "s3" in next(r for r in better.routes if r.courier_id == "c2").stop_ids
    return held, better


def test_a_re_optimization_carries_over_reports_that_arrived_while_it_ran() -> None:
    base, better = _moved_to_c2()
    # meanwhile c2 reported a position and c1 completed s1, which the new route still starts with
    latest = base.with_event(CourierEvent("p1", "c2", "position", at_s=60, position=Location(0, 10, planar=True)))
    latest = latest.with_event(CourierEvent("d1", "c1", "stop_completed", at_s=70, stop_id="s1"))
    rebased = rebase(latest, base, better)
    assert rebased is not None
    assert rebased.routes == better.routes and rebased.progress == latest.progress and rebased.now_s == 70
    day = retime(rebased, SOURCE)
    assert day.visits["s1"][1].status == "done" and day.visits["s3"][0] == "c2"


def test_a_courier_the_search_left_alone_keeps_what_changed_meanwhile() -> None:
    base, better = _moved_to_c2()
    c1_only = replace(better, routes=tuple(r if r.courier_id == "c1" else Route("c2", ()) for r in better.routes))
    c1_kept = replace(better, routes=base.routes)  # nothing re-planned
    latest = replace(base, routes=(Route("c1", ("s1", "s2")), Route("c2", ("s3",))))  # e.g. an improvement adopted
    # what the search learnt of the parcels (c1 has left with its own) is kept
    assert rebase(latest, base, c1_kept) == replace(latest, loaded=c1_kept.loaded, departed=c1_kept.departed)
    assert rebase(latest, base, c1_only) is None  # c1 re-planned here, changed there


def test_a_re_optimization_that_no_longer_fits_the_day_is_refused() -> None:
    base, better = _moved_to_c2()
    # c1 served s3 meanwhile, which the new plan gave to c2
    served_elsewhere = base.with_event(CourierEvent("d3", "c1", "stop_completed", at_s=90, stop_id="s3"))
    assert rebase(served_elsewhere, base, better) is None
    # c1 reported another delay meanwhile: the search planned for the first one
    delayed_again = base.with_event(CourierEvent("e2", "c1", "delay", at_s=95, delay_s=600))
    assert rebase(delayed_again, base, better) is None
    # a stop cancelled meanwhile: the new plan would still hold it
    fewer = replace(base.problem, stops=base.problem.stops[:2])
    cancelled = replace(base, problem=fewer, routes=(Route("c1", ("s1", "s2")), Route("c2", ())))
    assert rebase(cancelled, base, better) is None


def test_a_stop_served_by_a_courier_the_plan_did_not_give_it_to_moves_to_them() -> None:
    problem = line_day([(0, 1_000)] * 4, couriers=2)
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")), Route("c2", ("s4",))), {})
    plan = plan.with_event(CourierEvent("d4", "c2", "stop_completed", at_s=420, stop_id="s4"))
    # c2 had not fetched the re-optimized plan: they delivered s2, which the plan left with c1
    moved = hand_over(plan, "s2", "c2").with_event(CourierEvent("d2", "c2", "stop_completed", at_s=700, stop_id="s2"))
    assert [r.stop_ids for r in moved.routes] == [("s1", "s3"), ("s4", "s2")]
    day = retime(moved, SOURCE)
    assert day.visits["s2"] == ("c2", day.couriers[1].visits[1]) and day.visits["s2"][1].status == "done"
    assert [v.stop_id for v in day.couriers[0].visits] == ["s1", "s3"]


def test_handing_over_a_presumed_stop_shrinks_the_other_couriers_locked_part() -> None:
    problem = line_day([(0, 1_000)] * 3, couriers=2)
    presumed = (("s1", 100, 0), ("s2", 210, 0))  # c1 was presumed past s1 and s2 at the last re-plan
    plan = LivePlan(
        problem,
        (Route("c1", ("s1", "s2", "s3")), Route("c2", ())),
        {},
        anchors={"c1": Anchor(2, Location(0, 200, planar=True), 220, False, presumed)},
    )
    moved = hand_over(plan, "s1", "c2")
    assert moved.anchors["c1"] == Anchor(1, Location(0, 200, planar=True), 220, False, (("s2", 210, 0),))
    assert [r.stop_ids for r in moved.routes] == [("s2", "s3"), ("s1",)]


def _reported(problem: Problem, *events: CourierEvent) -> LivePlan:
    plan = LivePlan(problem, (Route("c1", ("s1", "s2", "s3")),), {})
    for event in events:
        plan = plan.with_event(event)
    return plan


def test_the_stretches_between_completions_say_how_the_courier_keeps_pace() -> None:
    """(planned, actual) seconds from one completion to the next: a 100 s leg and 10 s of
    service each, done in 220 s and 230 s."""
    problem = line_day([(0, 10_000)] * 3)
    done = [
        CourierEvent(f"e{k}", "c1", "stop_completed", at_s=t, stop_id=f"s{k}")
        for k, t in ((1, 400), (2, 620), (3, 850))
    ]
    assert retime(_reported(problem, *done), SOURCE).couriers[0].pace_readings == ((110, 220), (110, 230))


def test_a_stretch_with_a_hold_or_a_wait_for_a_window_says_nothing_of_pace() -> None:
    done = [
        CourierEvent(f"e{k}", "c1", "stop_completed", at_s=t, stop_id=f"s{k}")
        for k, t in ((1, 400), (2, 620), (3, 850))
    ]
    held = CourierEvent("h", "c1", "delay", at_s=450, delay_s=60)
    with_hold = retime(_reported(line_day([(0, 10_000)] * 3), *done, held), SOURCE).couriers[0]
    assert with_hold.pace_readings == ((110, 230),)
    waited = retime(_reported(line_day([(0, 10_000), (600, 10_000), (0, 10_000)]), *done), SOURCE).couriers[0]
    assert waited.pace_readings == ((110, 230),)
