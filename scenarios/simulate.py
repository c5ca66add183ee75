"""The day simulator: a seeded truth of a courier day, driven through the service, scored.

OnTime promises that a customer hears about a missed window before it is missed. This module
is the instrument that says how well it keeps that promise. A day is simulated as it happens,
not as planned:

- **Travel and service** (`World`): each leg takes the planned time x a lognormal factor of
  median 1 (`leg_sigma`) x the courier-day's pace (one lognormal factor per courier: a slow
  driver stays slow) x rush hour (a time-of-day factor the plan does not know of); each stop's
  service takes the planned time x its own lognormal factor x the pace. A share of attempts
  fail (the customer is out).
- **Disruptions**: a van breaks down (60-120 min, at a random moment of one courier's day); a
  district jams (every leg ending in it takes `jam_factor` x for an hour); the hub may open
  late (every courier leaves `hub_late_min` later).
- **Couriers as people**: a position every `position_every_s` while on the road (a share of
  couriers only every `sparse_every_s`), completions and failures when they happen, a delay
  report ("I will be N min late") only after a breakdown, once they notice it (a lag, and a
  rough estimate). They follow the route the service last gave them.
- **Customers on a call**: accept late, rebook to a later window, or cannot be reached, with
  probabilities. The call centre works the list by `call_by`: a call is made `centre_slack_s`
  before its `call_by` (at once if that has passed), if it is still open then.

Every random draw belongs to a stop or a courier, not to the order things happen in, so the
policies compared see the same world: `static` (the morning plan, no service during the day,
calls only on a courier's delay report), `live` (the service re-times and re-optimizes; calls
when the ETA is late) and `live+risk` (also calls on risk). Which of the last two the service
does is its own setting; the simulator drives it through `Service`, an HTTP-shaped port that
the API side implements in process or against a real `ontime serve` (the contract's "now" is
the event time, so a day replays as fast as the service answers).

Figures (`RunFigures`, summarised over seeds by `summarise`): on-time rate, late stops and
minutes, recall (late customers called at least `lead_s` before their window ended / late
customers) and recall at any lead, precision (calls whose customer was late or rebooked / calls),
lead times, false alarms and route changes per courier-day, re-optimizations, answer times, and
how often the 90th-percentile ETA the service gave covered the true start.
"""

from __future__ import annotations

import heapq
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import numpy as np

from optimizer.model import Location, Problem, Stop
from optimizer.travel.haversine import great_circle_m

PolicyName = Literal["static", "live", "live+risk"]
RECHECK_S = 300
"""How soon the call centre looks again at a call whose risk fell below the threshold."""
POLICIES: tuple[PolicyName, ...] = ("static", "live", "live+risk")
RUSH_HOURS: tuple[tuple[int, int, float], ...] = ((7 * 3600 + 1800, 9 * 3600 + 1800, 1.2), (17 * 3600, 19 * 3600, 1.2))


@dataclass(frozen=True, slots=True)
class World:
    """The truth model's settings (default noise: BENCHMARKS.md 6)."""

    leg_sigma: float = 0.25
    service_sigma: float = 0.575
    pace_sigma: float = 0.15
    rush: tuple[tuple[int, int, float], ...] = RUSH_HOURS
    fail_p: float = 0.03
    breakdowns: int = 1
    breakdown_s: tuple[int, int] = (3600, 7200)
    jams: int = 1
    jam_factor: float = 2.0
    jam_s: int = 3600
    jam_radius_m: float = 1500.0
    hub_late_min: int = 0
    position_every_s: int = 60
    sparse_share: float = 0.2
    sparse_every_s: int = 600
    notice_lag_s: tuple[int, int] = (300, 900)
    accept_late_p: float = 0.6
    rebook_p: float = 0.25
    rebook_shift_s: int = 7200
    centre_slack_s: int = 600
    lead_s: int = 1800
    detour_factor: float = 1.3

    def __post_init__(self) -> None:
        for name in ("leg_sigma", "service_sigma", "pace_sigma"):
            if not 0 <= getattr(self, name) <= 2:
                raise ValueError(f"{name} must be in [0, 2]")
        for name in ("fail_p", "sparse_share", "accept_late_p", "rebook_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a share in [0, 1]")
        if self.accept_late_p + self.rebook_p > 1:
            raise ValueError("accept_late_p + rebook_p must not exceed 1")
        if self.position_every_s < 10 or self.sparse_every_s < 10:
            raise ValueError("positions come at most every 10 s")
        if self.breakdown_s[0] > self.breakdown_s[1] or self.notice_lag_s[0] > self.notice_lag_s[1]:
            raise ValueError("a range must not end before it starts")

    def calm(self) -> World:
        """The same world without breakdowns, jams or a late hub: an undisturbed day."""
        return replace(self, breakdowns=0, jams=0, hub_late_min=0)

    def rush_factor(self, t_s: float) -> float:
        return next((f for a, b, f in self.rush if a <= t_s % 86_400 < b), 1.0)


