"""Real courier days against OnTime's risk predictor: fit a noise model to LaDe pickups, replay it.

The data are the two one-day LaDe-P samples under `<data>/lade` (Cainiao pickups in Hangzhou
and Jilin, see its README): per pickup the courier, the stop's coordinates, the booked window
and when the pickup really happened. `lade_data_dir()` finds the folder: `$ONTIME_DATA_DIR/lade`,
else `../shared/data/lade` next to the project. Times are `MM-DD HH:MM:SS` local time without a
year; here they become integer seconds from the file's day (`ds`) at local midnight, so a window
booked the day before starts below zero and one booked for tomorrow ends past 86,400.
Windows ending at 23:59 mean "any time today" (some were booked the day before and so end
before the day starts): they are no deadline, and are left out of every lateness figure and of
the replay's scoring (they still sit on the routes, open to the end of the day).

A courier's day is all their pickups of the file in real time order (a courier id found in
two or three neighbouring regions is one person's day: split by region, they would jump back
and forth). Ties (same minute) go by order id.

**Fit** (`fit_lade`). Each consecutive pair of a courier's pickups gives a gap (seconds between
the pickup times) and the straight-line distance between the two stops (WGS84, as OnTime's
`HaversineSource`). OnTime plans a gap as service + road distance / speed with road = straight
x 1.3, so:

- *speed and service time*: a Theil-Sen line of gap on straight distance (the median of the
  pairwise slopes, robust to the long tail) over the gaps under 60 minutes (longer ones are
  idle time, lunch or waiting for a window, and would be read as very slow travel); speed =
  1.3 / slope, service time = the median of gap - slope x distance. The samples are thinned (at
  most about 60 pickups a region) and couriers deliver too, so a gap often holds work the file
  does not show: the "service time" carries it, and the slope is weak (the gap hardly grows
  with distance; the cap moves the speed a lot, see the report of `python -m scenarios.lade`).
- *spread*: r = log(gap / planned gap) over the same gaps (a gap is known to the minute, so
  one of zero counts as 30 s). The spread of a set of r is its interquartile range / 1.349 (the
  standard deviation of a normal with that IQR; robust, unlike the standard deviation itself).
  Of a courier with at least 5 such gaps, the median r is their pace. `pace_sigma_raw` is the
  spread of those medians; a median of n readings scatters by itself (variance about
  pi/2 x within^2 / n), so `pace_sigma` is what is left after taking that out. `leg_sigma` and
  `service_sigma` are the spread of r around each courier's own median (`spread_within`): the
  noise model draws the pace on top, so the total spread (`spread_total`) would count it twice.
  A gap is one leg and one service together, so the data cannot tell the two apart: both get
  the same value.
- *lateness* (windows ending 23:59 left out): the share of pickups after the window's end,
  the median and 90th percentile of minutes late of those, the share in the last 30 minutes of
  the window, and the share before the window opened.

**Replay** (`replay_timeline`, `replay_lade`, `sweep`). For each courier-day, at each real
pickup time t (a completion report) the route ahead is the stops not yet picked up, in the
real order: a one-courier `Problem` starting at the stop just served at t with the fitted speed
and service time, timed by `schedule_route` on `HaversineSource(1.3)`. The courier's pace is
learnt (`learn_pace`) from the stretches between their reports so far, planned (leg + service)
vs actual, leaving out those where the next window opened after the planned arrival (they may
have waited), as the service does. `route_risk` then gives each stop ahead its `p_late` and
median ETA. A stop is flagged the first time its p_late reaches the threshold or its median ETA
is after its window's end, when that is before the window's end (a warning after the deadline
warns of nothing). A median ETA past the end means p_late above 0.5, so thresholds above 0.5
flag alike; `score(..., eta_rule=False)` flags on p_late alone. Late means picked up after the
window's end. Scores count the pickups with a real window. Two choices, both on by
default and both switchable, make the replay what a dispatcher could have known:

- `known_only`: an order is on the route only once accepted (`accept_time` <= t): the
  predictor is not told of orders that do not exist yet.
- `early_pickup`: the plan's windows open at the day's start, keeping the booked end: LaDe
  couriers pick nearly a quarter of the parcels up before the booked window opens (some booked for
  tomorrow), so a plan waiting for each opening would push the rest of the day hours late.
  With it off, the plan waits for the booked opening (clipped at the day's start).

Run `python -m scenarios.lade [folder]` for the fit and the replay figures.
"""

