"""Risk-aware ETAs (`optimizer.risk`): hand-made routes whose spread can be reasoned about, the
draws checked against a truth drawn independently from the same noise, and the pace learned."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimizer.model import TimeWindow
from optimizer.risk import NoiseModel, Pace, RouteAhead, learn_pace, route_risk
from optimizer.schedule import BreakTiming, RouteSchedule, VisitTiming

MODEL = NoiseModel(leg_sigma=0.25, service_sigma=0.4, pace_sigma=0.1, samples=512)


def route(
    legs: list[int], windows: list[tuple[int, int]], service: int = 300, leave: int = 0, breaks: tuple = ()
) -> RouteSchedule:
    """A courier leaving at `leave`: each leg driven, the window waited for, `service` served
    (a break given as (start, end) is taken before the leg that follows it)."""
    t, visits = leave, []
    for k, (leg, (start, end)) in enumerate(zip(legs, windows, strict=True)):
        for b in breaks:
            if b.start_s >= t and b.start_s < t + leg:
                t = b.end_s
        arrival = t + leg
        begin = max(arrival, start)
        visits.append(
            VisitTiming(
                f"s{k}",
                arrival,
                begin,
                begin - arrival,
                max(0, begin - end),
                begin + service,
                TimeWindow(start, end),
                (),
            )
        )
        t = begin + service
    return RouteSchedule("c1", leave, t, tuple(visits), tuple(breaks), 0, sum(legs), 0, 0, (), ())


def test_the_chance_of_a_late_start_grows_along_a_route_without_slack() -> None:
    tight = route([600] * 8, [(0, 600 + k * 900 + 120) for k in range(8)])
    [risks] = route_risk([RouteAhead(tight, 8, Pace.prior(MODEL))], MODEL)
    chances = [r.p_late for r in risks]
    assert chances[0] < chances[-1]
    assert all(r.eta_p50_s <= r.eta_p90_s for r in risks)
    assert all(r.eta_p90_s > v.start_s for r, v in zip(risks, tight.visits, strict=True))


def test_waiting_for_a_window_absorbs_an_early_arrival() -> None:
    """Two hours early for a window: the start is the window's opening, whatever the road does."""
    early = route([600], [(7_200, 9_000)])
    [[risk]] = route_risk([RouteAhead(early, 1, Pace.prior(MODEL))], MODEL)
    assert (risk.eta_p50_s, risk.eta_p90_s, risk.p_late) == (7_200, 7_200, 0.0)


def test_only_the_visits_ahead_are_drawn_and_a_route_with_none_has_no_risk() -> None:
    timed = route([600, 600, 600], [(0, 5_000)] * 3)
    ahead, nothing = route_risk([RouteAhead(timed, 2), RouteAhead(timed, 0)], MODEL)
    assert [r.stop_id for r in ahead] == ["s1", "s2"] and nothing == ()


def test_a_route_gets_the_same_figures_alone_or_drawn_with_others_in_any_process() -> None:
    a = route([600] * 5, [(0, 4_000)] * 5)
    b = route([900] * 9, [(0, 9_000)] * 9, leave=1_000)
    alone = route_risk([RouteAhead(a, 5)], MODEL)[0]
    together = route_risk([RouteAhead(b, 9), RouteAhead(a, 5)], MODEL)[1]
    assert alone == together == route_risk([RouteAhead(a, 5)], MODEL)[0]


def test_a_break_between_two_visits_is_taken_on_the_way() -> None:
    lunch = (BreakTiming("lunch", 1_000, 2_800),)
    with_lunch = route([600, 600], [(0, 10_000)] * 2, breaks=lunch)
    [risks] = route_risk([RouteAhead(with_lunch, 2)], MODEL)
    assert risks[1].eta_p50_s >= 2_800 + 300  # after the break and a short drive


def test_the_p90_covers_nine_in_ten_of_a_truth_drawn_from_the_same_noise() -> None:
    """Calibration: an independent simulation of the model's own world (other seeds) lands
    at or before the p90 about 90% of the time, visit by visit (where the p90 is not the
    window's opening, which most draws wait for), and late as often as `p_late` says."""
    timed = route([500, 700, 400, 900, 600, 800], [(0, 4_000), (3_000, 5_000), (0, 6_000)] * 2, service=240)
    [risks] = route_risk([RouteAhead(timed, 6, Pace.prior(MODEL))], MODEL)
    rng = np.random.default_rng(99)
    n = 4_000
    pace = np.exp(MODEL.pace_sigma * rng.standard_normal(n))
    leaves = [timed.start_s] + [v.departure_s for v in timed.visits[:-1]]
    t = np.zeros(n)
    covered = []
    for v, leave, risk in zip(timed.visits, leaves, risks, strict=True):
        arrive = t + (v.arrival_s - leave) * pace * np.exp(MODEL.leg_sigma * rng.standard_normal(n))
        start = np.maximum(arrive, v.window.start_s)
        if risk.eta_p90_s > v.window.start_s:
            covered.append(float(np.mean(start <= risk.eta_p90_s)))
        assert risk.p_late == pytest.approx(float(np.mean(start > v.window.end_s)), abs=0.05)
        t = start + 240 * pace * np.exp(MODEL.service_sigma * rng.standard_normal(n))
    assert len(covered) >= 4 and all(0.85 <= c <= 0.95 for c in covered), covered


def test_a_courier_slower_than_planned_all_morning_is_expected_slower() -> None:
    slow = learn_pace(MODEL, [(600, 780)] * 12)
    assert 1.1 < slow.factor < 1.3 and slow.observations == 12  # 1.3 observed, drawn to the prior
    one = learn_pace(MODEL, [(600, 780)])
    assert 1.0 < one.factor < slow.factor  # one report moves it less than a morning of them
    assert learn_pace(MODEL, []) == Pace.prior(MODEL)
    assert learn_pace(MODEL, [(30, 3_000)]) == Pace.prior(MODEL)  # too short to say anything
    wild = learn_pace(MODEL, [(600, 60_000)])
    assert wild.factor < math.exp(math.log(4))  # one odd report cannot swing the day


def test_a_slow_pace_raises_the_chance_of_a_late_start() -> None:
    timed = route([600] * 6, [(0, 600 + k * 900 + 300) for k in range(6)])
    usual, slow = route_risk(
        [RouteAhead(timed, 6, Pace.prior(MODEL)), RouteAhead(timed, 6, learn_pace(MODEL, [(600, 780)] * 12))], MODEL
    )
    assert all(s.p_late >= u.p_late for s, u in zip(slow, usual, strict=True))
    assert slow[-1].p_late > usual[-1].p_late + 0.2


def test_a_noise_model_refuses_a_spread_or_sample_count_out_of_range() -> None:
    with pytest.raises(ValueError, match="leg_sigma"):
        NoiseModel(leg_sigma=-0.1)
    with pytest.raises(ValueError, match="samples"):
        NoiseModel(samples=3)