class Service(Protocol):
    """The service as the simulator drives it: one HTTP-shaped request as `role` (the
    simulator relays reports and works the call list as `dispatcher`). Returns the status, the JSON body and
    how the server reached an answer to an event (`Server-Timing`'s name), if it said."""

    def request(
        self, method: str, path: str, role: str, body: Mapping[str, Any] | None = None
    ) -> tuple[int, Any, str | None]: ...


@dataclass(frozen=True, slots=True)
class Draws:
    """A seed's world: every random number of the day, owned by a stop or a courier."""

    pace: Mapping[str, float]
    leg: Mapping[str, float]
    service: Mapping[str, float]
    fails: frozenset[str]
    answer: Mapping[str, float]
    sparse: frozenset[str]
    breakdowns: Mapping[str, tuple[int, int, int]]
    """courier -> (when, how long, the lag before they report it)."""
    jams: tuple[tuple[Location, int], ...]
    """(centre, start) of each jammed district."""
    estimate: Mapping[str, float]
    """courier -> how far their delay report is off (a factor)."""

    @classmethod
    def of(cls, problem: Problem, world: World, seed: int) -> Draws:
        rng = np.random.default_rng([seed, 7])
        couriers = [c.id for c in problem.couriers]
        stops = [s.id for s in problem.stops]

        def lognormal(sigma: float, ids: list[str], salt: int) -> dict[str, float]:
            z = np.random.default_rng([seed, salt]).standard_normal(len(ids))
            return {i: float(math.exp(sigma * v)) for i, v in zip(ids, z, strict=True)}

        u_fail = np.random.default_rng([seed, 4]).random(len(stops))
        u_answer = np.random.default_rng([seed, 5]).random(len(stops))
        u_sparse = np.random.default_rng([seed, 6]).random(len(couriers))
        lo = min((c.shift_start_s for c in problem.couriers), default=0)
        hi = max((c.shift_end_s for c in problem.couriers), default=0)
        breakdowns: dict[str, tuple[int, int, int]] = {}
        for k in rng.choice(len(couriers), size=min(world.breakdowns, len(couriers)), replace=False):
            c = problem.couriers[int(k)]
            when = int(rng.uniform(c.shift_start_s + 3600, max(c.shift_start_s + 3601, c.shift_end_s - 3 * 3600)))
            lasting = int(rng.integers(world.breakdown_s[0], world.breakdown_s[1] + 1))
            lag = int(rng.integers(world.notice_lag_s[0], world.notice_lag_s[1] + 1))
            breakdowns[c.id] = (when, lasting, lag)
        jams = []
        for _ in range(world.jams if stops else 0):
            centre = problem.stops[int(rng.integers(len(stops)))].location
            jams.append((centre, int(rng.uniform(lo + 3600, max(lo + 3601, hi - 2 * 3600)))))
        estimate = {c: float(rng.uniform(0.8, 1.2)) for c in couriers}
        return cls(
            pace=lognormal(world.pace_sigma, couriers, 1),
            leg=lognormal(world.leg_sigma, stops, 2),
            service=lognormal(world.service_sigma, stops, 3),
            fails=frozenset(s for s, u in zip(stops, u_fail, strict=True) if u < world.fail_p),
            answer={s: float(u) for s, u in zip(stops, u_answer, strict=True)},
            sparse=frozenset(c for c, u in zip(couriers, u_sparse, strict=True) if u < world.sparse_share),
            breakdowns=breakdowns,
            jams=tuple(jams),
            estimate=estimate,
        )


@dataclass
class CallMade:
    """A call the centre made: when, about which stop, what the customer said."""

    call_id: str
    stop_id: str
    made_s: int
    window_end_s: int
    outcome: str
    p_late: float = 0.0


