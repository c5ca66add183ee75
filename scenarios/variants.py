"""What-if variants: small, pure, composable changes to a base day (CONTRACTS.md 3).

Each variant is a frozen dataclass that checks its own parameters when built and has
`apply(problem) -> Problem`, made with `dataclasses.replace` (the input is never changed).
Variants compose left to right: `apply_changes(problem, variants)`.

**Traffic** cannot be written into a `Problem`: travel times live in the matrix, which a
source builds after the variants are applied. So every variant also answers
`travel_factor(problem)`, 1.0 for all but `Traffic`, and `apply_changes` returns a `Scenario`:
the changed problem plus the product of those factors. The caller plans with
`scenario.source(base_source)`, a travel source whose durations are the base source's times
the factor (`TravelMatrix.scaled`); distances stay as they are. A time-of-day traffic profile
is planned with as it is: the scenario then carries the composed `SpeedProfile` (every
traffic change multiplied together) and `source()` is a `TimeOfDaySource`, with which
`schedule()` times every leg from its departure time and the engines plan with per-leg
stand-ins (`optimizer.travel.speed`). `travel_factor` still gives the one-number summary:
the profile's mean over the fleet's shift hours (hours outside every period count 1.0).

`parse_changes(changes)` reads the wire form, e.g. `[{"kind": "remove_couriers", "count": 2}]`.
Every mistake is reported at once as an `InvalidChange` (an `InvalidProblem`, so the API answers
422) whose issues name the position and key, e.g. `changes[1].factor`, with the kind as id.
`variant.to_wire()` gives the wire form back.

| kind | keys | effect |
| --- | --- | --- |
| `remove_couriers` | `count` or `ids` | drops the last `count` couriers, or those named |
| `add_couriers` | `count` | adds copies of the first courier, ids `<first id>.add<k>` |
| `demand_scale` | `factor`, `seed` (0), `jitter_m` (150) | clones stops near themselves, or drops a sample |
| `traffic` | `factor` or `profile` | travel durations x factor, or by time of day (see above) |
| `slot_width` | `minutes` | each window re-centred to that width; windows that then meet merge |
| `shift_offset` | `minutes`, `move_breaks` (true) | every shift (and its breaks) moves by that much |
| `service_scale` | `factor` | every service time x factor |
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

import numpy as np

from optimizer.errors import InvalidProblem, ProblemIssue
from optimizer.model import Courier, Location, Problem, Stop, TimeWindow
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.matrix import TimeOfDaySource, TravelMatrix, TravelSource
from optimizer.travel.speed import SpeedProfile

MAX_FACTOR = 10.0
MAX_COURIERS_ADDED = 500
METRES_PER_DEG_LAT = 111_320.0


class InvalidChange(InvalidProblem):
    """A what-if change is malformed or does not fit the problem; issues name the key."""


def _bad(key: str, kind: str, message: str) -> InvalidChange:
    return InvalidChange([ProblemIssue(key, kind, message)])


class Variant(Protocol):
    """A what-if change: a pure Problem -> Problem, plus its effect on travel times."""

    kind: ClassVar[str]

    def apply(self, problem: Problem) -> Problem: ...

    def travel_factor(self, problem: Problem) -> float: ...

    def to_wire(self) -> dict[str, Any]: ...


class _OnProblemOnly:
    """Mixin of the variants that leave travel times alone."""

    __slots__ = ()

    def travel_factor(self, problem: Problem) -> float:
        return 1.0


# --- couriers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoveCouriers(_OnProblemOnly):
    """Takes couriers off the day: the last `count` in the list, or exactly those in `ids`."""

    kind: ClassVar[str] = "remove_couriers"
    count: int | None = None
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.count is None) == (not self.ids):
            raise _bad("count", self.kind, "give either count or ids")
        if self.count is not None and self.count < 1:
            raise _bad("count", self.kind, f"count must be at least 1, got {self.count}")
        if len(set(self.ids)) != len(self.ids):
            raise _bad("ids", self.kind, "a courier id is listed twice")

    def apply(self, problem: Problem) -> Problem:
        known = {c.id for c in problem.couriers}
        if self.count is not None:
            if self.count >= len(problem.couriers):
                raise _bad(
                    "count", self.kind, f"cannot remove {self.count} of {len(problem.couriers)} couriers: one must stay"
                )
            kept = problem.couriers[: len(problem.couriers) - self.count]
        else:
            unknown = [i for i in self.ids if i not in known]
            if unknown:
                raise _bad("ids", self.kind, f"unknown courier {unknown[0]!r}")
            kept = tuple(c for c in problem.couriers if c.id not in self.ids)
            if not kept:
                raise _bad("ids", self.kind, "cannot remove every courier: one must stay")
        return replace(problem, couriers=kept)

    def to_wire(self) -> dict[str, Any]:
        return (
            {"kind": self.kind, "count": self.count}
            if self.count is not None
            else {"kind": self.kind, "ids": list(self.ids)}
        )


@dataclass(frozen=True, slots=True)
class AddCouriers(_OnProblemOnly):
    """Adds `count` couriers like the first one (same vehicle, shift and breaks), starting
    fresh at its depot, with ids `<first id>.add1`, `.add2`, ... (skipping ids in use)."""

    kind: ClassVar[str] = "add_couriers"
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_COURIERS_ADDED:
            raise _bad("count", self.kind, f"count must be between 1 and {MAX_COURIERS_ADDED}, got {self.count}")

    def apply(self, problem: Problem) -> Problem:
        model = problem.couriers[0]
        taken = {c.id for c in problem.couriers}
        added: list[Courier] = []
        k = 0
        while len(added) < self.count:
            k += 1
            new_id = f"{model.id}.add{k}"
            if new_id in taken:
                continue
            taken.add(new_id)
            added.append(replace(model, id=new_id, start_at=None, available_s=None, fixed_prefix=()))
        return replace(problem, couriers=problem.couriers + tuple(added))

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "count": self.count}


@dataclass(frozen=True, slots=True)
class ShiftOffset(_OnProblemOnly):
    """Moves every courier's shift by `minutes` (later when positive), and their breaks too
    unless `move_breaks` is false. A courier's availability (when replanning) moves along."""

    kind: ClassVar[str] = "shift_offset"
    minutes: float
    move_breaks: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.minutes) and abs(self.minutes) <= 24 * 60):
            raise _bad("minutes", self.kind, f"minutes must be within a day either way, got {self.minutes}")

    @property
    def offset_s(self) -> int:
        return round(self.minutes * 60)

    def apply(self, problem: Problem) -> Problem:
        off = self.offset_s
        couriers = []
        for courier in problem.couriers:
            breaks = courier.breaks
            if self.move_breaks:
                breaks = tuple(
                    replace(b, earliest_start_s=b.earliest_start_s + off, latest_start_s=b.latest_start_s + off)
                    for b in breaks
                )
            available = None if courier.available_s is None else courier.available_s + off
            earliest = min([courier.shift_start_s + off, *(b.earliest_start_s for b in breaks)])
            if earliest < 0 or (available is not None and available < 0):
                raise _bad("minutes", self.kind, f"courier {courier.id}'s shift would start before the day starts")
            couriers.append(
                replace(
                    courier,
                    shift_start_s=courier.shift_start_s + off,
                    shift_end_s=courier.shift_end_s + off,
                    breaks=breaks,
                    available_s=available,
                )
            )
        return replace(problem, couriers=tuple(couriers))

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "minutes": self.minutes, "move_breaks": self.move_breaks}


