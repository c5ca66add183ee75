"""Wire models (CONTRACTS.md 3) and the one place they convert to and from the domain.

Shapes are checked here by pydantic; meaning (windows in order, known depots, demand a
courier can carry...) is checked by the domain model, whose errors name field and id.
Units exist only here: datetimes with offsets become seconds from the plan's day start,
amounts become whole units of their dimension's finest given decimal (0.0099 m3 beside 12 m3:
units of 0.0001 m3), km/h become m/s, minutes become seconds, money becomes objective units
(`ProblemIn.cost_scale`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from optimizer import model as m
from optimizer.errors import InvalidProblem, ProblemIssue
from optimizer.kpi import DEFAULT_COST, CostModel, on_time_rate
from optimizer.schedule import RouteSchedule, Schedule
from optimizer.solution import Solution

if TYPE_CHECKING:
    from api.store.records import CallRecord

WEEK_S = 7 * 24 * 3600
"""Times on the wire must fall within a week of the plan's day start."""

DEFAULT_STOP_PENALTY = 10_000_000
"""What leaving a stop out costs, in metres of driving (10,000 km) per point of priority: a last resort."""

METRE_UNITS = 2
"""Objective units a metre of driving costs at the problem's per-km rate. The engines weigh
time-window violations with bounded penalties per second (PyVRP's at most 100,000), so the
objective is kept at the scale of metres: a courier-day of 150 then costs 600,000 units, not
enough to buy a late minute; two units a metre keep 35 an hour exact to 0.3%."""

MAX_DECIMALS = 6
"""Amounts keep up to this many decimals exactly."""

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]
Amount = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False, strict=True)]
KEYS_ARE_IDS: dict[str, Any] = {"additionalProperties": False}
"""For `dict[Id, ...]`: pydantic puts the key pattern in `patternProperties`, which alone lets any
other key through in JSON Schema; this says in the OpenAPI schema what validation does."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time needs an offset, e.g. 2026-11-26T09:00:00+08:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Wire(BaseModel):
    """Numbers and booleans are strict (no "12" or true for a number): what the OpenAPI schema says."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowIn(Wire):
    start: AwareDatetime
    end: AwareDatetime


class BreakIn(Wire):
    earliest_start: AwareDatetime
    latest_start: AwareDatetime
    duration_min: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False, strict=True)]


class DepotIn(Wire):
    id: Id
    lat: Latitude
    lon: Longitude


class CourierIn(Wire):
    id: Id
    depot: Id
    end_depot: Id | None = None
    shift_start: AwareDatetime
    shift_end: AwareDatetime
    capacity: dict[Id, Amount] = Field(default_factory=dict, max_length=8, json_schema_extra=KEYS_ARE_IDS)
    speed_kmh: Annotated[float, Field(gt=0.5, le=200, allow_inf_nan=False, strict=True)] = 18.0
    profile: Id | None = None
    breaks: list[BreakIn] = Field(default_factory=list, max_length=8)
    skills: list[Id] = Field(
        default_factory=list, max_length=32, description="what the courier can do: cold_chain, cod, oversize..."
    )
    grade: Grade | None = Field(None, description="service grade from the records (A best); see stops' min_grade")
    costs: CostsIn | None = Field(None, description="this courier's own rates (default: the problem's)")
    max_trips: Annotated[int, Field(ge=1, le=10, strict=True)] = Field(
        1, description="trips a day: the courier may go back to their depot to unload pickups and reload"
    )
    reload_min: Annotated[float, Field(ge=0, le=120, allow_inf_nan=False, strict=True)] = Field(
        10.0, description="minutes at the depot for each reload"
    )


Rate = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False, strict=True)]
Grade = Literal["A", "B", "C"]
GRADES = ("A", "B", "C")


def grade_skills(grade: str | None) -> frozenset[str]:
    """A grade as skills: an A courier may serve stops asking for A, B or C; ungraded, none."""
    if grade is None:
        return frozenset()
    return frozenset(f"grade>={g}" for g in GRADES[GRADES.index(grade) :])