@dataclass
class RunFigures:
    """One simulated day under one policy."""

    policy: str
    seed: int
    stops: int
    couriers: int
    served: int = 0
    late_stops: int = 0
    late_min: float = 0.0
    late_customers: int = 0
    called_early: int = 0
    called_any: int = 0
    calls: int = 0
    calls_right: int = 0
    leads_min: list[float] = field(default_factory=list)
    false_alarms: int = 0
    route_changes: int = 0
    reoptimizations: int = 0
    events: int = 0
    answer_ms: list[float] = field(default_factory=list)
    p90_covered: int = 0
    p90_checked: int = 0
    late_detail: list[tuple[float, bool]] = field(default_factory=list)
    """Each late stop: minutes late, and whether its customer was called `lead_s` ahead."""
    timeline: list[dict[str, Any]] = field(default_factory=list)
    """Per stop: courier, window, planned (morning) ETA, true start, first call: for pictures."""

    @property
    def on_time_rate(self) -> float:
        return (self.stops - self.late_stops) / self.stops if self.stops else 1.0

    @property
    def recall_30(self) -> float:
        return self.called_early / self.late_customers if self.late_customers else 1.0

    @property
    def recall_any(self) -> float:
        return self.called_any / self.late_customers if self.late_customers else 1.0

    @property
    def precision(self) -> float:
        return self.calls_right / self.calls if self.calls else 1.0

    @property
    def lead_median_min(self) -> float:
        return statistics.median(self.leads_min) if self.leads_min else 0.0

    @property
    def lead_p10_min(self) -> float:
        return float(np.percentile(self.leads_min, 10)) if self.leads_min else 0.0

    @property
    def false_alarms_per_courier_day(self) -> float:
        return self.false_alarms / self.couriers if self.couriers else 0.0

    @property
    def route_changes_per_courier_day(self) -> float:
        return self.route_changes / self.couriers if self.couriers else 0.0

    @property
    def answer_p95_ms(self) -> float:
        return float(np.percentile(self.answer_ms, 95)) if self.answer_ms else 0.0

    @property
    def p90_coverage(self) -> float | None:
        return self.p90_covered / self.p90_checked if self.p90_checked else None

    def row(self) -> dict[str, Any]:
        """The run's figures as one flat row (CSV, JSON)."""
        return {
            "policy": self.policy,
            "seed": self.seed,
            "stops": self.stops,
            "couriers": self.couriers,
            "on_time_rate": round(self.on_time_rate, 4),
            "late_stops": self.late_stops,
            "late_minutes": round(self.late_min, 1),
            "recall_30": round(self.recall_30, 4),
            "recall_any": round(self.recall_any, 4),
            "precision": round(self.precision, 4),
            "calls": self.calls,
            "lead_median_min": round(self.lead_median_min, 1),
            "lead_p10_min": round(self.lead_p10_min, 1),
            "false_alarms_per_courier_day": round(self.false_alarms_per_courier_day, 3),
            "route_changes_per_courier_day": round(self.route_changes_per_courier_day, 3),
            "reoptimizations": self.reoptimizations,
            "events": self.events,
            "answer_p95_ms": round(self.answer_p95_ms, 1),
            "p90_coverage": None if self.p90_coverage is None else round(self.p90_coverage, 4),
        }


# --- the day ----------------------------------------------------------------------------------

Action = Literal["leave", "arrive", "finish", "position", "report_delay", "centre", "snapshot"]


@dataclass
class _Courier:
    """One courier's truth: where they are, what they are doing, the route they were given."""

    id: str
    index: int
    route: list[str]
    breaks: list[tuple[int, int]]
    node: int
    epoch: int = 0
    target: str | None = None
    leg: tuple[Location, Location, int, int] | None = None
    """(from, to, leave time, drive seconds) of the leg under way."""
    stuck: tuple[int, int] | None = None
    """A breakdown: (from, until)."""
    home: bool = False
    pending: tuple[int, Action, str | None] | None = None