# --- stops -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandScale(_OnProblemOnly):
    """Scales the number of stops to round(n x `factor`), seeded.

    More stops: clones of stops drawn at random (so from the day's own distribution of
    places, windows, service and demand), each moved by a normal jitter of `jitter_m` metres
    in each direction (for planar instances 1% of the area's span), with ids `<id>.<k>`.
    Fewer stops: a random sample is dropped, never a stop fixed to a courier's route; the
    rest keep their order.
    """

    kind: ClassVar[str] = "demand_scale"
    factor: float
    seed: int = 0
    jitter_m: float = 150.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and 0 < self.factor <= MAX_FACTOR):
            raise _bad("factor", self.kind, f"factor must be above 0 and at most {MAX_FACTOR:g}, got {self.factor}")
        if self.seed < 0:
            raise _bad("seed", self.kind, f"seed must not be negative, got {self.seed}")
        if not (math.isfinite(self.jitter_m) and 0 <= self.jitter_m <= 5000):
            raise _bad("jitter_m", self.kind, f"jitter_m must be between 0 and 5000, got {self.jitter_m}")

    def apply(self, problem: Problem) -> Problem:
        n = len(problem.stops)
        target = round(n * self.factor)
        rng = np.random.default_rng(self.seed)
        if target < n:
            fixed = {s for c in problem.couriers for s in c.fixed_prefix}
            droppable = [i for i, s in enumerate(problem.stops) if s.id not in fixed]
            count = min(n - target, len(droppable))
            dropped = {droppable[int(i)] for i in rng.choice(len(droppable), size=count, replace=False)}
            return replace(problem, stops=tuple(s for i, s in enumerate(problem.stops) if i not in dropped))
        if target == n or n == 0:
            return problem
        taken = {s.id for s in problem.stops}
        sources = rng.integers(0, n, size=target - n)
        noise = rng.normal(0.0, 1.0, size=(target - n, 2))
        planar_step = self._planar_step(problem.stops)
        clones = []
        for source_index, (north, east) in zip(sources, noise):
            source = problem.stops[int(source_index)]
            k = 1
            while f"{source.id}.{k}" in taken:
                k += 1
            new_id = f"{source.id}.{k}"
            taken.add(new_id)
            clones.append(
                replace(
                    source,
                    id=new_id,
                    location=self._jitter(source.location, float(north), float(east), planar_step),
                )
            )
        return replace(problem, stops=problem.stops + tuple(clones))

    def _planar_step(self, stops: Sequence[Stop]) -> float:
        xs = [s.location.lon for s in stops]
        ys = [s.location.lat for s in stops]
        return 0.01 * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)

    def _jitter(self, at: Location, north: float, east: float, planar_step: float) -> Location:
        if at.planar:
            return replace(at, lat=at.lat + north * planar_step, lon=at.lon + east * planar_step)
        dlat = north * self.jitter_m / METRES_PER_DEG_LAT
        dlon = east * self.jitter_m / (METRES_PER_DEG_LAT * max(math.cos(math.radians(at.lat)), 0.01))
        lat = min(max(at.lat + dlat, -90.0), 90.0)
        lon = (at.lon + dlon + 180.0) % 360.0 - 180.0
        return replace(at, lat=round(lat, 6), lon=round(lon, 6))

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "factor": self.factor, "seed": self.seed, "jitter_m": self.jitter_m}