class CostsIn(Wire):
    """What a courier-day costs, in one currency. On the problem: the defaults for every
    courier (unset: `optimizer.kpi.DEFAULT_COST`); on a courier: their own rates."""

    per_courier: Rate | None = Field(None, description="a courier used at all (pay for the day, the vehicle)")
    per_km: Rate | None = Field(None, description="each kilometre driven")
    per_hour: Rate | None = Field(None, description="each hour from leaving the depot to coming back")

    def over(self, base: CostModel) -> CostModel:
        """These rates where set, `base`'s otherwise."""
        return CostModel(
            per_km=base.per_km if self.per_km is None else self.per_km,
            per_hour=base.per_hour if self.per_hour is None else self.per_hour,
            per_courier=base.per_courier if self.per_courier is None else self.per_courier,
        )


class CustomerIn(Wire):
    name: Annotated[str, Field(max_length=200)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""


class ParcelIn(Wire):
    """Where a stop's parcel is: `{"at": "hub"}` (it stays there, any courier may take it) or
    `{"on": COURIER_ID}` (on that van: only they can serve it). Without it, the parcel leaves
    on the van of the courier planned for it."""

    at: Literal["hub"] | None = None
    on: Id | None = None

    @model_validator(mode="after")
    def _one_place(self) -> ParcelIn:
        if (self.at is None) == (self.on is None):
            raise ValueError('say where the parcel is: {"at": "hub"} or {"on": COURIER_ID}')
        return self


class StopIn(Wire):
    id: Id
    lat: Latitude
    lon: Longitude
    service_min: Annotated[float, Field(ge=0, le=600, allow_inf_nan=False, strict=True)] = 0.0
    windows: list[WindowIn] = Field(min_length=1, max_length=8)
    demand: dict[Id, Amount] = Field(default_factory=dict, max_length=8, json_schema_extra=KEYS_ARE_IDS)
    customer: CustomerIn = Field(default_factory=CustomerIn)
    address: Annotated[str, Field(max_length=300)] = ""
    penalty: Annotated[int, Field(ge=0, le=10**12, strict=True)] | None = Field(
        None,
        description="what leaving the stop out costs, in metres of driving at the problem's per-km rate "
        "(default 10,000 km times the priority)",
    )
    required: Annotated[bool, Field(strict=True)] = False
    parcel: ParcelIn | None = None
    kind: Literal["delivery", "pickup"] = Field(
        "delivery",
        description="delivery: the demand leaves the hub on the van; pickup (上门揽收): it joins the van here",
    )
    skills: list[Id] = Field(default_factory=list, max_length=16, description="every one needed of the courier")
    priority: Annotated[int, Field(ge=1, le=10, strict=True)] = Field(
        1, description="1 (normal) to 10: when not every window can be kept, lower priorities are lost first"
    )
    min_grade: Grade | None = Field(None, description="only couriers of this grade or better serve it")


class HandoverIn(Wire):
    """Whether couriers may hand loaded parcels to each other, and how long a meeting takes."""

    allowed: Annotated[bool, Field(strict=True)] = False
    minutes: Annotated[float, Field(ge=0, le=120, allow_inf_nan=False, strict=True)] = 5.0


def _at(hhmm: str) -> str:
    return f"2026-11-26T{hhmm}:00+08:00"


PROBLEM_EXAMPLE: dict[str, Any] = {
    "name": "pudong-2026-11-26",
    "depots": [{"id": "hub", "lat": 31.2204, "lon": 121.5447}],
    "couriers": [
        {
            "id": "c01",
            "depot": "hub",
            "shift_start": _at("08:00"),
            "shift_end": _at("18:00"),
            "capacity": {"weight_kg": 80, "volume_m3": 0.6, "parcels": 60},
            "speed_kmh": 18,
            "breaks": [{"earliest_start": _at("11:30"), "latest_start": _at("13:00"), "duration_min": 30}],
            "skills": ["cold_chain", "cod"],
            "grade": "A",
            "max_trips": 2,
            "reload_min": 10,
        },
        {
            "id": "c02",
            "depot": "hub",
            "shift_start": _at("09:00"),
            "shift_end": _at("17:00"),
            "capacity": {"weight_kg": 120, "volume_m3": 1.2, "parcels": 90},
            "speed_kmh": 25,
            "grade": "B",
            "costs": {"per_courier": 220},
        },
    ],
    "stops": [
        {
            "id": "o1001",
            "lat": 31.2301,
            "lon": 121.5102,
            "service_min": 4,
            "windows": [{"start": _at("09:00"), "end": _at("11:00")}],
            "demand": {"weight_kg": 3.2, "volume_m3": 0.0099, "parcels": 1},
            "customer": {"name": "Li Wei", "phone": "+8613800001234"},
            "skills": ["cold_chain"],
            "priority": 3,
        },
        {
            "id": "p2001",
            "lat": 31.2150,
            "lon": 121.5600,
            "service_min": 5,
            "windows": [{"start": _at("14:00"), "end": _at("16:00")}],
            "demand": {"weight_kg": 6.5, "volume_m3": 0.045, "parcels": 2},
            "kind": "pickup",
            "min_grade": "B",
        },
    ],
    "costs": {"per_km": 0.5, "per_hour": 35, "per_courier": 150},
}
"""A day with every kind of field: shown in the OpenAPI schema, and tested to be valid."""


class ProblemIn(Wire):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [PROBLEM_EXAMPLE]})
    name: Annotated[str, Field(min_length=1, max_length=200)]
    depots: list[DepotIn] = Field(min_length=1, max_length=50)
    couriers: list[CourierIn] = Field(min_length=1, max_length=500)
    stops: list[StopIn] = Field(max_length=5000)
    handover: HandoverIn | None = None
    costs: CostsIn | None = Field(None, description="the day's rates; the defaults make a courier-day cost its pay")
    road_map: Id | None = Field(
        None,
        description="the road network to plan and time on, by name: one of the service's maps "
        "(`GET /v1/maps`), or `straight` for straight lines x the detour factor; "
        "default: the service's `ONTIME_ROAD_MAP`, else straight lines",
    )

    @cached_property
    def day_start(self) -> datetime:
        """Local midnight of the earliest shift start, in that shift's offset (the model is frozen)."""
        first = min((c.shift_start for c in self.couriers), key=lambda t: t.timestamp())
        return first.replace(hour=0, minute=0, second=0, microsecond=0)

    def to_domain(self) -> m.Problem:
        """The wire problem as a domain `Problem`; every issue found is reported at once."""
        return self.domain

    @cached_property
    def domain(self) -> m.Problem:
        """`to_domain()`, built once: both are immutable, and the live service asks on every event."""
        day = self.day_start
        dims = sorted({k for c in self.couriers for k in c.capacity} | {k for s in self.stops for k in s.demand})
        issues: list[ProblemIssue] = []
        scales = self.amount_scales(issues)
        scale = self.cost_scale
        metre_cost = max(1, round(self.plan_costs.per_km * scale / 1000))

        def seconds(value: datetime, field_name: str, obj_id: str) -> int:
            s = math.floor((value - day).total_seconds())
            if not 0 <= s <= WEEK_S:
                issues.append(ProblemIssue(field_name, obj_id, "time is outside the plan's week"))
                return 0
            return s

        def build(factory: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return factory(*args, **kwargs)
            except InvalidProblem as exc:
                issues.extend(exc.issues)
                return None

        depots = tuple(build(m.Depot, d.id, m.Location(d.lat, d.lon)) for d in self.depots)
        couriers = []
        for c in self.couriers:
            breaks = tuple(
                build(
                    m.Break,
                    f"break{k + 1}",
                    seconds(b.earliest_start, "couriers.breaks.earliest_start", c.id),
                    seconds(b.latest_start, "couriers.breaks.latest_start", c.id),
                    round(b.duration_min * 60),
                )
                for k, b in enumerate(c.breaks)
            )
            speed = c.speed_kmh / 3.6
            own = self.costs_of(c)
            couriers.append(
                build(
                    m.Courier,
                    c.id,
                    c.depot,
                    seconds(c.shift_start, "couriers.shift_start", c.id),
                    seconds(c.shift_end, "couriers.shift_end", c.id),
                    tuple(round(c.capacity.get(dim, 0.0) * scales[dim]) for dim in dims),
                    end_depot=c.end_depot,
                    profile=c.profile or f"{c.speed_kmh:g}kmh",
                    speed_mps=speed,
                    breaks=tuple(b for b in breaks if b is not None),
                    fixed_cost=round(own.per_courier * scale),
                    cost_per_m=round(own.per_km * scale / 1000),
                    cost_per_s=round(own.per_hour * scale / 3600),
                    skills=frozenset(c.skills) | grade_skills(c.grade),
                    max_trips=c.max_trips,
                    reload_s=round(c.reload_min * 60),
                )
            )
        stops = []
        for s in self.stops:
            windows = tuple(
                build(
                    m.TimeWindow,
                    seconds(w.start, "stops.windows.start", s.id),
                    seconds(w.end, "stops.windows.end", s.id),
                )
                for w in s.windows
            )
            if any(w is None for w in windows):
                issues.append(ProblemIssue("stops.windows", s.id, "window ends before it starts"))
                continue
            stops.append(
                build(
                    m.Stop,
                    s.id,
                    m.Location(s.lat, s.lon),
                    windows,
                    round(s.service_min * 60),
                    tuple(round(s.demand.get(dim, 0.0) * scales[dim]) for dim in dims),
                    None if s.required else metre_cost * (s.penalty or DEFAULT_STOP_PENALTY * s.priority),
                    parcel_on=s.parcel.on if s.parcel else None,
                    at_hub=bool(s.parcel and s.parcel.at == "hub"),
                    kind=s.kind,
                    skills=frozenset(s.skills) | ({f"grade>={s.min_grade}"} if s.min_grade else set()),
                    priority=s.priority,
                )
            )
        try:
            if issues:
                raise InvalidProblem(issues)
            handover_s = round(self.handover.minutes * 60) if self.handover and self.handover.allowed else None
            return m.Problem(
                self.name,
                depots,
                tuple(couriers),
                tuple(stops),
                tuple(dims),
                day,
                handover_s,
                metre_cost,
                self.road_map,
            )
        except InvalidProblem as exc:  # name the wire's fields, not the domain's
            raise InvalidProblem([replace(i, field=WIRE_FIELDS.get(i.field, i.field)) for i in exc.issues]) from None

    @property
    def plan_costs(self) -> CostModel:
        """The problem's rates: those given over `DEFAULT_COST`."""
        return self.costs.over(DEFAULT_COST) if self.costs else DEFAULT_COST

    def costs_of(self, courier: CourierIn) -> CostModel:
        """One courier's rates: their own over the problem's."""
        return courier.costs.over(self.plan_costs) if courier.costs else self.plan_costs

    @property
    def cost_scale(self) -> float:
        """Objective units per currency unit: a metre at the problem's rate costs `METRE_UNITS`
        (without a per-km rate, a second costs 40; without either, a unit is a thousandth)."""
        rates = self.plan_costs
        if rates.per_km > 0:
            return METRE_UNITS * 1000 / rates.per_km
        return 40 * 3600 / rates.per_hour if rates.per_hour > 0 else 1000.0

    def day_cost(self, routes: Iterable[tuple[str, int, int]]) -> float:
        """What the used couriers' routes cost at their rates: (courier id, metres, seconds) each."""
        rates = {c.id: self.costs_of(c) for c in self.couriers}
        return sum(rates[cid].cost(metres, seconds, 1) for cid, metres, seconds in routes)

    def amount_scales(self, issues: list[ProblemIssue] | None = None) -> dict[str, int]:
        """Per dimension, the units of one whole amount inside: 10 to the most decimals any
        amount of it is given with (at most `MAX_DECIMALS`; more is an issue naming the id)."""
        scales: dict[str, int] = {}
        for field_name, owners in (("couriers.capacity", self.couriers), ("stops.demand", self.stops)):
            for owner in owners:
                amounts = owner.capacity if isinstance(owner, CourierIn) else owner.demand
                for dim, amount in amounts.items():
                    places = _decimals(amount)
                    if places > MAX_DECIMALS and issues is not None:
                        issues.append(ProblemIssue(f"{field_name}.{dim}", owner.id, f"at most {MAX_DECIMALS} decimals"))
                    scales[dim] = max(scales.get(dim, 1), 10 ** min(places, MAX_DECIMALS))
        return scales


WIRE_FIELDS = {
    "couriers.start_depot": "couriers.depot",
    "couriers.reload": "couriers.reload_min",
    "couriers.speed": "couriers.speed_kmh",
    "stops.service": "stops.service_min",
    "breaks.duration": "couriers.breaks.duration_min",
    "breaks.latest_start": "couriers.breaks.latest_start",
}
"""Domain issue fields whose wire field has another name."""


def _decimals(amount: float) -> int:
    """How many decimals `amount` is written with (0.0099: 4; 12.0: 0)."""
    exponent = Decimal(repr(amount)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


# --- answers -------------------------------------------------------------------------


class WindowOut(BaseModel):
    start: datetime
    end: datetime

    @classmethod
    def of(cls, day_start: datetime, start_s: int, end_s: int) -> WindowOut:
        return cls(start=at(day_start, start_s), end=at(day_start, end_s))


VisitStatus = Literal["planned", "done", "failed"]


class VisitOut(BaseModel):
    stop_id: str
    eta: datetime
    window: WindowOut
    late_min: float
    status: VisitStatus = "planned"
    wait_min: float = 0.0
    departure: datetime | None = None
    trip: int = Field(1, description="which of the courier's trips from the depot (1: the first)")


class ReloadOut(BaseModel):
    """A stop at the depot between two trips: unload the pickups, load the next trip."""

    before_stop: str = Field(description="the first stop of the trip it starts")
    arrival: datetime
    departure: datetime


class BreakOut(BaseModel):
    start: datetime
    end: datetime

    @classmethod
    def of(cls, day_start: datetime, start_s: int, end_s: int) -> BreakOut:
        return cls(start=at(day_start, start_s), end=at(day_start, end_s))


class RouteOut(BaseModel):
    courier_id: str
    version: int = 1
    distance_km: float
    start: datetime | None = None
    end: datetime | None = None
    visits: list[VisitOut]
    breaks: list[BreakOut] = Field(default_factory=list)
    reloads: list[ReloadOut] = Field(default_factory=list)

    @classmethod
    def from_domain(cls, day_start: datetime, timed: RouteSchedule, version: int = 1) -> RouteOut:
        trip_of = [1 + sum(1 for r in timed.reloads if r.before <= k) for k in range(len(timed.visits))]
        return cls(
            courier_id=timed.courier_id,
            version=version,
            distance_km=round(timed.distance_m / 1000, 3),
            start=at(day_start, timed.start_s),
            end=at(day_start, timed.end_s),
            visits=[
                VisitOut(
                    stop_id=v.stop_id,
                    eta=at(day_start, v.start_s),
                    window=WindowOut.of(day_start, v.window.start_s, v.window.end_s),
                    late_min=round(v.late_s / 60, 2),
                    wait_min=round(v.wait_s / 60, 2),
                    departure=at(day_start, v.departure_s),
                    trip=trip,
                )
                for v, trip in zip(timed.visits, trip_of)
            ],
            breaks=[BreakOut.of(day_start, b.start_s, b.end_s) for b in timed.breaks],
            reloads=[
                ReloadOut(
                    before_stop=timed.visits[r.before].stop_id,
                    arrival=at(day_start, r.arrival_s),
                    departure=at(day_start, r.departure_s),
                )
                for r in timed.reloads
                if r.before < len(timed.visits)
            ],
        )


class UnassignedOut(BaseModel):
    stop_id: str
    reason: str


class KpisOut(BaseModel):
    stops: int
    late_stops: int
    on_time_rate: float
    distance_km: float
    couriers_used: int
    unassigned: int = 0
    late_minutes: float = 0.0
    working_hours: float = 0.0
    cost: float | None = Field(None, description="km, working hours and couriers used, priced by the cost model")

    @classmethod
    def from_figures(
        cls,
        *,
        stops: int,
        on_time: int,
        late_stops: int,
        late_s: int,
        distance_m: int,
        couriers_used: int,
        unassigned: int,
        working_s: int,
        cost: float | None = None,
    ) -> KpisOut:
        """The wire's KPIS from a day's figures in integer units; the on-time rate is
        `optimizer.kpi.on_time_rate`; `cost` the couriers' at their rates (`ProblemIn.day_cost`),
        else `DEFAULT_COST`'s."""
        if cost is None:
            cost = DEFAULT_COST.cost(distance_m, working_s, couriers_used)
        return cls(
            stops=stops,
            late_stops=late_stops,
            on_time_rate=round(on_time_rate(on_time, stops), 4),
            distance_km=round(distance_m / 1000, 3),
            couriers_used=couriers_used,
            unassigned=unassigned,
            late_minutes=round(late_s / 60, 1),
            working_hours=round(working_s / 3600, 2),
            cost=round(cost, 2),
        )


def at(day_start: datetime, seconds: int) -> datetime:
    return day_start + timedelta(seconds=seconds)


def seconds_since(day_start: datetime, when: datetime) -> int:
    """The inverse of `at`: whole seconds from the plan's day start."""
    return int((when - day_start).total_seconds())


def route_out(day_start: datetime, timed: RouteSchedule, version: int = 1) -> RouteOut:
    return RouteOut.from_domain(day_start, timed, version)


def kpis_out(problem: m.Problem, timed: Schedule, solution: Solution, wire: ProblemIn | None = None) -> KpisOut:
    """A static plan's figures (every routed visit is served, none failed)."""
    used = [r for r in timed.routes if r.visits]
    served = sum(len(r.visits) for r in used)
    return KpisOut.from_figures(
        stops=len(problem.stops),
        on_time=served - timed.late_stops,
        late_stops=timed.late_stops,
        late_s=timed.late_s,
        distance_m=timed.distance_m,
        couriers_used=len(used),
        unassigned=len(solution.unassigned),
        working_s=sum(r.duration_s for r in used),
        cost=None if wire is None else wire.day_cost((r.courier_id, r.distance_m, r.duration_s) for r in used),
    )


# --- the live service ------------------------------------------------------------------


class PlanCreateIn(Wire):
    problem: ProblemIn
    time_limit_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False, strict=True)] = 10.0
    engine: Literal["auto", "ortools", "pyvrp", "regions"] = Field(
        "auto",
        description="auto: PyVRP for what it can model (as the regions engine from 1,000 stops on), else OR-Tools; "
        "regions: PyVRP on sectors of the day side by side on the cores (city-size days)",
    )
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)] = 0
    iterations: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] | None = Field(
        None,
        description="stop the search after this much work instead of on the clock (time_limit_s then only "
        "bounds it): the same plan for the same seed on any machine",
    )