class Day:
    """One simulated day under one policy. `run()` plays it and returns its figures."""

    def __init__(
        self,
        problem: Problem,
        plan_id: str,
        service: Service,
        policy: PolicyName,
        world: World,
        seed: int,
        *,
        keep_timeline: bool = False,
        risk: float = 1.0,
    ) -> None:
        self.risk = risk
        """The chance at which the service opens calls (the centre's bar for making one)."""
        self.problem = problem
        self.plan_id = plan_id
        self.service = service
        self.policy = policy
        self.world = world
        self.seed = seed
        self.draws = Draws.of(problem, world, seed)
        self.keep_timeline = keep_timeline
        self.day0 = problem.day_start or datetime(2026, 11, 26)
        locations = list(problem.locations)
        road_m = great_circle_m(locations) * world.detour_factor
        self.speed = {c.id: c.speed_mps for c in problem.couriers}
        self.road_m = road_m
        self.heap: list[tuple[int, int, Action, str | None, int, str | None]] = []
        self.order = 0
        self.windows: dict[str, list[tuple[int, int]]] = {
            s.id: [(w.start_s, w.end_s) for w in s.windows] for s in problem.stops
        }
        self.truth_start: dict[str, int] = {}
        self.served: set[str] = set()
        self.failed: set[str] = set()
        self.quiet: set[str] = set()
        self.rebooked: set[str] = set()
        self.calls: dict[str, CallMade] = {}
        self.first_call: dict[str, int] = {}
        self.p90_seen: dict[str, list[tuple[int, int, int]]] = {}
        """stop -> (when, median ETA, 90th-percentile ETA) the service gave, hourly."""
        self.figures = RunFigures(policy, seed, len(problem.stops), len(problem.couriers))
        self.event_no = 0
        self.broken: set[str] = set()
        self.breaks_taken: dict[str, int] = {}
        plan = self._get(f"/v1/plans/{plan_id}")
        self.morning: dict[str, tuple[str, int]] = {}
        self.couriers: dict[str, _Courier] = {}
        for index, c in enumerate(problem.couriers):
            route = next((r for r in plan["routes"] if r["courier_id"] == c.id), None)
            visits = route["visits"] if route else []
            for v in visits:
                self.morning[v["stop_id"]] = (c.id, self._s(v["eta"]))
            start = self._s(route["start"]) if route and route.get("start") else c.shift_start_s
            courier = _Courier(
                c.id,
                index,
                [v["stop_id"] for v in visits if v["status"] == "planned"],
                [(self._s(b["start"]), self._s(b["end"])) for b in (route or {}).get("breaks", [])],
                problem.start_node(index),
            )
            self.couriers[c.id] = courier
            if courier.route:
                self._push(start + world.hub_late_min * 60, "leave", c.id)
        for courier_id, (when, _, lag) in self.draws.breakdowns.items():
            self._push(when + lag, "report_delay", courier_id)
        self.figures.couriers = sum(1 for c in self.couriers.values() if c.route) or len(self.couriers)
        if policy != "static":
            hours = sorted({(t // 3600 + 1) * 3600 for _, t in self.morning.values()})
            for h in hours:
                self._push(h, "snapshot", None)

    # -- plumbing ----------------------------------------------------------------------------

    def _s(self, when: str) -> int:
        return round((datetime.fromisoformat(when) - self.day0).total_seconds())

    def _at(self, t_s: int) -> str:
        return (self.day0 + timedelta(seconds=t_s)).isoformat()

    def _push(self, t_s: int, action: Action, courier_id: str | None, payload: str | None = None) -> None:
        epoch = self.couriers[courier_id].epoch if courier_id in self.couriers else 0
        self.order += 1
        heapq.heappush(self.heap, (int(t_s), self.order, action, courier_id, epoch, payload))

    def _get(self, path: str) -> Any:
        status, body, _ = self.service.request("GET", path, "dispatcher")
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body}")
        return body

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> RunFigures:
        while self.heap:
            t, _, action, courier_id, epoch, payload = heapq.heappop(self.heap)
            timed = courier_id in self.couriers and action in ("leave", "arrive", "finish", "position")
            if timed and epoch != self.couriers[courier_id or ""].epoch:
                continue  # superseded (a new leg or a new route moved it)
            getattr(self, f"_on_{action}")(t, courier_id, payload)
        self._score()
        return self.figures

    def _on_leave(self, t: int, courier_id: str | None, _: str | None) -> None:
        c = self.couriers[courier_id or ""]
        due = self._break_due(c, t)
        if due is not None:
            self._push(t + due, "leave", c.id)
            return
        target = self._next_stop(c)
        if target is None:
            c.home, c.target, c.leg = True, None, None
            return
        here = self._location(c.node)
        to = self.problem.stop_by_id(target).location
        drive = self._drive_s(c, self.road_m[c.node, self.problem.stop_node(target)], target, t)
        self._drive(c, here, to, target, t, drive)

    def _break_due(self, c: _Courier, t: int) -> int | None:
        """Take the next break of the day if its time (as the route last given says) has come:
        its length, counted as taken. A courier takes each of their breaks once, wherever the
        service moves them."""
        k = self.breaks_taken.get(c.id, 0)
        planned = sorted(c.breaks)
        if k >= len(planned) or planned[k][0] > t:
            return None
        self.breaks_taken[c.id] = k + 1
        return planned[k][1] - planned[k][0]

    def _left(self, route: list[str]) -> list[str]:
        return [s for s in route if s not in self.served and s not in self.failed]

    def _next_stop(self, c: _Courier) -> str | None:
        return next(
            (s for s in c.route if self.problem.has_stop(s) and s not in self.served and s not in self.failed), None
        )

    def _drive(self, c: _Courier, here: Location, to: Location, target: str, t: int, drive: int) -> None:
        c.epoch += 1  # whatever was under way is over (a position chain of an earlier leg stops)
        breakdown = self.draws.breakdowns.get(c.id)
        if breakdown is not None and c.id not in self.broken and t <= breakdown[0] < t + drive:
            self.broken.add(c.id)
            c.stuck = (breakdown[0], breakdown[0] + breakdown[1])
            drive += breakdown[1]
        c.target, c.leg = target, (here, to, t, drive)
        self._push(t + drive, "arrive", c.id, target)
        every = self.world.sparse_every_s if c.id in self.draws.sparse else self.world.position_every_s
        first = (t // every + 1) * every
        if first < t + drive and self.policy != "static":
            self._push(first, "position", c.id)

    def _drive_s(self, c: _Courier, metres: float, target: str, t: int) -> int:
        planned = math.ceil(metres / self.speed[c.id])
        factor = self.draws.pace[c.id] * self.draws.leg[target] * self.world.rush_factor(t)
        to = self.problem.stop_by_id(target).location
        for centre, start in self.draws.jams:
            if start <= t < start + self.world.jam_s and _metres(centre, to) <= self.world.jam_radius_m:
                factor *= self.world.jam_factor
        return max(1, round(planned * factor))

    def _location(self, node: int) -> Location:
        return self.problem.locations[node]

    def _where(self, c: _Courier, t: int) -> Location:
        if c.leg is None:
            return self._location(c.node)
        here, to, leave, drive = c.leg
        moving = drive - (c.stuck[1] - c.stuck[0] if c.stuck and c.stuck[0] < leave + drive else 0)
        elapsed = t - leave
        if c.stuck and c.stuck[0] <= t:
            elapsed = c.stuck[0] - leave + max(0, t - c.stuck[1])
        f = min(1.0, max(0.0, elapsed / moving)) if moving > 0 else 1.0
        return Location(here.lat + (to.lat - here.lat) * f, here.lon + (to.lon - here.lon) * f)

    def _on_position(self, t: int, courier_id: str | None, _: str | None) -> None:
        c = self.couriers[courier_id or ""]
        if c.leg is None:
            return
        where = self._where(c, t)
        epoch = c.epoch
        self._report(t, c, "position", lat=round(where.lat, 6), lon=round(where.lon, 6))
        if c.leg is not None and c.epoch == epoch:  # not turned elsewhere by the answer
            every = self.world.sparse_every_s if c.id in self.draws.sparse else self.world.position_every_s
            if t + every < c.leg[2] + c.leg[3]:
                self._push(t + every, "position", c.id)

    def _on_arrive(self, t: int, courier_id: str | None, stop_id: str | None) -> None:
        c = self.couriers[courier_id or ""]
        stop = self.problem.stop_by_id(stop_id or "")
        c.node, c.leg, c.stuck = self.problem.stop_node(stop.id), None, None
        if stop.id in self.served or stop.id in self.failed:  # a colleague was quicker
            self._on_leave(t, c.id, None)
            return
        start = self._service_start(stop, t)
        if start > t:  # early: a break that falls due while waiting is taken now
            upcoming = sorted(c.breaks)[self.breaks_taken.get(c.id, 0) :]
            if upcoming and upcoming[0][0] < start:
                rest = self._break_due(c, max(t, upcoming[0][0]))
                start = max(start, max(t, upcoming[0][0]) + (rest or 0))
        serve = max(1, round(stop.service_s * self.draws.pace[c.id] * self.draws.service[stop.id]))
        breakdown = self.draws.breakdowns.get(c.id)
        if breakdown is not None and c.id not in self.broken and start <= breakdown[0] < start + serve:
            self.broken.add(c.id)
            serve += breakdown[1]
        if stop.id in self.draws.fails:
            serve = min(serve, 120)
        self.truth_start[stop.id] = start
        self._push(start + serve, "finish", c.id, stop.id)

    def _service_start(self, stop: Stop, arrival: int) -> int:
        windows = self.windows[stop.id]
        window = next(((a, b) for a, b in windows if arrival <= b), windows[-1])
        return max(arrival, window[0])

    def _on_finish(self, t: int, courier_id: str | None, stop_id: str | None) -> None:
        c = self.couriers[courier_id or ""]
        sid = stop_id or ""
        if sid in self.draws.fails and sid not in self.rebooked:
            self.failed.add(sid)
            self._report(t, c, "stop_failed", stop_id=sid)
        else:
            self.served.add(sid)
            self._report(t, c, "stop_completed", stop_id=sid)
        self._on_leave(t, c.id, None)

    def _on_report_delay(self, t: int, courier_id: str | None, _: str | None) -> None:
        c = self.couriers[courier_id or ""]
        when, lasting, _lag = self.draws.breakdowns[c.id]
        if c.home or c.id not in self.broken:
            return  # the breakdown fell in a wait or after the day: nothing to report
        left_min = max(1.0, (when + lasting - t) / 60 * self.draws.estimate[c.id])
        if self.policy == "static":
            self._static_calls(t, c, left_min)
            return
        where = self._where(c, t)
        self._report(t, c, "delay", delay_min=round(left_min, 1), lat=round(where.lat, 6), lon=round(where.lon, 6))

    def _on_snapshot(self, t: int, _: str | None, __: str | None) -> None:
        """Every hour: what the service says each stop still ahead will start by at the latest
        (its 90th percentile), checked against the truth at the end."""
        plan = self._get(f"/v1/plans/{self.plan_id}")
        for route in plan["routes"]:
            for v in route["visits"]:
                ahead = v["status"] == "planned" and v["stop_id"] not in self.truth_start
                if ahead and v.get("eta_p90") and self._s(v["eta"]) >= t:
                    seen = (t, self._s(v["eta"]), self._s(v["eta_p90"]))
                    self.p90_seen.setdefault(v["stop_id"], []).append(seen)

    # -- the service -----------------------------------------------------------------------------

    def _report(self, t: int, c: _Courier, kind: str, **fields_: Any) -> None:
        if self.policy == "static":
            return
        self.event_no += 1
        body = {"event_id": f"sim-{self.seed}-{self.event_no}", "courier_id": c.id, "type": kind, "at": self._at(t)}
        body.update(fields_)
        started = time.perf_counter()
        status, answer, path = self.service.request("POST", f"/v1/plans/{self.plan_id}/events", "dispatcher", body)
        self.figures.answer_ms.append((time.perf_counter() - started) * 1000)
        self.figures.events += 1
        if status != 200:
            raise RuntimeError(f"the service answered {status} to {body}: {answer}")
        if path == "reoptimized":
            self.figures.reoptimizations += 1
        for courier_id in answer["changed_routes"]:
            self._new_route(t, courier_id)
        if answer["calls"] or answer["changed_routes"]:
            self._queue_calls(t, answer["calls"])

    def _new_route(self, t: int, courier_id: str) -> None:
        c = self.couriers[courier_id]
        route = self._get(f"/v1/plans/{self.plan_id}/couriers/{courier_id}/route")
        before = self._left(c.route)
        c.route = [v["stop_id"] for v in route["visits"] if v["status"] == "planned"]
        c.breaks = [(self._s(b["start"]), self._s(b["end"])) for b in route.get("breaks", [])]
        if self._left(c.route) != before:  # a change the courier sees: what is left, or its order
            self.figures.route_changes += 1
        if c.home and self._next_stop(c) is not None:
            c.home = False
            self._push(t, "leave", c.id)
        elif c.leg is not None and c.target is not None and c.target not in c.route and c.stuck is None:
            # driving to a stop taken off their route: turn towards the new first stop now
            where = self._where(c, t)
            nxt = self._next_stop(c)
            c.epoch += 1
            if nxt is None:
                c.leg, c.target, c.home = None, None, True
                return
            to = self.problem.stop_by_id(nxt).location
            metres = _metres(where, to) * self.world.detour_factor
            self._drive(c, where, to, nxt, t, self._drive_s(c, metres, nxt, t))

    def _queue_calls(self, t: int, calls: Sequence[Mapping[str, Any]]) -> None:
        for call in calls:
            if call["status"] != "open" or call["kind"] == "failed" or call["id"] in self.calls:
                continue
            call_by = self._s(call["call_by"]) if call.get("call_by") else self._s(call["window"]["end"])
            self._push(max(t, call_by - self.world.centre_slack_s), "centre", None, call["id"])

    def _on_centre(self, t: int, _: str | None, call_id: str | None) -> None:
        """The call centre's turn for a call: made if it is still open now and still says the
        customer is likely late (a late ETA, a dropped stop, or a chance at the threshold the
        calls open at); otherwise looked at again until the window ends."""
        if call_id in self.calls:
            return
        open_calls = {c["id"]: c for c in self._get(f"/v1/plans/{self.plan_id}/calls?status=open")}
        call = open_calls.get(call_id or "")
        if call is None:
            return
        stop_id = call["stop_id"]
        if stop_id in self.truth_start and self.truth_start[stop_id] <= t:
            return  # served meanwhile (the service will close it with that report)
        end = self._s(call["window"]["end"])
        still = call["kind"] == "dropped" or call["late_min"] > 0 or call.get("p_late", 0.0) >= self.risk
        if not still:  # the risk fell since the call opened: look again in a few minutes
            if t + RECHECK_S < end:
                self._push(t + RECHECK_S, "centre", None, call["id"])
            return
        outcome = self._answer(stop_id)
        self.calls[call["id"]] = CallMade(call["id"], stop_id, t, end, outcome, float(call.get("p_late", 0.0)))
        self.first_call.setdefault(stop_id, t)
        body: dict[str, Any] = {"outcome": outcome}
        if outcome == "rebooked":
            start, stop_end = self._rebooked(stop_id)
            body["new_window"] = {"start": self._at(start), "end": self._at(stop_end)}
        status, answer, _ = self.service.request("POST", f"/v1/calls/{call_id}/outcome", "dispatcher", body)
        if status == 409:
            return  # closed meanwhile
        if status != 200:
            raise RuntimeError(f"the service answered {status} to outcome {body}: {answer}")
        if outcome == "rebooked":
            self._apply_rebooking(stop_id)
            self._refresh_routes(t)
        self._queue_calls(t, self._get(f"/v1/plans/{self.plan_id}/calls?status=open"))

    def _refresh_routes(self, t: int) -> None:
        """After a rebooking (its answer lists no routes): follow every route it changed."""
        plan = self._get(f"/v1/plans/{self.plan_id}")
        for route in plan["routes"]:
            new = [v["stop_id"] for v in route["visits"] if v["status"] == "planned"]
            if route["courier_id"] in self.couriers and new != self.couriers[route["courier_id"]].route:
                self._new_route(t, route["courier_id"])

    def _answer(self, stop_id: str) -> str:
        u = self.draws.answer[stop_id]
        if u < self.world.accept_late_p:
            return "accepted_late"
        if u < self.world.accept_late_p + self.world.rebook_p:
            return "rebooked"
        return "unreachable"

    def _rebooked(self, stop_id: str) -> tuple[int, int]:
        windows = self.windows[stop_id]
        start, end = windows[-1]
        return start + self.world.rebook_shift_s, end + self.world.rebook_shift_s

    def _apply_rebooking(self, stop_id: str) -> None:
        self.windows[stop_id] = [self._rebooked(stop_id)]
        self.rebooked.add(stop_id)

    def _static_calls(self, t: int, c: _Courier, late_min: float) -> None:
        """The morning plan and a courier's word: customers whose planned ETA plus the delay
        they reported passes their window's end are called at once."""
        for stop_id in c.route:
            if stop_id in self.served or stop_id in self.failed or stop_id in self.first_call:
                continue
            planned = self.morning.get(stop_id)
            end = self.windows[stop_id][-1][1]
            if planned is None or planned[1] + late_min * 60 <= end:
                continue
            outcome = self._answer(stop_id)
            call_id = f"static-{stop_id}"
            self.calls[call_id] = CallMade(call_id, stop_id, t, end, outcome)
            self.first_call[stop_id] = t
            if outcome == "rebooked":
                self._apply_rebooking(stop_id)

    # -- the score ---------------------------------------------------------------------------------

    def _score(self) -> None:
        f = self.figures
        late: set[str] = set()
        day_end = max((c.shift_end_s for c in self.problem.couriers), default=0) + 4 * 3600
        for stop in self.problem.stops:
            end = self.windows[stop.id][-1][1]
            start = self.truth_start.get(stop.id)
            if stop.id in self.served:
                f.served += 1
            if start is None or stop.id in self.failed:
                continue  # a failed attempt is neither on time nor late
            window = next(((a, b) for a, b in self.windows[stop.id] if start <= b), self.windows[stop.id][-1])
            if start > window[1]:
                late.add(stop.id)
                f.late_min += (start - window[1]) / 60
        never = [s.id for s in self.problem.stops if s.id not in self.truth_start and s.id not in self.failed]
        for stop_id in never:  # not reached by the end of the day: late until the day ends
            late.add(stop_id)
            f.late_min += max(0, day_end - self.windows[stop_id][-1][1]) / 60
        f.late_stops = len(late)
        f.late_customers = len(late)
        by_stop: dict[str, CallMade] = {}
        for call in sorted(self.calls.values(), key=lambda m: m.made_s):
            by_stop.setdefault(call.stop_id, call)
        for stop_id in late:
            first = by_stop.get(stop_id)
            end = self._original_end(stop_id)
            start = self.truth_start.get(stop_id, day_end)
            early = first is not None and first.made_s <= end - self.world.lead_s
            f.late_detail.append((round(max(0, start - self.windows[stop_id][-1][1]) / 60, 1), early))
            if first is None:
                continue
            if first.made_s < end:
                f.called_any += 1
            if early:
                f.called_early += 1
        for call in self.calls.values():
            f.calls += 1
            right = call.stop_id in late or call.outcome == "rebooked"
            f.calls_right += int(right)
            f.false_alarms += int(not right)
            if right:
                f.leads_min.append((call.window_end_s - call.made_s) / 60)
        for stop_id, p90s in self.p90_seen.items():
            start = self.truth_start.get(stop_id)
            if start is None or stop_id in self.failed or stop_id in self.rebooked:
                continue
            f.p90_checked += len(p90s)
            f.p90_covered += sum(1 for _, _, p in p90s if start <= p)
        if self.keep_timeline:
            for stop in self.problem.stops:
                planned = self.morning.get(stop.id)
                f.timeline.append(
                    {
                        "stop_id": stop.id,
                        "courier_id": planned[0] if planned else None,
                        "window_start_s": stop.windows[-1].start_s,
                        "window_end_s": self._original_end(stop.id),
                        "planned_s": planned[1] if planned else None,
                        "true_s": self.truth_start.get(stop.id),
                        "called_s": self.first_call.get(stop.id),
                        "late": stop.id in late,
                    }
                )

    def _original_end(self, stop_id: str) -> int:
        return self.problem.stop_by_id(stop_id).latest_s


def _metres(a: Location, b: Location) -> float:
    return float(great_circle_m([a, b])[0, 1])


# --- summaries --------------------------------------------------------------------------------

_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 15: 2.13, 20: 2.09}


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% interval (Student's t over the seeds)."""
    if not values:
        return 0.0, 0.0
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, 0.0
    df = len(values) - 1
    t = _T95.get(df) or (_T95[max(k for k in _T95 if k <= df)] if df < 30 else 1.96)
    return mean, t * statistics.stdev(values) / math.sqrt(len(values))


SUMMARY_FIELDS = (
    "on_time_rate",
    "late_stops",
    "late_minutes",
    "recall_30",
    "recall_any",
    "precision",
    "lead_median_min",
    "lead_p10_min",
    "false_alarms_per_courier_day",
    "route_changes_per_courier_day",
    "reoptimizations",
    "answer_p95_ms",
    "p90_coverage",
)


def summarise(runs: Sequence[RunFigures]) -> dict[str, Any]:
    """Means over the seeds of one policy (rates 0-1), each with its 95% half-width."""
    rows = [r.row() for r in runs]
    out: dict[str, Any] = {"policy": runs[0].policy if runs else "", "runs": len(runs)}
    out["stops"] = rows[0]["stops"] if rows else 0
    for name in SUMMARY_FIELDS:
        values = [float(r[name]) for r in rows if r[name] is not None]
        mean, half = interval(values)
        out[name] = round(mean, 4) if values else None
        out[f"{name}_ci95"] = round(half, 4) if values else None
    return out