@dataclass(frozen=True, slots=True)
class SlotWidth(_OnProblemOnly):
    """Gives every booked window the width `minutes`, around the same centre (never before
    the day starts). Windows of one stop that then touch or overlap become one."""

    kind: ClassVar[str] = "slot_width"
    minutes: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.minutes) and 0 < self.minutes <= 24 * 60):
            raise _bad("minutes", self.kind, f"minutes must be above 0 and at most a day, got {self.minutes}")

    def apply(self, problem: Problem) -> Problem:
        width = round(self.minutes * 60)
        stops = []
        for stop in problem.stops:
            windows: list[TimeWindow] = []
            for window in stop.windows:
                start = (window.start_s + window.end_s) // 2 - width // 2
                end = start + width
                start = max(start, 0)
                if windows and start <= windows[-1].end_s:
                    windows[-1] = TimeWindow(windows[-1].start_s, max(end, windows[-1].end_s))
                else:
                    windows.append(TimeWindow(start, end))
            stops.append(replace(stop, windows=tuple(windows)))
        return replace(problem, stops=tuple(stops))

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "minutes": self.minutes}


@dataclass(frozen=True, slots=True)
class ServiceScale(_OnProblemOnly):
    """Multiplies every stop's service time by `factor` (rounded to whole seconds)."""

    kind: ClassVar[str] = "service_scale"
    factor: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and 0 <= self.factor <= MAX_FACTOR):
            raise _bad("factor", self.kind, f"factor must be between 0 and {MAX_FACTOR:g}, got {self.factor}")

    def apply(self, problem: Problem) -> Problem:
        return replace(
            problem, stops=tuple(replace(s, service_s=round(s.service_s * self.factor)) for s in problem.stops)
        )

    def to_wire(self) -> dict[str, Any]:
        return {"kind": self.kind, "factor": self.factor}