class Accepted(BaseModel):
    id: str
    status: str


EventType = Literal["delay", "stop_completed", "stop_failed", "position"]


class EventIn(Wire):
    event_id: Id
    courier_id: Id
    type: EventType
    at: AwareDatetime
    delay_min: Annotated[float, Field(ge=0, le=24 * 60, allow_inf_nan=False, strict=True)] = 0.0
    stop_id: Id | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    reason: Annotated[str, Field(max_length=300)] = ""


class CustomerOut(BaseModel):
    name: str
    phone: str

    @classmethod
    def of(cls, customer: CustomerIn, *, mask: bool) -> CustomerOut:
        """The customer as a role may see them: phones masked for couriers."""
        return cls(name=customer.name, phone=mask_phone(customer.phone) if mask else customer.phone)


class CallOut(BaseModel):
    id: str
    stop_id: str
    courier_id: str | None
    kind: str
    window: WindowOut
    eta: datetime | None
    late_min: float
    reason: str
    urgent: bool
    status: Literal["open", "done"]
    p_late: float = Field(0.0, description="the chance (0-1) that service starts after the window ends")
    eta_p90: datetime | None = Field(None, description="90th percentile of the expected start")
    call_by: datetime | None = Field(None, description="the latest time the call is still useful")
    outcome: str | None = None
    created_at: datetime
    customer: CustomerOut | None = None

    @classmethod
    def from_record(cls, call: CallRecord, customer: CustomerOut | None) -> CallOut:
        return cls(
            id=call.id,
            stop_id=call.stop_id,
            courier_id=call.courier_id,
            kind=call.kind,
            window=WindowOut(start=call.window_start, end=call.window_end),
            eta=call.eta,
            late_min=call.late_min,
            reason=call.reason,
            urgent=call.urgent,
            status="open" if call.status == "open" else "done",
            p_late=call.p_late,
            eta_p90=call.eta_p90,
            call_by=call.call_by or call.window_end,
            outcome=call.outcome,
            created_at=call.created_at,
            customer=customer,
        )