from __future__ import annotations

import csv
import itertools
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from optimizer.model import HORIZON_S, Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.risk import NoiseModel, Pace, RouteAhead, learn_pace, route_risk
from optimizer.schedule import schedule_route
from optimizer.travel.haversine import HaversineSource, durations_from_distances, great_circle_m
from scenarios.data import data_dir

DETOUR_FACTOR = 1.3
"""OnTime's default road distance / straight-line distance."""
DAY_S = 86_400
ANY_TIME_END = "23:59:00"
"""A window ending at this clock time means "any time today"."""
IDLE_GAP_S = 3_600
"""Gaps this long or longer are idle time, not travel and service: out of the fit."""
FLOOR_GAP_S = 30
"""Times are to the minute: a gap of zero is somewhere in [0, 60) s."""
PACE_MIN_GAPS = 5
"""A courier needs this many fitted gaps for their median to count as a pace."""
LAST_STRETCH_S = 1_800
IQR_PER_SIGMA = 1.3490
"""Interquartile range of a standard normal."""
_REFERENCE_YEAR = 2000
"""The data have no year: a leap year, so that 02-29 parses; December/January wrap around."""

FloatArray = npt.NDArray[np.float64]


def lade_data_dir() -> Path:
    """The LaDe folder: `$ONTIME_DATA_DIR/lade`, else `../shared/data/lade` beside the project."""
    return data_dir() / "lade"


# -- loading -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pickup:
    """One real pickup: where, the booked window, and when it was accepted and picked up
    (seconds from the day's local midnight)."""

    order_id: str
    region_id: str
    courier_id: str
    location: Location
    accept_s: int
    window_start_s: int
    window_end_s: int
    pickup_s: int
    any_time: bool
    """The window ends at 23:59: "any time today", no deadline."""

    @property
    def late(self) -> bool:
        return self.pickup_s > self.window_end_s


@dataclass(frozen=True, slots=True)
class LadeDay:
    """One file: a city's pickups of one day (`day` is the `ds` column, MMDD)."""

    city: str
    day: str
    pickups: tuple[Pickup, ...]

    @property
    def regions(self) -> int:
        return len({p.region_id for p in self.pickups})

    @property
    def late_share(self) -> float:
        """Share of pickups after their window's end, as the README counts it (every row)."""
        return sum(p.late for p in self.pickups) / len(self.pickups) if self.pickups else 0.0

    def courier_days(self) -> tuple[tuple[Pickup, ...], ...]:
        """Each courier's pickups in real time order (ties by order id), couriers by id."""
        by_courier: dict[str, list[Pickup]] = defaultdict(list)
        for pickup in self.pickups:
            by_courier[pickup.courier_id].append(pickup)
        return tuple(tuple(sorted(by_courier[c], key=lambda p: (p.pickup_s, p.order_id))) for c in sorted(by_courier))


