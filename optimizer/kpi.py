"""Service-quality figures of a day: what the plan promises and what the records show.

`day_kpis(problem, timed, solution, outcomes)` is pure. Inside, everything is integer seconds
and metres; properties give minutes, hours and kilometres for people, and `figures()` gives
the wire's KPIS (CONTRACTS.md 3) rounded for display.

Definitions, in the dispatcher's words:

- **planned on-time rate**: stops the plan serves inside a booked window, over all stops of
  the problem (an unassigned stop is not on time).
- **lateness** of a visit: how long after its window's end service starts (MISSION.md
  glossary). The lateness distribution (p50, p90, max) is taken over *late* stops only, by the
  nearest-rank method (the p-th percentile is the smallest value with at least p% of the
  values at or below it), so every figure is one real stop's lateness.
- **couriers used**: couriers whose route has a stop. Distance, driving, working time (leaving
  the start to coming home, waits and breaks included) and overtime (home after the shift
  ends) add up over used couriers only.
- **cost**: `CostModel.per_km` x km + `per_hour` x working hours + `per_courier` x couriers used.
- **actual** figures, only when outcomes are recorded: a stop done inside a window is on
  time; a stop with no outcome counts as not delivered on time (at the day's end it was
  missed); **proactive-call coverage** is the share of stops done late whose customer had a
  call task raised strictly before the window ended (1.0 when nothing was late).
- **grade** A/B/C per courier, from the records only (`GradePolicy`); a courier without
  records or without stops is not graded.

An outcome belongs to the courier it names, else to the courier whose planned route holds the
stop. The problem's windows are the booked ones: put a rebooked window into the problem before
measuring against it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from optimizer.model import Courier, Problem
from optimizer.schedule import RouteSchedule, Schedule
from optimizer.solution import Solution

OutcomeStatus = Literal["done", "failed"]
Grade = Literal["A", "B", "C"]


# --- inputs ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """What happened at one stop, as recorded during the day.

    `at_s` is the actual start of service for a done stop, or when the failure was reported.
    `called_s` is when the first proactive call task for the stop was raised, None if never.
    `courier_id` None means the courier whose planned route holds the stop.
    """

    stop_id: str
    status: OutcomeStatus
    at_s: int
    called_s: int | None = None
    courier_id: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ("done", "failed"):
            raise ValueError(f"outcome of stop {self.stop_id!r}: status must be 'done' or 'failed'")
        if self.at_s < 0:
            raise ValueError(f"outcome of stop {self.stop_id!r}: at_s must not be negative")
        if self.called_s is not None and self.called_s < 0:
            raise ValueError(f"outcome of stop {self.stop_id!r}: called_s must not be negative")


@dataclass(frozen=True, slots=True)
class CostModel:
    """What a day costs, in one currency: per kilometre driven, per working hour, per courier
    used. The defaults are CNY for an e-bike courier in a Chinese city: 0.5 a km (power,
    wear), 35 an hour on the road, and 150 for a courier-day whatever its length (the day's
    base pay, the vehicle, the morning sort), so one courier more costs about what it does:
    an eight-hour route then costs 430, of which the courier alone 150. Set real rates."""

    per_km: float = 0.5
    per_hour: float = 35.0
    per_courier: float = 150.0

    def __post_init__(self) -> None:
        for name in ("per_km", "per_hour", "per_courier"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite, non-negative rate, got {value}")

    def cost(self, distance_m: int, working_s: int, couriers: int) -> float:
        return self.per_km * distance_m / 1000 + self.per_hour * working_s / 3600 + self.per_courier * couriers


@dataclass(frozen=True, slots=True)
class GradePolicy:
    """Thresholds of the courier grades, from the day's records.

    A courier is graded A when all A thresholds hold, else B when all B thresholds hold,
    else C. `*_min_on_time`: actual on-time rate over the courier's stops; `*_max_uncalled_late`:
    stops served late without a call before the window ended (a listed violation in the
    service rules); `*_max_failed_rate`: failed deliveries over the courier's stops.
    """

    a_min_on_time: float = 0.98
    a_max_uncalled_late: int = 0
    a_max_failed_rate: float = 0.02
    b_min_on_time: float = 0.90
    b_max_uncalled_late: int = 2
    b_max_failed_rate: float = 0.05

    def __post_init__(self) -> None:
        for name in ("a_min_on_time", "a_max_failed_rate", "b_min_on_time", "b_max_failed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value}")
        for name in ("a_max_uncalled_late", "b_max_uncalled_late"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if (
            self.a_min_on_time < self.b_min_on_time
            or self.a_max_uncalled_late > self.b_max_uncalled_late
            or self.a_max_failed_rate > self.b_max_failed_rate
        ):
            raise ValueError("grade A thresholds must be at least as strict as grade B's")

    def grade(self, on_time_rate: float, uncalled_late: int, failed_rate: float) -> Grade:
        if (
            on_time_rate >= self.a_min_on_time
            and uncalled_late <= self.a_max_uncalled_late
            and failed_rate <= self.a_max_failed_rate
        ):
            return "A"
        if (
            on_time_rate >= self.b_min_on_time
            and uncalled_late <= self.b_max_uncalled_late
            and failed_rate <= self.b_max_failed_rate
        ):
            return "B"
        return "C"


DEFAULT_COST = CostModel()


def route_cost(courier: Courier, distance_m: int, duration_s: int) -> int:
    """What one used courier's route costs in objective units, at their own rates."""
    return courier.fixed_cost + courier.cost_per_m * distance_m + courier.cost_per_s * duration_s