# --- traffic ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrafficPeriod:
    """From `start_s` to `end_s` (seconds from day start) travel takes `factor` times as long."""

    start_s: int
    end_s: int
    factor: float


@dataclass(frozen=True, slots=True)
class Traffic:
    """Travel is slower (factor > 1) or faster: all day by `factor`, or by a time-of-day
    `profile` of non-overlapping periods (1.0 outside them).

    The problem is unchanged; `speed_profile()` is the slowdown by time of day, which a
    scenario with a profile plans with exactly; `travel_factor` sums it up in one number, a
    profile by its mean over the couriers' shift hours (see the module docstring).
    """

    kind: ClassVar[str] = "traffic"
    factor: float | None = None
    profile: tuple[TrafficPeriod, ...] = ()

    def __post_init__(self) -> None:
        if (self.factor is None) == (not self.profile):
            raise _bad("factor", self.kind, "give either factor or profile")
        if self.factor is not None and not (math.isfinite(self.factor) and 0 < self.factor <= MAX_FACTOR):
            raise _bad("factor", self.kind, f"factor must be above 0 and at most {MAX_FACTOR:g}, got {self.factor}")
        for period in self.profile:
            if not 0 <= period.start_s < period.end_s:
                raise _bad("profile", self.kind, "each period must end after it starts, from the day start on")
            if not (math.isfinite(period.factor) and 0 < period.factor <= MAX_FACTOR):
                raise _bad("profile", self.kind, f"period factors must be above 0 and at most {MAX_FACTOR:g}")
        ordered = sorted(self.profile, key=lambda p: p.start_s)
        if any(after.start_s < before.end_s for before, after in itertools.pairwise(ordered)):
            raise _bad("profile", self.kind, "periods must not overlap")

    def apply(self, problem: Problem) -> Problem:
        return problem

    def factor_at(self, t_s: int) -> float:
        """The traffic factor at `t_s` seconds from day start."""
        if self.factor is not None:
            return self.factor
        for period in self.profile:
            if period.start_s <= t_s < period.end_s:
                return period.factor
        return 1.0

    def speed_profile(self) -> SpeedProfile:
        """The factor as a step function of the time of day (constant for `factor`)."""
        if self.factor is not None:
            return SpeedProfile.constant(self.factor)
        return SpeedProfile.from_periods((p.start_s, p.end_s, p.factor) for p in self.profile)

    def travel_factor(self, problem: Problem) -> float:
        """The factor itself, or the profile's mean over all couriers' shift seconds."""
        if self.factor is not None:
            return self.factor
        total = sum(max(c.shift_end_s - c.shift_start_s, 0) for c in problem.couriers)
        if total == 0:
            return 1.0
        extra = 0.0
        for courier in problem.couriers:
            for period in self.profile:
                overlap = min(courier.shift_end_s, period.end_s) - max(courier.shift_start_s, period.start_s)
                extra += max(overlap, 0) * (period.factor - 1.0)
        return 1.0 + extra / total

    def to_wire(self) -> dict[str, Any]:
        if self.factor is not None:
            return {"kind": self.kind, "factor": self.factor}
        return {
            "kind": self.kind,
            "profile": [{"start": _clock(p.start_s), "end": _clock(p.end_s), "factor": p.factor} for p in self.profile],
        }


