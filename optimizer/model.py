"""The domain model: immutable, self-validating values in integer seconds and metres.

Every value checks its own invariants when built and raises `InvalidProblem` naming the
field and the id; `Problem` then checks the cross-references once (unknown depots,
duplicate ids, demand no courier can carry). Variants are made with `dataclasses.replace`.

Times are integer seconds from the plan's day start (`Problem.day_start`, an aware datetime
used only at the edges), distances integer metres, demand integer units per dimension.
Costs are integer objective units: `Problem.metre_cost` units buy one metre of driving at the
plan's reference rate, and costs stated in metres (stop penalties, lateness) scale by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from optimizer.errors import InvalidProblem, ProblemIssue

HORIZON_S = 1_000_000_000
"""Latest time anything may happen, in the problem's integer time units from day start."""


def _fail(field_name: str, obj_id: str, message: str) -> InvalidProblem:
    return InvalidProblem([ProblemIssue(field_name, obj_id, message)])


@dataclass(frozen=True, slots=True)
class Location:
    """A point. Real days use WGS84 `lat`/`lon`; planar instances put x in `lon`, y in `lat`."""

    lat: float
    lon: float
    planar: bool = False

    def __post_init__(self) -> None:
        if not (self.lat == self.lat and self.lon == self.lon):  # NaN
            raise _fail("location", "", "coordinates must be numbers, not NaN")
        if not self.planar and not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise _fail("location", "", f"({self.lat}, {self.lon}) is not a valid lat/lon")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """An interval in which service must *start*, in seconds from day start."""

    start_s: int
    end_s: int

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise _fail("window", "", f"window ends ({self.end_s}s) before it starts ({self.start_s}s)")
        if self.start_s < 0 or self.end_s > HORIZON_S:
            raise _fail("window", "", "window lies outside the planning horizon")

    def contains(self, t_s: int) -> bool:
        return self.start_s <= t_s <= self.end_s


@dataclass(frozen=True, slots=True)
class Break:
    """A courier break: starts within [earliest_start_s, latest_start_s], lasts duration_s."""

    id: str
    earliest_start_s: int
    latest_start_s: int
    duration_s: int

    def __post_init__(self) -> None:
        if self.latest_start_s < self.earliest_start_s:
            raise _fail("breaks.latest_start", self.id, "latest start is before earliest start")
        if self.duration_s < 0:
            raise _fail("breaks.duration", self.id, "duration must not be negative")


@dataclass(frozen=True, slots=True)
class Depot:
    id: str
    location: Location