DEFAULT_GRADES = GradePolicy()


def on_time_rate(on_time: int, stops: int) -> float:
    """The on-time rate, the one definition every figure uses: stops served inside a booked
    window over `stops` (all the stops counted; one left out or not served is not on time).
    A day (or courier) without stops is on time: 1.0."""
    return on_time / stops if stops else 1.0


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lateness:
    """How late the late stops are: count, total and nearest-rank percentiles, in seconds."""

    late_stops: int
    total_s: int
    p50_s: int
    p90_s: int
    max_s: int

    @classmethod
    def of(cls, late_s: Iterable[int]) -> Lateness:
        values = sorted(s for s in late_s if s > 0)
        return cls(len(values), sum(values), nearest_rank(values, 50), nearest_rank(values, 90), max(values, default=0))

    @property
    def minutes(self) -> dict[str, float]:
        """p50, p90, max and total in minutes."""
        return {
            "p50": self.p50_s / 60,
            "p90": self.p90_s / 60,
            "max": self.max_s / 60,
            "total": self.total_s / 60,
        }


@dataclass(frozen=True, slots=True)
class ActualKpis:
    """What the records show, over `stops` stops (all the problem's, or one courier's)."""

    stops: int
    recorded: int
    done: int
    failed: int
    on_time: int
    lateness: Lateness
    called_late: int

    @property
    def late_stops(self) -> int:
        return self.lateness.late_stops

    @property
    def uncalled_late(self) -> int:
        return self.late_stops - self.called_late

    @property
    def on_time_rate(self) -> float:
        return on_time_rate(self.on_time, self.stops)

    @property
    def failed_rate(self) -> float:
        return self.failed / self.stops if self.stops else 0.0

    @property
    def call_coverage(self) -> float:
        """Share of late stops whose customer had a call before the window ended."""
        return self.called_late / self.late_stops if self.late_stops else 1.0


@dataclass(frozen=True, slots=True)
class CourierKpis:
    """One courier's day: the plan's figures, the records' figures and the grade."""

    courier_id: str
    stops: int
    lateness: Lateness
    distance_m: int
    driving_s: int
    working_s: int
    overtime_s: int
    cost: float
    actual: ActualKpis | None
    grade: Grade | None

    @property
    def used(self) -> bool:
        return self.stops > 0

    @property
    def late_stops(self) -> int:
        return self.lateness.late_stops

    @property
    def on_time_rate(self) -> float:
        """Planned: stops on the route served inside a window, over the route's stops."""
        return on_time_rate(self.stops - self.late_stops, self.stops)