# --- composing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScaledSource:
    """A travel source whose durations are `base`'s times `factor` (distances unchanged)."""

    base: TravelSource
    factor: float

    def matrix(self, problem: Problem) -> TravelMatrix:
        matrix = self.base.matrix(problem)
        return matrix if self.factor == 1.0 else matrix.scaled(self.factor)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A base day after its changes: the problem, and how much longer travel takes.

    `travel_factor` is the one-number summary of all traffic changes; `speed` is set when
    one of them has a time-of-day profile, and then holds every traffic change composed.
    """

    problem: Problem
    travel_factor: float = 1.0
    speed: SpeedProfile | None = None

    def source(self, base: TravelSource | None = None) -> TravelSource:
        """The travel source to plan this scenario with; `base` defaults to great-circle."""
        base = base if base is not None else HaversineSource()
        if self.speed is not None:
            return TimeOfDaySource(base, self.speed)
        return ScaledSource(base, self.travel_factor)


def apply_changes(problem: Problem, changes: Sequence[Variant], where: str = "changes") -> Scenario:
    """Apply `changes` left to right; travel factors multiply, each judged on the problem
    as changed so far (a profile after a shift offset sees the moved shifts). A change that
    does not fit the problem raises `InvalidChange` named `<where>[<position>].<key>`; one
    that leaves an invalid day names `<where>[<position>]` first, then the day's issues."""
    factor = 1.0
    speed = SpeedProfile.constant(1.0)
    by_time_of_day = False
    for position, change in enumerate(changes):
        try:
            factor *= change.travel_factor(problem)
            if isinstance(change, Traffic):
                try:
                    speed = speed.times(change.speed_profile())
                except ValueError:
                    raise _bad("factor", change.kind, "the traffic changes together slow travel too much") from None
                by_time_of_day = by_time_of_day or bool(change.profile)
            problem = change.apply(problem)
        except InvalidChange as exc:
            raise InvalidChange(_placed(exc.issues, f"{where}[{position}]")) from None
        except InvalidProblem as exc:
            # The change is well-formed but leaves a day that does not hold together, e.g.
            # removing the only van leaves a parcel nobody can carry: say which change did it.
            blame = ProblemIssue(f"{where}[{position}]", change.kind, "this change leaves an invalid day")
            raise InvalidChange([blame, *exc.issues]) from None
    return Scenario(problem, factor, speed if by_time_of_day else None)


def _placed(issues: Sequence[ProblemIssue], at: str) -> list[ProblemIssue]:
    """Issues with their field put under `at` (fields already there are left alone)."""
    return [i if i.field == at or i.field.startswith(f"{at}.") else replace(i, field=f"{at}.{i.field}") for i in issues]


# --- the wire form ---------------------------------------------------------------------

VARIANTS: dict[str, type[Variant]] = {
    v.kind: v for v in (RemoveCouriers, AddCouriers, DemandScale, Traffic, SlotWidth, ShiftOffset, ServiceScale)
}
_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # kind: (required keys, optional keys); "one of" pairs are checked by the variant.
    "remove_couriers": (set(), {"count", "ids"}),
    "add_couriers": ({"count"}, set()),
    "demand_scale": ({"factor"}, {"seed", "jitter_m"}),
    "traffic": (set(), {"factor", "profile"}),
    "slot_width": ({"minutes"}, set()),
    "shift_offset": ({"minutes"}, {"move_breaks"}),
    "service_scale": ({"factor"}, set()),
}