StopKind = Literal["delivery", "pickup", "reload"]
"""A reload is a courier's stop at their depot between trips in the live day (`optimizer.trips`)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """One delivery or pickup: booked windows (service starts inside one), service time, amounts.

    A delivery's `demand` is on the van from the hub until the stop; a pickup's is on the van
    from the stop back to the hub. Capacity holds at every point of the route.

    `penalty` None means the stop is required; an integer makes it droppable at that cost
    (in the objective's units) when the day cannot be met otherwise. `priority` (1 and up)
    weighs what losing the stop costs: its lateness cost in a disrupted day is multiplied by
    it (the penalty is given already weighed). `skills` must all be among the serving
    courier's.

    Where the parcel is: `parcel_on` names the courier whose van it is on (only they can
    serve it); `at_hub` keeps it at the hub all day (it is never loaded by a courier leaving,
    so it may go to anyone). Neither: it is loaded on the courier planned for it when they
    leave the hub.
    """

    id: str
    location: Location
    windows: tuple[TimeWindow, ...]
    service_s: int = 0
    demand: tuple[int, ...] = ()
    penalty: int | None = None
    parcel_on: str | None = None
    at_hub: bool = False
    kind: StopKind = "delivery"
    skills: frozenset[str] = frozenset()
    priority: int = 1

    def __post_init__(self) -> None:
        if not self.id:
            raise _fail("stops.id", self.id, "stop id must not be empty")
        if self.kind not in ("delivery", "pickup", "reload"):
            raise _fail("stops.kind", self.id, f"kind must be delivery or pickup, not {self.kind!r}")
        if self.kind == "reload" and any(self.demand):
            raise _fail("stops.kind", self.id, "a reload carries nothing")
        if self.kind == "pickup" and (self.parcel_on is not None or self.at_hub):
            raise _fail("stops.parcel", self.id, "a pickup's parcel is at the customer until it is picked up")
        if not 1 <= self.priority <= 1000:
            raise _fail("stops.priority", self.id, "priority must be between 1 and 1000")
        if not self.windows:
            raise _fail("stops.windows", self.id, "a stop needs at least one booked window")
        for before, after in zip(self.windows, self.windows[1:]):
            if after.start_s <= before.end_s:
                raise _fail("stops.windows", self.id, "windows must be sorted and not overlap")
        if self.service_s < 0:
            raise _fail("stops.service", self.id, "service time must not be negative")
        if any(amount < 0 for amount in self.demand):
            raise _fail("stops.demand", self.id, "demand must not be negative")
        if self.penalty is not None and self.penalty < 0:
            raise _fail("stops.penalty", self.id, "penalty must not be negative")
        if self.parcel_on is not None and self.at_hub:
            raise _fail("stops.parcel", self.id, "a parcel is at the hub or on a van, not both")

    @property
    def required(self) -> bool:
        return self.penalty is None

    @property
    def is_pickup(self) -> bool:
        return self.kind == "pickup"

    @property
    def is_reload(self) -> bool:
        return self.kind == "reload"

    @property
    def delivery(self) -> tuple[int, ...]:
        """What it takes off the van (a delivery's demand; nothing for a pickup)."""
        return (0,) * len(self.demand) if self.is_pickup else self.demand

    @property
    def pickup(self) -> tuple[int, ...]:
        """What it puts on the van (a pickup's demand; nothing for a delivery)."""
        return self.demand if self.is_pickup else (0,) * len(self.demand)

    @property
    def earliest_s(self) -> int:
        return self.windows[0].start_s

    @property
    def latest_s(self) -> int:
        return self.windows[-1].end_s

    def window_for(self, arrival_s: int) -> TimeWindow:
        """The window service should use when arriving at `arrival_s`: the first one not
        yet closed, else the last one (then the visit is late)."""
        for window in self.windows:
            if arrival_s <= window.end_s:
                return window
        return self.windows[-1]


@dataclass(frozen=True, slots=True)
class Courier:
    """A courier with their vehicle.

    The courier leaves `start_depot` (or `start_at`, a position, when replanning) no earlier
    than `available_s` (default: shift start) and must be back at `end_depot` by `shift_end_s`.
    `fixed_prefix` lists stops that must be this courier's first visits, in order (the stop
    they are already driving to). `speed_factor` scales travel times of the profile.

    What the courier costs, in objective units: `fixed_cost` if used at all, `cost_per_m` per
    metre driven, `cost_per_s` per second of their route (leaving to coming back). `skills`:
    what stops needing skills they can serve.

    Trips: a courier may go back to their `start_depot` up to `max_trips - 1` times in the day
    to unload pickups and load the deliveries of the next trip, each stop there taking
    `reload_s`. A later trip's parcels stay at the hub until then. `loaded_only`: the courier
    is out on a trip (a live re-plan), so the deliveries of this trip are the parcels aboard
    (given zero demand, their room taken off the capacity): one from the hub needs a reload.
    """

    id: str
    start_depot: str
    shift_start_s: int
    shift_end_s: int
    capacity: tuple[int, ...] = ()
    end_depot: str | None = None
    profile: str = "default"
    speed_mps: float = 5.0
    breaks: tuple[Break, ...] = ()
    start_at: Location | None = None
    available_s: int | None = None
    fixed_prefix: tuple[str, ...] = ()
    fixed_cost: int = 0
    cost_per_m: int = 1
    cost_per_s: int = 0
    skills: frozenset[str] = frozenset()
    max_trips: int = 1
    reload_s: int = 0
    loaded_only: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise _fail("couriers.id", self.id, "courier id must not be empty")
        if not 1 <= self.max_trips <= 10:
            raise _fail("couriers.max_trips", self.id, "a courier makes 1 to 10 trips")
        if not 0 <= self.reload_s <= 7200:
            raise _fail("couriers.reload", self.id, "a reload takes 0 to 120 minutes")
        if self.shift_end_s < self.shift_start_s:
            raise _fail("couriers.shift_end", self.id, "shift ends before it starts")
        if any(amount < 0 for amount in self.capacity):
            raise _fail("couriers.capacity", self.id, "capacity must not be negative")
        if self.available_s is not None and self.available_s < 0:
            raise _fail("couriers.available", self.id, "availability must not be negative")
        if not (0.1 <= self.speed_mps <= 100.0):
            raise _fail("couriers.speed", self.id, "speed must be between 0.1 and 100 m/s")
        if self.fixed_cost < 0:
            raise _fail("couriers.fixed_cost", self.id, "fixed cost must not be negative")
        if self.cost_per_m < 0 or self.cost_per_s < 0:
            raise _fail("couriers.costs", self.id, "costs must not be negative")
        if len(set(self.fixed_prefix)) != len(self.fixed_prefix):
            raise _fail("couriers.fixed_prefix", self.id, "a stop appears twice in the prefix")
        for brk in self.breaks:
            if brk.earliest_start_s > self.shift_end_s:
                raise _fail("couriers.breaks", self.id, f"break {brk.id} starts after the shift")

    @property
    def ready_s(self) -> int:
        """When the courier can leave their start: not before the shift starts."""
        return self.shift_start_s if self.available_s is None else max(self.available_s, self.shift_start_s)

    @property
    def home_depot(self) -> str:
        return self.end_depot if self.end_depot is not None else self.start_depot


@dataclass(frozen=True, slots=True)
class Problem:
    """One planning problem. Node order of every travel matrix is `locations`:
    depots, then stops, then the start positions of couriers that have one."""

    name: str
    depots: tuple[Depot, ...]
    couriers: tuple[Courier, ...]
    stops: tuple[Stop, ...]
    dimensions: tuple[str, ...] = ()
    day_start: datetime | None = None
    handover_s: int | None = None
    """Couriers may hand loaded parcels over, meeting for this long (None: they may not)."""
    metre_cost: int = 1
    """Objective units one metre of driving costs at the plan's reference rate."""
    road_map: str | None = None
    """The road network travel is timed on, by name (`travel.maps.MapSource`); None: the
    source's default."""
    _depot_index: Mapping[str, int] = field(init=False, repr=False, compare=False)
    _stop_index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        issues = list(self._issues())
        if issues:
            raise InvalidProblem(issues)
        offset = len(self.depots)
        depots = {d.id: i for i, d in enumerate(self.depots)}
        stops = {s.id: offset + i for i, s in enumerate(self.stops)}
        object.__setattr__(self, "_depot_index", depots)
        object.__setattr__(self, "_stop_index", stops)

    def _issues(self) -> list[ProblemIssue]:
        issues: list[ProblemIssue] = []
        if self.day_start is not None and self.day_start.tzinfo is None:
            issues.append(ProblemIssue("day_start", self.name, "day start needs a time zone"))
        if not self.depots:
            issues.append(ProblemIssue("depots", self.name, "at least one depot is needed"))
        if not self.couriers:
            issues.append(ProblemIssue("couriers", self.name, "at least one courier is needed"))
        if self.metre_cost < 1:
            issues.append(ProblemIssue("costs.per_km", self.name, "a metre must cost at least one unit"))
        if self.handover_s is not None and not 0 <= self.handover_s <= 7200:
            issues.append(ProblemIssue("handover.minutes", self.name, "a hand-over takes 0 to 120 minutes"))
        for kind, ids in (
            ("depots", [d.id for d in self.depots]),
            ("couriers", [c.id for c in self.couriers]),
            ("stops", [s.id for s in self.stops]),
        ):
            seen: set[str] = set()
            for obj_id in ids:
                if obj_id in seen:
                    issues.append(ProblemIssue(f"{kind}.id", obj_id, "duplicate id"))
                seen.add(obj_id)
        depot_ids = {d.id for d in self.depots}
        stop_ids = {s.id for s in self.stops}
        dims = len(self.dimensions)
        for courier in self.couriers:
            for name, depot in (("start_depot", courier.start_depot), ("end_depot", courier.end_depot)):
                if depot is not None and depot not in depot_ids:
                    issues.append(ProblemIssue(f"couriers.{name}", courier.id, f"unknown depot {depot!r}"))
            if len(courier.capacity) != dims:
                issues.append(ProblemIssue("couriers.capacity", courier.id, f"expected {dims} capacity values"))
            for stop_id in courier.fixed_prefix:
                if stop_id not in stop_ids:
                    issues.append(ProblemIssue("couriers.fixed_prefix", courier.id, f"unknown stop {stop_id!r}"))
        speeds: dict[str, float] = {}
        for courier in self.couriers:
            if speeds.setdefault(courier.profile, courier.speed_mps) != courier.speed_mps:
                issues.append(ProblemIssue("couriers.speed", courier.id, "couriers of one profile need one speed"))
        prefixed = [s for c in self.couriers for s in c.fixed_prefix]
        if len(prefixed) != len(set(prefixed)):
            issues.append(ProblemIssue("couriers.fixed_prefix", self.name, "a stop is fixed to two couriers"))
        courier_ids = {c.id for c in self.couriers}
        for stop in self.stops:
            if stop.parcel_on is not None and stop.parcel_on not in courier_ids:
                issues.append(ProblemIssue("stops.parcel", stop.id, f"unknown courier {stop.parcel_on!r}"))
            if len(stop.demand) != dims:
                issues.append(ProblemIssue("stops.demand", stop.id, f"expected {dims} demand values"))
            elif all(len(c.capacity) == dims for c in self.couriers) and not any(
                all(d <= c for d, c in zip(stop.demand, cour.capacity)) for cour in self.couriers
            ):
                issues.append(ProblemIssue("stops.demand", stop.id, "no courier can carry this demand"))
            if stop.skills and not any(stop.skills <= c.skills for c in self.couriers):
                missing = ", ".join(sorted(stop.skills))
                issues.append(ProblemIssue("stops.skills", stop.id, f"no courier has every skill it needs ({missing})"))
        return issues

    # -- node layout -------------------------------------------------------------------

    @property
    def locations(self) -> tuple[Location, ...]:
        starts = tuple(c.start_at for c in self.couriers if c.start_at is not None)
        return tuple(d.location for d in self.depots) + tuple(s.location for s in self.stops) + starts

    def depot_node(self, depot_id: str) -> int:
        return self._depot_index[depot_id]

    def stop_node(self, stop_id: str) -> int:
        return self._stop_index[stop_id]

    def has_stop(self, stop_id: str) -> bool:
        return stop_id in self._stop_index

    def stop_by_id(self, stop_id: str) -> Stop:
        return self.stops[self.stop_node(stop_id) - len(self.depots)]

    def courier_by_id(self, courier_id: str) -> Courier:
        for courier in self.couriers:
            if courier.id == courier_id:
                return courier
        raise KeyError(courier_id)

    def start_node(self, courier_index: int) -> int:
        courier = self.couriers[courier_index]
        if courier.start_at is None:
            return self.depot_node(courier.start_depot)
        offset = len(self.depots) + len(self.stops)
        return offset + sum(1 for c in self.couriers[:courier_index] if c.start_at is not None)

    def end_node(self, courier_index: int) -> int:
        return self.depot_node(self.couriers[courier_index].home_depot)

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.profile for c in self.couriers))

    @property
    def profile_speeds(self) -> dict[str, float]:
        """Metres per second of each vehicle profile."""
        return {c.profile: c.speed_mps for c in self.couriers}

    @property
    def features(self) -> frozenset[str]:
        """What this problem needs from an engine (see `engines.base.Feature`)."""
        found: set[str] = set()
        if any(len(s.windows) > 1 for s in self.stops):
            found.add("multiple_windows")
        if any(c.breaks for c in self.couriers):
            found.add("breaks")
        if any(not s.required for s in self.stops):
            found.add("optional_stops")
        if any(c.start_at is not None or c.available_s is not None for c in self.couriers):
            found.add("start_positions")
        if any(c.fixed_prefix for c in self.couriers):
            found.add("fixed_prefix")
        if any(s.parcel_on is not None for s in self.stops):
            found.add("loaded_parcels")
        if any(s.is_pickup for s in self.stops):
            found.add("pickups")
        if any(s.skills for s in self.stops):
            found.add("skills")
        if any(c.max_trips > 1 for c in self.couriers):
            found.add("trips")
        if any(s.is_reload for s in self.stops):
            found.add("reload_stops")
        if any(c.loaded_only for c in self.couriers):
            found.add("loaded_only")
        return frozenset(found)

    def can_serve(self, courier: Courier, stop: Stop) -> bool:
        """Whether `courier` may serve `stop` at all: skills, and who holds its parcel."""
        return stop.skills <= courier.skills and stop.parcel_on in (None, courier.id)


def peak_load(stops: Sequence[Stop], dimensions: int, aboard: Sequence[int] = ()) -> tuple[int, ...]:
    """The most a van carries, per dimension, driving `stops` in order from the depot (or from
    where it is, with `aboard` more on it until the next reload): every delivery of a trip
    aboard at its start, each pickup from its stop on, emptied at a reload."""
    load = [a + b for a, b in zip(trip_deliveries(stops, 0, dimensions), aboard or (0,) * dimensions)]
    peak = list(load)
    for k, stop in enumerate(stops):
        for d in range(dimensions):
            load[d] += stop.pickup[d] - stop.delivery[d]
        if stop.is_reload:
            load = list(trip_deliveries(stops, k + 1, dimensions))
        peak = [max(p, amount) for p, amount in zip(peak, load)]
    return tuple(peak)


def trip_deliveries(stops: Sequence[Stop | None], begin: int, dimensions: int) -> tuple[int, ...]:
    """What the van loads for the trip starting at `stops[begin]`: its deliveries, up to the
    next reload (a reload stop, or None)."""
    total = [0] * dimensions
    for stop in stops[begin:]:
        if stop is None or stop.is_reload:
            break
        for d in range(dimensions):
            total[d] += stop.delivery[d]
    return tuple(total)
