"""Wire models (CONTRACTS.md 3) and the one place they convert to and from the domain.

Shapes are checked here by pydantic; meaning (windows in order, known depots, demand a
courier can carry...) is checked by the domain model, whose errors name field and id.
Units exist only here: datetimes with offsets become seconds from the plan's day start,
kilograms become grams, km/h become m/s, minutes become seconds.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from optimizer import model as m
from optimizer.errors import InvalidProblem, ProblemIssue
from optimizer.kpi import DEFAULT_COST, on_time_rate
from optimizer.schedule import RouteSchedule, Schedule
from optimizer.solution import Solution

if TYPE_CHECKING:
    from api.store.records import CallRecord

WEEK_S = 7 * 24 * 3600
"""Times on the wire must fall within a week of the plan's day start."""

DEFAULT_STOP_PENALTY = 10_000_000
"""Objective cost of leaving a stop out (about 10,000 km of driving): a last resort."""

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
    penalty: Annotated[int, Field(ge=0, le=10**12, strict=True)] | None = None
    required: Annotated[bool, Field(strict=True)] = False
    parcel: ParcelIn | None = None


class HandoverIn(Wire):
    """Whether couriers may hand loaded parcels to each other, and how long a meeting takes."""

    allowed: Annotated[bool, Field(strict=True)] = False
    minutes: Annotated[float, Field(ge=0, le=120, allow_inf_nan=False, strict=True)] = 5.0


class ProblemIn(Wire):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    depots: list[DepotIn] = Field(min_length=1, max_length=50)
    couriers: list[CourierIn] = Field(min_length=1, max_length=500)
    stops: list[StopIn] = Field(max_length=5000)
    handover: HandoverIn | None = None

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
            couriers.append(
                build(
                    m.Courier,
                    c.id,
                    c.depot,
                    seconds(c.shift_start, "couriers.shift_start", c.id),
                    seconds(c.shift_end, "couriers.shift_end", c.id),
                    tuple(_capacity(dim, c.capacity.get(dim, 0.0)) for dim in dims),
                    end_depot=c.end_depot,
                    profile=c.profile or f"{c.speed_kmh:g}kmh",
                    speed_mps=speed,
                    breaks=tuple(b for b in breaks if b is not None),
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
                    tuple(_demand(dim, s.demand.get(dim, 0.0)) for dim in dims),
                    None if s.required else (s.penalty if s.penalty is not None else DEFAULT_STOP_PENALTY),
                    parcel_on=s.parcel.on if s.parcel else None,
                    at_hub=bool(s.parcel and s.parcel.at == "hub"),
                )
            )
        try:
            if issues:
                raise InvalidProblem(issues)
            handover_s = round(self.handover.minutes * 60) if self.handover and self.handover.allowed else None
            return m.Problem(self.name, depots, tuple(couriers), tuple(stops), tuple(dims), day, handover_s)
        except InvalidProblem as exc:  # name the wire's fields, not the domain's
            raise InvalidProblem([replace(i, field=WIRE_FIELDS.get(i.field, i.field)) for i in exc.issues]) from None


WIRE_FIELDS = {
    "couriers.start_depot": "couriers.depot",
    "couriers.speed": "couriers.speed_kmh",
    "stops.service": "stops.service_min",
    "breaks.duration": "couriers.breaks.duration_min",
    "breaks.latest_start": "couriers.breaks.latest_start",
}
"""Domain issue fields whose wire field has another name."""


def _demand(dimension: str, amount: float) -> int:
    """Integer units inside: grams for `*_kg`, else the amount rounded up."""
    return math.ceil(amount * 1000 - 1e-9) if dimension.endswith("_kg") else math.ceil(amount - 1e-9)


def _capacity(dimension: str, amount: float) -> int:
    return math.floor(amount * 1000 + 1e-9) if dimension.endswith("_kg") else math.floor(amount + 1e-9)


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

    @classmethod
    def from_domain(cls, day_start: datetime, timed: RouteSchedule, version: int = 1) -> RouteOut:
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
                )
                for v in timed.visits
            ],
            breaks=[BreakOut.of(day_start, b.start_s, b.end_s) for b in timed.breaks],
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
    ) -> KpisOut:
        """The wire's KPIS from a day's figures in integer units; the on-time rate is
        `optimizer.kpi.on_time_rate`, the cost `DEFAULT_COST`'s."""
        return cls(
            stops=stops,
            late_stops=late_stops,
            on_time_rate=round(on_time_rate(on_time, stops), 4),
            distance_km=round(distance_m / 1000, 3),
            couriers_used=couriers_used,
            unassigned=unassigned,
            late_minutes=round(late_s / 60, 1),
            working_hours=round(working_s / 3600, 2),
            cost=round(DEFAULT_COST.cost(distance_m, working_s, couriers_used), 2),
        )


def at(day_start: datetime, seconds: int) -> datetime:
    return day_start + timedelta(seconds=seconds)


def seconds_since(day_start: datetime, when: datetime) -> int:
    """The inverse of `at`: whole seconds from the plan's day start."""
    return int((when - day_start).total_seconds())


def route_out(day_start: datetime, timed: RouteSchedule, version: int = 1) -> RouteOut:
    return RouteOut.from_domain(day_start, timed, version)


def kpis_out(problem: m.Problem, timed: Schedule, solution: Solution) -> KpisOut:
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
    )


# --- the live service ------------------------------------------------------------------


class PlanCreateIn(Wire):
    problem: ProblemIn
    time_limit_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False, strict=True)] = 10.0
    engine: Literal["auto", "ortools", "pyvrp"] = "auto"
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


class LiveRouteOut(BaseModel):
    courier_id: str
    version: int
    distance_km: float
    start: datetime | None = None
    end: datetime | None = None
    visits: list[LiveVisitOut]
    breaks: list[BreakOut] = Field(default_factory=list)
    pace: float = Field(1.0, description="the courier's pace learned from their reports (1.2: 20% slower than planned)")


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