class EventOut(BaseModel):
    plan_version: int
    changed_routes: list[str]
    calls: list[CallOut]


class OutcomeIn(Wire):
    outcome: Literal["accepted_late", "rebooked", "unreachable", "cancelled"]
    new_window: WindowIn | None = None
    note: Annotated[str, Field(max_length=500)] = ""


class PlaceOut(BaseModel):
    lat: float
    lon: float


class HandoverOut(BaseModel):
    """A meeting to hand parcels over: with whom, where, and which parcels."""

    with_: str = Field(alias="with", serialization_alias="with")
    at: PlaceOut
    gives: list[str] = Field(default_factory=list)
    """Stops whose parcels this courier hands over."""
    takes: list[str] = Field(default_factory=list)
    """Stops whose parcels this courier takes over."""

    model_config = ConfigDict(populate_by_name=True)


class LiveVisitOut(VisitOut):
    eta_p90: datetime | None = Field(None, description="90th percentile of the expected start")
    p_late: float = Field(0.0, description="the chance (0-1) that service starts after the window ends")
    address: str = ""
    customer: CustomerOut | None = None
    handover: HandoverOut | None = None
    """Set on a hand-over meeting (its stop_id starts with "handover:"), not a customer's stop."""
    kind: Literal["delivery", "pickup", "reload", "handover"] = Field(
        "delivery",
        description="a customer's delivery or pickup; a reload at the depot between trips (stop_id "
        '"reload:COURIER:N"); a hand-over meeting',
    )