@dataclass(frozen=True, slots=True)
class DayKpis:
    """A day's service-quality figures (see the module docstring for the definitions)."""

    stops: int
    served: int
    unassigned: int
    lateness: Lateness
    couriers_used: int
    distance_m: int
    driving_s: int
    working_s: int
    overtime_s: int
    cost: float
    actual: ActualKpis | None
    couriers: tuple[CourierKpis, ...]

    @property
    def late_stops(self) -> int:
        return self.lateness.late_stops

    @property
    def late_s(self) -> int:
        return self.lateness.total_s

    @property
    def on_time_rate(self) -> float:
        return on_time_rate(self.served - self.late_stops, self.stops)

    @property
    def distance_km(self) -> float:
        return self.distance_m / 1000

    @property
    def driving_hours(self) -> float:
        return self.driving_s / 3600

    @property
    def working_hours(self) -> float:
        return self.working_s / 3600

    @property
    def overtime_hours(self) -> float:
        return self.overtime_s / 3600

    @property
    def late_minutes(self) -> float:
        return self.late_s / 60

    def courier(self, courier_id: str) -> CourierKpis:
        for figures in self.couriers:
            if figures.courier_id == courier_id:
                return figures
        raise KeyError(courier_id)

    def figures(self) -> dict[str, float | int | None]:
        """The wire's KPIS (CONTRACTS.md 3) and more, in display units, rounded."""
        actual = self.actual
        return {
            "stops": self.stops,
            "served": self.served,
            "unassigned": self.unassigned,
            "late_stops": self.late_stops,
            "late_minutes": round(self.late_minutes, 1),
            "late_p50_min": round(self.lateness.p50_s / 60, 1),
            "late_p90_min": round(self.lateness.p90_s / 60, 1),
            "late_max_min": round(self.lateness.max_s / 60, 1),
            "on_time_rate": round(self.on_time_rate, 4),
            "couriers_used": self.couriers_used,
            "distance_km": round(self.distance_km, 3),
            "driving_hours": round(self.driving_hours, 2),
            "working_hours": round(self.working_hours, 2),
            "overtime_hours": round(self.overtime_hours, 2),
            "cost": round(self.cost, 2),
            "actual_on_time_rate": None if actual is None else round(actual.on_time_rate, 4),
            "failed": None if actual is None else actual.failed,
            "call_coverage": None if actual is None else round(actual.call_coverage, 4),
        }


# --- computing -------------------------------------------------------------------------