def _day_of(ds: str) -> date:
    value = int(ds)
    return date(_REFERENCE_YEAR, value // 100, value % 100)


def _seconds(stamp: str, day: date) -> int:
    """`MM-DD HH:MM:SS` as seconds from `day`'s midnight (negative: the days before)."""
    try:
        md, clock = stamp.strip().split(" ")
        month, dom = (int(x) for x in md.split("-"))
        hours, minutes, seconds = (int(x) for x in clock.split(":"))
        offset = (date(_REFERENCE_YEAR, month, dom) - day).days
        if offset > 183:
            offset = (date(_REFERENCE_YEAR - 1, month, dom) - day).days
        elif offset < -183:
            offset = (date(_REFERENCE_YEAR + 1, month, dom) - day).days
    except ValueError as err:
        raise ValueError(f"not a MM-DD HH:MM:SS time: {stamp!r}") from err
    return offset * DAY_S + hours * 3600 + minutes * 60 + seconds


def load_day(path: Path) -> LadeDay:
    """One LaDe-P pickup CSV (the columns its README lists; others are ignored)."""
    pickups = []
    city = days = ""
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if days and row["ds"] != days:
                raise ValueError(f"{path.name}:{line}: a second day {row['ds']!r} in a one-day file ({days!r})")
            city, days = row["city"], row["ds"]
            day = _day_of(days)
            try:
                pickups.append(
                    Pickup(
                        order_id=row["order_id"],
                        region_id=row["region_id"],
                        courier_id=row["courier_id"],
                        location=Location(float(row["lat"]), float(row["lng"])),
                        accept_s=_seconds(row["accept_time"], day),
                        window_start_s=_seconds(row["time_window_start"], day),
                        window_end_s=_seconds(row["time_window_end"], day),
                        pickup_s=_seconds(row["pickup_time"], day),
                        any_time=row["time_window_end"].strip().endswith(ANY_TIME_END),
                    )
                )
            except (KeyError, ValueError) as err:
                raise ValueError(f"{path.name}:{line}: {err}") from err
    if not pickups:
        raise ValueError(f"{path.name}: no pickups")
    return LadeDay(city, days, tuple(pickups))


def load_lade(folder: Path | str | None = None) -> tuple[LadeDay, ...]:
    """Every `pickup_*.csv` in the folder (default `lade_data_dir()`), by file name."""
    root = Path(folder) if folder is not None else lade_data_dir()
    files = sorted(root.glob("pickup_*.csv"))
    if not files:
        raise FileNotFoundError(f"no pickup_*.csv under {root}")
    return tuple(load_day(f) for f in files)


# -- fit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LadeFit:
    """What the real days say of travel, service, noise and lateness (see the module doc)."""

    pickups: int
    courier_days: int
    gaps: int
    """Consecutive pickups of a courier-day."""
    gaps_used: int
    """Gaps under the idle cap (default `IDLE_GAP_S`): the speed, service and spread fit."""
    gaps_idle: int
    """Gaps left out as idle time."""
    speed_mps: float
    """On straight-line distance x 1.3, as OnTime plans."""
    service_s: int
    spread_total: float
    """Spread of log(gap / planned) over all fitted gaps, pace included."""
    spread_within: float
    """The same around each courier's own median (couriers with `PACE_MIN_GAPS` gaps)."""
    leg_sigma: float
    service_sigma: float
    pace_couriers: int
    pace_sigma_raw: float
    """Spread of the couriers' median log ratios."""
    pace_sigma: float
    """`pace_sigma_raw` less the scatter of a median of few readings."""
    timed_pickups: int
    """Pickups with a real window (not "any time today")."""
    any_time_pickups: int
    late_share: float
    late_p50_min: float | None
    late_p90_min: float | None
    last_30min_share: float
    early_share: float
    """Picked up before the booked window opened."""

    def noise_model(self, samples: int | None = None, seed: int | None = None) -> NoiseModel:
        """The fitted sigmas as OnTime's noise model (clipped to the [0, 2] it accepts); samples
        and seed are `NoiseModel`'s defaults unless given."""
        base = NoiseModel()
        return NoiseModel(
            _clip(self.leg_sigma),
            _clip(self.service_sigma),
            _clip(self.pace_sigma),
            base.samples if samples is None else samples,
            base.seed if seed is None else seed,
        )


def _clip(sigma: float) -> float:
    return min(max(sigma, 0.0), 2.0)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _spread(values: Iterable[float]) -> float:
    """Interquartile range / 1.349: a normal's sigma, robust to the tails."""
    array = np.asarray(list(values), dtype=np.float64)
    if array.size < 2:
        return 0.0
    q1, q3 = np.percentile(array, [25, 75])
    return float((q3 - q1) / IQR_PER_SIGMA)


def _theil_sen(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Median pairwise slope of y on x and the median intercept left by it."""
    first, second = np.triu_indices(x.size, k=1)
    dx = x[second] - x[first]
    apart = dx > 1e-9
    rising = dx < -1e-9
    slopes = np.concatenate([(y[second] - y[first])[apart] / dx[apart], (y[second] - y[first])[rising] / dx[rising]])
    if slopes.size == 0:
        raise ValueError("the gaps need stops at different distances to fit a speed")
    slope = float(np.median(slopes))
    return slope, float(np.median(y - slope * x))


def _straight_legs(stops: Sequence[Pickup]) -> FloatArray:
    """Straight-line metres from each stop to the next."""
    if len(stops) < 2:
        return np.zeros(0)
    legs: FloatArray = np.diagonal(great_circle_m([p.location for p in stops]), offset=1).copy()
    return legs


def _planned_gap_s(straight_m: FloatArray, speed_mps: float, service_s: int) -> npt.NDArray[np.int64]:
    """A gap as OnTime plans it: service + road distance (straight x 1.3) at the speed."""
    return durations_from_distances(straight_m * DETOUR_FACTOR, speed_mps) + service_s


def fit_lade(folder: Path | str | None = None, idle_gap_s: int = IDLE_GAP_S) -> LadeFit:
    """Fit speed, service time, noise and lateness to the LaDe days in `folder`; gaps of
    `idle_gap_s` or more are idle time, out of the speed, service and spread fit."""
    days = load_lade(folder)
    courier_days = [cd for day in days for cd in day.courier_days()]
    gap_rows: list[tuple[int, float, int]] = []  # (courier-day, straight metres, gap seconds)
    for index, stops in enumerate(courier_days):
        for (a, b), metres in zip(itertools.pairwise(stops), _straight_legs(stops)):
            gap_rows.append((index, float(metres), b.pickup_s - a.pickup_s))
    used = [row for row in gap_rows if row[2] < idle_gap_s]
    if len(used) < 2:
        raise ValueError("too few gaps under an hour to fit a speed")
    owner = np.array([row[0] for row in used])
    metres = np.array([row[1] for row in used])
    gaps = np.array([row[2] for row in used], dtype=np.float64)
    slope, intercept = _theil_sen(metres, gaps)
    if slope <= 0:
        raise ValueError(f"gaps do not grow with distance (slope {slope:.4f} s/m): no speed to fit")
    speed = min(max(DETOUR_FACTOR / slope, 0.1), 100.0)
    service = max(0, round(intercept))
    ratios = np.log(np.maximum(gaps, FLOOR_GAP_S) / _planned_gap_s(metres, speed, service))

    medians: list[float] = []
    counts: list[int] = []
    around: list[FloatArray] = []
    for index in np.unique(owner):
        mine = ratios[owner == index]
        if mine.size >= PACE_MIN_GAPS:
            middle = float(np.median(mine))
            medians.append(middle)
            counts.append(int(mine.size))
            around.append(mine - middle)
    within = _spread(np.concatenate(around)) if around else _spread(ratios)
    pace_raw = _spread(medians)
    scatter = float(np.mean([math.pi / 2 * within**2 / n for n in counts])) if counts else 0.0
    pace = math.sqrt(max(0.0, pace_raw**2 - scatter))

    pickups = [p for day in days for p in day.pickups]
    timed = [p for p in pickups if not p.any_time]
    late_min = [(p.pickup_s - p.window_end_s) / 60 for p in timed if p.late]

    def share(count: int) -> float:
        return count / len(timed) if timed else 0.0

    return LadeFit(
        pickups=len(pickups),
        courier_days=len(courier_days),
        gaps=len(gap_rows),
        gaps_used=len(used),
        gaps_idle=len(gap_rows) - len(used),
        speed_mps=round(speed, 3),
        service_s=service,
        spread_total=round(_spread(ratios), 4),
        spread_within=round(within, 4),
        leg_sigma=round(within, 4),
        service_sigma=round(within, 4),
        pace_couriers=len(medians),
        pace_sigma_raw=round(pace_raw, 4),
        pace_sigma=round(pace, 4),
        timed_pickups=len(timed),
        any_time_pickups=len(pickups) - len(timed),
        late_share=share(len(late_min)),
        late_p50_min=float(np.median(late_min)) if late_min else None,
        late_p90_min=float(np.percentile(late_min, 90)) if late_min else None,
        last_30min_share=share(sum(p.window_end_s - LAST_STRETCH_S < p.pickup_s <= p.window_end_s for p in timed)),
        early_share=share(sum(p.pickup_s < p.window_start_s for p in timed)),
    )


# -- replay ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskReading:
    """What the predictor said of a stop at one report: at `at_s`, p_late and median ETA."""

    at_s: int
    p_late: float
    eta_p50_s: int


@dataclass(frozen=True, slots=True)
class StopReplay:
    """One pickup with a real window: what really happened and what the predictor said when."""

    order_id: str
    courier_id: str
    window_end_s: int
    pickup_s: int
    readings: tuple[RiskReading, ...]

    @property
    def late(self) -> bool:
        return self.pickup_s > self.window_end_s

    def flagged_at(self, threshold: float, eta_rule: bool = True) -> int | None:
        """When the stop was first flagged before its window's end (None: never): p_late at
        the threshold, or (`eta_rule`) a median ETA after the window's end, which alone flags
        what p_late > 0.5 would, so thresholds above 0.5 then add nothing."""
        for r in self.readings:
            due = eta_rule and r.eta_p50_s > self.window_end_s
            if r.at_s < self.window_end_s and (r.p_late >= threshold or due):
                return r.at_s
        return None


@dataclass(frozen=True, slots=True)
class ReplayFigures:
    """How well flags at `threshold` foresaw the late pickups (None: nothing to divide by)."""

    threshold: float
    lead_min: float
    stops: int
    """Pickups with a real window, the ones scored."""
    late: int
    unseen_late: int
    """Late stops never on a route ahead before their window ended (first of a day, or
    accepted after the courier's last report before it): no flag could have come."""
    flagged: int
    true_flags: int
    """Flagged and really late."""
    flagged_in_time: int
    """Late and flagged at least `lead_min` before the window's end."""
    recall_at_lead: float | None
    recall_any: float | None
    precision: float | None
    median_lead_min: float | None
    """Of the true flags: minutes from the flag to the window's end."""


def _plan_window(p: Pickup, early_pickup: bool) -> TimeWindow:
    end = max(p.window_end_s, DAY_S - 60) if p.any_time else p.window_end_s
    start = 0 if early_pickup else max(0, p.window_start_s)
    return TimeWindow(start, max(start, end))


def _replay_courier(
    stops: tuple[Pickup, ...],
    model: NoiseModel,
    speed_mps: float,
    service_s: int,
    known_only: bool,
    early_pickup: bool,
) -> list[StopReplay]:
    """Walk one courier-day report by report; all its routes ahead drawn in one go."""
    windows = [_plan_window(p, early_pickup) for p in stops]
    legs = _planned_gap_s(_straight_legs(stops), speed_mps, 0)
    window_of = {p.order_id: w for p, w in zip(stops, windows)}
    source = HaversineSource(DETOUR_FACTOR)
    routes: list[RouteAhead] = []
    report_at: list[int] = []
    stretches: list[tuple[int, int]] = []
    for k, here in enumerate(stops[:-1]):
        t = here.pickup_s
        if k > 0:
            before, leg = stops[k - 1], int(legs[k - 1])
            if windows[k].start_s <= before.pickup_s + leg:  # else they may have waited
                stretches.append((leg + service_s, max(t - before.pickup_s, FLOOR_GAP_S)))
        ahead = [p for p in stops[k + 1 :] if not known_only or p.accept_s <= t]
        if not ahead:
            continue
        problem = Problem(
            name=f"lade-{here.courier_id}-{t}",
            depots=(Depot("here", here.location),),
            couriers=(
                Courier(
                    here.courier_id, "here", 0, HORIZON_S, speed_mps=speed_mps, start_at=here.location, available_s=t
                ),
            ),
            stops=tuple(Stop(p.order_id, p.location, (window_of[p.order_id],), service_s) for p in ahead),
        )
        timed = schedule_route(problem, source.matrix(problem), 0, [p.order_id for p in ahead])
        pace: Pace = learn_pace(model, stretches)
        routes.append(RouteAhead(timed, len(ahead), pace))
        report_at.append(t)
    readings: dict[str, list[RiskReading]] = defaultdict(list)
    for t, risks in zip(report_at, route_risk(routes, model)):
        for risk in risks:
            readings[risk.stop_id].append(RiskReading(t, risk.p_late, risk.eta_p50_s))
    return [
        StopReplay(p.order_id, p.courier_id, p.window_end_s, p.pickup_s, tuple(readings[p.order_id]))
        for p in stops
        if not p.any_time
    ]


def replay_timeline(
    folder: Path | str | None,
    model: NoiseModel,
    *,
    speed_mps: float | None = None,
    service_s: int | None = None,
    known_only: bool = True,
    early_pickup: bool = True,
) -> tuple[StopReplay, ...]:
    """What the predictor said of every pickup with a real window, report by report. Speed
    and service time default to `fit_lade(folder)`'s."""
    if speed_mps is None or service_s is None:
        fitted = fit_lade(folder)
        speed_mps = fitted.speed_mps if speed_mps is None else speed_mps
        service_s = fitted.service_s if service_s is None else service_s
    out: list[StopReplay] = []
    for day in load_lade(folder):
        for stops in day.courier_days():
            out.extend(_replay_courier(stops, model, speed_mps, service_s, known_only, early_pickup))
    return tuple(out)


def score(stops: Sequence[StopReplay], threshold: float, lead_min: float = 30, eta_rule: bool = True) -> ReplayFigures:
    """The flags at `threshold` (see `StopReplay.flagged_at`) against what really happened."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    lead_s = lead_min * 60
    late = [s for s in stops if s.late]
    flags = {s.order_id: s.flagged_at(threshold, eta_rule) for s in stops}
    flagged = [s for s in stops if flags[s.order_id] is not None]
    leads = [s.window_end_s - t for s in late if (t := flags[s.order_id]) is not None]
    return ReplayFigures(
        threshold=threshold,
        lead_min=lead_min,
        stops=len(stops),
        late=len(late),
        unseen_late=sum(1 for s in late if not any(r.at_s < s.window_end_s for r in s.readings)),
        flagged=len(flagged),
        true_flags=len(leads),
        flagged_in_time=sum(1 for lead in leads if lead >= lead_s),
        recall_at_lead=_ratio(sum(1 for lead in leads if lead >= lead_s), len(late)),
        recall_any=_ratio(len(leads), len(late)),
        precision=_ratio(len(leads), len(flagged)),
        median_lead_min=float(np.median(leads)) / 60 if leads else None,
    )


def sweep(
    folder: Path | str | None,
    model: NoiseModel,
    thresholds: Iterable[float],
    lead_min: float = 30,
    *,
    speed_mps: float | None = None,
    service_s: int | None = None,
    known_only: bool = True,
    early_pickup: bool = True,
) -> tuple[ReplayFigures, ...]:
    """The replay's figures at each threshold (the predictor runs once, the thresholds only
    read its answers)."""
    timeline = replay_timeline(
        folder, model, speed_mps=speed_mps, service_s=service_s, known_only=known_only, early_pickup=early_pickup
    )
    return tuple(score(timeline, threshold, lead_min) for threshold in thresholds)


def replay_lade(
    folder: Path | str | None,
    model: NoiseModel,
    threshold: float,
    lead_min: float = 30,
    *,
    speed_mps: float | None = None,
    service_s: int | None = None,
    known_only: bool = True,
    early_pickup: bool = True,
) -> ReplayFigures:
    """Replay the LaDe days against the risk predictor and score the flags at `threshold`."""
    (figures,) = sweep(
        folder,
        model,
        [threshold],
        lead_min,
        speed_mps=speed_mps,
        service_s=service_s,
        known_only=known_only,
        early_pickup=early_pickup,
    )
    return figures


# -- report ------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _figures_line(f: ReplayFigures) -> str:
    lead = "-" if f.median_lead_min is None else f"{f.median_lead_min:.0f}"
    return (
        f"  p>={f.threshold:.1f}: late {f.late} (unseen {f.unseen_late}), flagged {f.flagged}, "
        f"true {f.true_flags}, recall@{f.lead_min:.0f}min {_pct(f.recall_at_lead)}, "
        f"recall {_pct(f.recall_any)}, precision {_pct(f.precision)}, median lead {lead} min"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print the fit and the replay at 0.3/0.5/0.7, fitted and default noise, with timing."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0]) if args else lade_data_dir()
    began = time.perf_counter()
    for day in load_lade(folder):
        print(f"{day.city} {day.day}: {len(day.pickups)} pickups, {day.regions} regions, late {_pct(day.late_share)}")
    fit = fit_lade(folder)
    print(fit)
    for minutes in (30, 120):
        other = fit_lade(folder, minutes * 60)
        print(f"gaps under {minutes} min: speed {other.speed_mps} m/s, service {other.service_s} s")
    thresholds = (0.3, 0.5, 0.7)
    for label, model in (("fitted", fit.noise_model()), ("default", NoiseModel())):
        for known_only, early_pickup in ((True, True), (False, True), (True, False), (False, False)):
            print(f"{label} {model}, known_only={known_only}, early_pickup={early_pickup}")
            for figures in sweep(folder, model, thresholds, known_only=known_only, early_pickup=early_pickup):
                print(_figures_line(figures))
        timeline = replay_timeline(folder, model)
        print(f"{label}, defaults, p_late alone (no median-ETA rule)")
        for threshold in thresholds:
            print(_figures_line(score(timeline, threshold, eta_rule=False)))
    print(f"{time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