class LiveRouteOut(BaseModel):
    courier_id: str
    version: int
    distance_km: float
    start: datetime | None = None
    end: datetime | None = None
    visits: list[LiveVisitOut]
    breaks: list[BreakOut] = Field(default_factory=list)
    pace: float = Field(1.0, description="the courier's pace learned from their reports (1.2: 20% slower than planned)")
    next_leg: list[tuple[float, float]] | None = Field(
        None,
        description="points [lat, lon] from where the courier is to their next stop, along the streets on a "
        "road map (only in a single courier's route)",
    )


class LegOut(BaseModel):
    """One leg of a route: the points driven from one place to the next, [lat, lon] each."""

    from_id: str = Field(description='a depot id, a stop id, or "position" (where the courier last reported)')
    to_id: str
    done: bool = Field(description="the leg is behind the courier")
    points: list[tuple[float, float]] = Field(
        description="along the streets on a road map, the straight line otherwise; empty if no road joins them"
    )


class CourierPathOut(BaseModel):
    courier_id: str
    legs: list[LegOut]
    next_leg: LegOut | None = Field(None, description="from where the courier is to their next place")


class PathsOut(BaseModel):
    plan_id: str
    road_map: str | None = Field(description="the road map the legs follow; null: straight lines")
    attribution: str | None = Field(description="credit owed to the map's authors, to show with it")
    couriers: list[CourierPathOut]


class PlanOut(BaseModel):
    id: str
    name: str
    status: Literal["queued", "solving", "solved", "failed"]
    version: int
    error: str | None = None
    engine: str | None = None
    now: datetime | None = None
    routes: list[LiveRouteOut] = Field(default_factory=list)
    unassigned: list[UnassignedOut] = Field(default_factory=list)
    kpis: KpisOut | None = None


class PlanSummaryOut(BaseModel):
    id: str
    name: str
    status: str
    version: int
    created_at: datetime


def mask_phone(phone: str) -> str:
    """Keep the country/mobile prefix and the last four digits: +86138****1234."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:6] + "*" * max(len(phone) - 10, 2) + phone[-4:]