def nearest_rank(sorted_values: Sequence[int], percent: float) -> int:
    """The nearest-rank percentile of ascending values; 0 for none."""
    if not sorted_values:
        return 0
    rank = max(math.ceil(percent / 100 * len(sorted_values)), 1)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def day_kpis(
    problem: Problem,
    timed: Schedule,
    solution: Solution,
    outcomes: Sequence[StopOutcome] | None = None,
    *,
    cost_model: CostModel = DEFAULT_COST,
    grades: GradePolicy = DEFAULT_GRADES,
) -> DayKpis:
    """The day's figures for `timed` (the schedule of `solution`'s routes).

    `outcomes` None means no records yet: actual figures and grades are then None. Raises
    ValueError naming the stop when an outcome is about an unknown stop, comes twice for one
    stop, or names an unknown courier.
    """
    assigned = set(solution.assigned_stop_ids)
    unassigned = sum(1 for s in problem.stops if s.id not in assigned)
    planned_courier = {v.stop_id: r.courier_id for r in timed.routes for v in r.visits}
    by_stop = _index_outcomes(problem, outcomes) if outcomes is not None else None

    routes = {r.courier_id: r for r in timed.routes}
    per_courier = []
    for courier in problem.couriers:
        route = routes.get(courier.id)
        used = route is not None and bool(route.visits)
        actual = grade = None
        if by_stop is not None:
            mine = [s for s, c in planned_courier.items() if c == courier.id and s not in by_stop]
            mine += [s for s, o in by_stop.items() if (o.courier_id or planned_courier.get(s)) == courier.id]
            actual = _actual(problem, mine, by_stop)
            grade = grades.grade(actual.on_time_rate, actual.uncalled_late, actual.failed_rate) if mine else None
        per_courier.append(
            _courier_kpis(courier.id, route if used else None, courier.shift_end_s, cost_model, actual, grade)
        )

    used_couriers = [c for c in per_courier if c.used]
    return DayKpis(
        stops=len(problem.stops),
        served=sum(c.stops for c in used_couriers),
        unassigned=unassigned,
        lateness=Lateness.of(v.late_s for r in timed.routes for v in r.visits),
        couriers_used=len(used_couriers),
        distance_m=sum(c.distance_m for c in used_couriers),
        driving_s=sum(c.driving_s for c in used_couriers),
        working_s=sum(c.working_s for c in used_couriers),
        overtime_s=sum(c.overtime_s for c in used_couriers),
        cost=cost_model.cost(
            sum(c.distance_m for c in used_couriers), sum(c.working_s for c in used_couriers), len(used_couriers)
        ),
        actual=None if by_stop is None else _actual(problem, [s.id for s in problem.stops], by_stop),
        couriers=tuple(per_courier),
    )


def _index_outcomes(problem: Problem, outcomes: Sequence[StopOutcome]) -> dict[str, StopOutcome]:
    known_couriers = {c.id for c in problem.couriers}
    by_stop: dict[str, StopOutcome] = {}
    for outcome in outcomes:
        if not problem.has_stop(outcome.stop_id):
            raise ValueError(f"outcome of stop {outcome.stop_id!r}: no such stop in the problem")
        if outcome.stop_id in by_stop:
            raise ValueError(f"outcome of stop {outcome.stop_id!r}: recorded twice; pass the final one")
        if outcome.courier_id is not None and outcome.courier_id not in known_couriers:
            raise ValueError(f"outcome of stop {outcome.stop_id!r}: unknown courier {outcome.courier_id!r}")
        by_stop[outcome.stop_id] = outcome
    return by_stop


def _actual(problem: Problem, stop_ids: Sequence[str], by_stop: dict[str, StopOutcome]) -> ActualKpis:
    """The records' figures over `stop_ids`; a stop without an outcome was not delivered."""
    done = failed = on_time = called = 0
    late: list[int] = []
    for stop_id in stop_ids:
        outcome = by_stop.get(stop_id)
        if outcome is None:
            continue
        if outcome.status == "failed":
            failed += 1
            continue
        done += 1
        window = problem.stop_by_id(stop_id).window_for(outcome.at_s)
        late_s = max(0, outcome.at_s - window.end_s)
        if late_s == 0:
            on_time += 1
            continue
        late.append(late_s)
        if outcome.called_s is not None and outcome.called_s < window.end_s:
            called += 1
    recorded = sum(1 for s in stop_ids if s in by_stop)
    return ActualKpis(len(stop_ids), recorded, done, failed, on_time, Lateness.of(late), called)


def _courier_kpis(
    courier_id: str,
    route: RouteSchedule | None,
    shift_end_s: int,
    cost_model: CostModel,
    actual: ActualKpis | None,
    grade: Grade | None,
) -> CourierKpis:
    if route is None:
        return CourierKpis(courier_id, 0, Lateness.of(()), 0, 0, 0, 0, 0.0, actual, grade)
    return CourierKpis(
        courier_id=courier_id,
        stops=len(route.visits),
        lateness=Lateness.of(v.late_s for v in route.visits),
        distance_m=route.distance_m,
        driving_s=route.travel_s,
        working_s=route.duration_s,
        overtime_s=max(0, route.end_s - shift_end_s),
        cost=cost_model.cost(route.distance_m, route.duration_s, 1),
        actual=actual,
        grade=grade,
    )