def parse_changes(changes: Sequence[Mapping[str, Any]], where: str = "changes") -> tuple[Variant, ...]:
    """The wire's change list as variants. Raises one `InvalidChange` listing every mistake,
    each named `<where>[<position>].<key>` with the change's kind as id."""
    if isinstance(changes, (str, bytes)) or not isinstance(changes, Sequence):
        raise InvalidChange([ProblemIssue(where, "", "changes must be a list")])
    issues: list[ProblemIssue] = []
    variants: list[Variant] = []
    for position, change in enumerate(changes):
        at = f"{where}[{position}]"
        try:
            variants.append(_parse_one(change, at))
        except InvalidProblem as exc:
            issues.extend(_placed(exc.issues, at))
    if issues:
        raise InvalidChange(issues)
    return tuple(variants)


def _parse_one(change: Mapping[str, Any], at: str) -> Variant:
    if not isinstance(change, Mapping):
        raise InvalidChange([ProblemIssue(at, "", "a change must be an object with a kind")])
    kind = change.get("kind")
    if not isinstance(kind, str) or kind not in VARIANTS:
        known = ", ".join(VARIANTS)
        raise InvalidChange([ProblemIssue(f"{at}.kind", str(kind or ""), f"unknown kind; known: {known}")])
    required, optional = _KEYS[kind]
    issues = [
        ProblemIssue(f"{at}.{key}", kind, "unknown key") for key in change if key not in required | optional | {"kind"}
    ]
    issues += [ProblemIssue(f"{at}.{key}", kind, "missing") for key in sorted(required) if key not in change]
    args: dict[str, Any] = {}
    for key, value in change.items():
        if key not in required | optional:
            continue
        try:
            args[key] = _READERS[key](value, key, kind)
        except InvalidProblem as exc:
            issues.extend(exc.issues)
    if issues:
        raise InvalidChange(issues)
    return VARIANTS[kind](**args)


def _number(value: Any, key: str, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(key, kind, f"must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise _bad(key, kind, "must be a number of sensible size") from None
    if not math.isfinite(number):
        raise _bad(key, kind, f"must be a number, got {value!r}")
    return number


def _whole(value: Any, key: str, kind: str) -> int:
    number = _number(value, key, kind)
    if number != int(number):
        raise _bad(key, kind, f"must be a whole number, got {value!r}")
    return int(number)


def _flag(value: Any, key: str, kind: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(key, kind, f"must be true or false, got {value!r}")
    return value


def _ids(value: Any, key: str, kind: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise _bad(key, kind, "must be a non-empty list of courier ids")
    return tuple(value)


_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")


def _seconds_of_day(value: Any, key: str, kind: str) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or int(match.group(1)) > 48:
        raise _bad(key, kind, f"times must read HH:MM from the day start, got {value!r}")
    return int(match.group(1)) * 3600 + int(match.group(2)) * 60 + int(match.group(3) or 0)


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _profile(value: Any, key: str, kind: str) -> tuple[TrafficPeriod, ...]:
    """A list of {"start": "HH:MM", "end": "HH:MM", "factor": x} or ["HH:MM", "HH:MM", x]."""
    if not isinstance(value, list) or not value:
        raise _bad(key, kind, "must be a non-empty list of periods")
    periods = []
    for k, item in enumerate(value):
        where = f"{key}[{k}]"
        if isinstance(item, Mapping):
            if set(item) != {"start", "end", "factor"}:
                raise _bad(where, kind, "a period has exactly start, end and factor")
            start, end, factor = item["start"], item["end"], item["factor"]
        elif isinstance(item, list) and len(item) == 3:
            start, end, factor = item
        else:
            raise _bad(where, kind, "a period is {start, end, factor} or [start, end, factor]")
        periods.append(
            TrafficPeriod(
                _seconds_of_day(start, f"{where}.start", kind),
                _seconds_of_day(end, f"{where}.end", kind),
                _number(factor, f"{where}.factor", kind),
            )
        )
    return tuple(periods)


_READERS: dict[str, Any] = {
    "count": _whole,
    "ids": _ids,
    "factor": _number,
    "seed": _whole,
    "jitter_m": _number,
    "profile": _profile,
    "minutes": _number,
    "move_breaks": _flag,
}
