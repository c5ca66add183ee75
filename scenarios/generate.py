"""Seeded realistic city days, in the wire format (CONTRACTS.md 3, the `Problem` body).

`generate_day(stops, couriers, seed)` returns a plain JSON-able dict: the same arguments give
the same dict, byte for byte once dumped. It does not import the API; callers validate and
convert it with `api.schemas.ProblemIn.model_validate(day).to_domain()`.

What a day looks like, and why:

- **One hub** near the city centre (for Shanghai, Pudong), every courier starts and ends there.
- **Stops** come from three sources: residential compounds (the largest share, 2-9 km out),
  office districts (nearer the centre, tighter), and background noise spread evenly over a
  disc of `radius_km` (shops, one-off addresses). Cluster centres, sizes and spreads are drawn
  per day; the number of clusters grows with the square root of the stop count, so a bigger
  day is both denser and wider spread, like a bigger share of a real city.
- **Booked slots** are two hours long and start on the hour between 08:00 and 18:00. Offices
  book mid-day, residences book the morning before work and, most of all, the evening. About
  `two_slot_share` of customers book two slots (say "morning or evening"), in order and at
  least an hour apart, as the domain model requires windows that do not touch.
- **Couriers** are mostly e-bikes (18 km/h, 60-80 kg, 40-60 parcels) and a share `vans` of vans
  (25 km/h, 250-400 kg, 120-200 parcels). Shifts are 08:00-18:00 or 10:00-20:00, split in
  proportion to the expected morning and evening demand, so both peaks are staffed; slots no
  shift covers (a one-courier day) are not booked. Everyone has one 30-minute lunch break
  starting between 11:30 and 13:30.
- **Service** takes 2-6 minutes; demand is a parcel count of 1-3 and a long-tailed weight of
  0.2-15 kg.
- **Pickups** (上门揽收, optional): a share `pickup_share` of the stops, chosen at random, are
  pickups whose parcels join the van there. **Trips** (optional): with `max_trips` > 1 every
  courier may go back to the hub to unload and reload, taking `reload_min` each time. Both are
  drawn from a stream of their own, so the rest of the day is the same with or without them.

Randomness comes only from `numpy.random.default_rng(seed)`, created per call.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KM_PER_DEG_LAT = 111.32
SLOT_HOURS = 2
FIRST_SLOT_HOUR = 8
LAST_SLOT_HOUR = 18  # the last slot is 18:00-20:00
SLOT_STARTS = tuple(range(FIRST_SLOT_HOUR, LAST_SLOT_HOUR + 1))

# Relative booking weights per slot start hour 08..18 (index 0 is 08:00).
RESIDENTIAL_SLOTS = (3.0, 2.0, 1.0, 0.8, 0.8, 0.8, 1.0, 1.5, 2.5, 4.0, 4.0)
OFFICE_SLOTS = (0.5, 2.0, 3.0, 3.5, 2.5, 3.0, 3.0, 2.0, 1.0, 0.3, 0.0)
BACKGROUND_SLOTS = (1.0, 1.2, 1.5, 1.5, 1.2, 1.2, 1.5, 1.5, 1.5, 1.5, 1.2)

SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo",
    "Zheng", "Liang", "Xie", "Song", "Tang", "Han", "Feng", "Deng", "Cao", "Peng",
)  # fmt: skip
GIVEN_NAMES = (
    "Wei", "Fang", "Min", "Jing", "Lei", "Jun", "Yan", "Yong", "Jie", "Tao",
    "Ming", "Chao", "Xiuying", "Xia", "Ping", "Gang", "Hui", "Na", "Li", "Qiang",
    "Yang", "Hong", "Lan", "Hao", "Yu", "Xin", "Ting", "Bo", "Yi", "Zhiwei",
    "Haoran", "Zihan", "Yuxuan", "Xinyi", "Jiahui", "Mengyao", "Shuang", "Kai", "Rui", "Lu",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class City:
    """Where a generated day happens: the hub, the local UTC offset and the area's radius."""

    name: str
    hub_lat: float
    hub_lon: float
    utc_offset: str
    radius_km: float = 9.0
    road_map: str | None = None
    """The embedded road map (`scenarios.maps`) the city's streets are on, if any."""


CITIES: dict[str, City] = {
    "shanghai": City("shanghai", 31.2204, 121.5447, "+08:00"),
    "beijing": City("beijing", 39.9087, 116.3975, "+08:00"),
    "shenzhen": City("shenzhen", 22.5431, 114.0579, "+08:00"),
    "hangzhou": City("hangzhou", 30.2741, 120.1551, "+08:00"),
    "xuzhou": City("xuzhou", 34.2580, 117.1880, "+08:00", 7.0, road_map="xuzhou"),
    "porto": City("porto", 41.1600, -8.6000, "+00:00", 6.0, road_map="porto"),
}

SHIFTS = ((8, 18), (10, 20))
"""Shift (start hour, end hour) pairs: early and late."""


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle kind: its profile and speed, and the capacities one is drawn from."""

    profile: str
    speed_kmh: float
    weight_kg: tuple[int, ...]
    parcels: tuple[int, ...]


EBIKE = Vehicle("ebike", 18.0, (60, 70, 80), (40, 50, 60))
VAN = Vehicle("van", 25.0, (250, 300, 400), (120, 150, 200))
LUNCH = ("11:30", "13:30", 30)
"""Lunch break: earliest start, latest start, minutes."""


def generate_day(
    stops: int,
    couriers: int,
    seed: int = 0,
    *,
    city: str = "shanghai",
    date: str = "2026-11-26",
    vans: float = 0.2,
    two_slot_share: float = 0.1,
    pickup_share: float = 0.0,
    max_trips: int = 1,
    reload_min: float = 20.0,
) -> dict[str, Any]:
    """A seeded city day in the wire format: one hub, `couriers` couriers, `stops` stops.

    `vans` is the share of couriers driving a van (rounded to whole couriers), `two_slot_share`
    the share of stops with two booked slots, `pickup_share` the share of stops that are
    pickups (rounded to whole stops). With `max_trips` > 1 every courier may make that many
    trips, each reload at the hub taking `reload_min` (the couriers then carry the wire's
    `max_trips` and `reload_min`; with one trip they do not). Every booked slot lies inside some
    courier's shift. Raises ValueError naming a bad argument.
    """
    if not 0 <= stops <= 5000:
        raise ValueError(f"stops must be between 0 and 5000, got {stops}")
    if not 1 <= couriers <= 500:
        raise ValueError(f"couriers must be between 1 and 500, got {couriers}")
    if not 0.0 <= vans <= 1.0:
        raise ValueError(f"vans must be a share between 0 and 1, got {vans}")
    if not 0.0 <= two_slot_share <= 1.0:
        raise ValueError(f"two_slot_share must be a share between 0 and 1, got {two_slot_share}")
    if not 0.0 <= pickup_share <= 1.0:
        raise ValueError(f"pickup_share must be a share between 0 and 1, got {pickup_share}")
    if not 1 <= max_trips <= 10:
        raise ValueError(f"max_trips must be between 1 and 10, got {max_trips}")
    if not 0.0 <= reload_min <= 120.0:
        raise ValueError(f"reload_min must be between 0 and 120 minutes, got {reload_min}")
    if city not in CITIES:
        raise ValueError(f"unknown city {city!r}; known: {', '.join(sorted(CITIES))}")
    _check_date(date)
    place = CITIES[city]
    rng = np.random.default_rng(seed)

    shifts = _shift_plan(couriers)
    open_hours = tuple(h for h in SLOT_STARTS if any(a <= h and h + SLOT_HOURS <= b for a, b in set(shifts)))
    lat, lon, kinds = _stop_positions(rng, place, stops)
    slot_hours = _slot_starts(rng, kinds, two_slot_share, open_hours)
    stop_list = [
        {
            "id": f"o{k + 1:04d}",
            "lat": round(float(lat[k]), 6),
            "lon": round(float(lon[k]), 6),
            "service_min": int(rng.choice((2, 3, 4, 5, 6), p=(0.15, 0.3, 0.25, 0.2, 0.1))),
            "windows": [_window(date, place, h) for h in slot_hours[k]],
            "demand": _demand(rng),
            "customer": _customer(rng),
        }
        for k in range(stops)
    ]
    courier_list = _couriers(rng, place, date, shifts, vans)
    # Pickups and trips draw from a stream of their own: the rest of the day does not change.
    extra = np.random.default_rng((seed, 1))
    for k in sorted(extra.choice(stops, size=round(stops * pickup_share), replace=False).tolist()):
        stop_list[k]["kind"] = "pickup"
    if max_trips > 1:
        for courier in courier_list:
            courier["max_trips"] = max_trips
            courier["reload_min"] = reload_min
    return {
        "name": f"{place.name}-{date}-{stops}x{couriers}-s{seed}",
        "depots": [{"id": "hub", "lat": place.hub_lat, "lon": place.hub_lon}],
        "couriers": courier_list,
        "stops": stop_list,
    }


def write_day(path: str | Path, stops: int, couriers: int, seed: int = 0, **options: Any) -> Path:
    """Generate a day (see `generate_day`) and write it as indented JSON to `path`."""
    target = Path(path)
    day = generate_day(stops, couriers, seed, **options)
    target.write_text(json.dumps(day, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


# --- stops -----------------------------------------------------------------------------

RESIDENTIAL, OFFICE, BACKGROUND = 0, 1, 2
KIND_SHARES = (0.55, 0.27, 0.18)


def _stop_positions(
    rng: np.random.Generator, place: City, n: int
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]], list[int]]:
    """Latitudes, longitudes and area kinds of `n` stops, clusters first then noise."""
    scale = math.sqrt(max(n, 1))
    n_res = int(np.clip(round(0.8 * scale), 3, 40))
    n_off = int(np.clip(round(0.4 * scale), 2, 20))
    # Cluster centres (km east, km north of the hub): offices nearer the centre.
    res_centres = _ring(rng, n_res, 2.0, place.radius_km - 1.0)
    off_centres = _ring(rng, n_off, 0.8, 5.0)
    res_spread = rng.uniform(0.2, 0.6, n_res)
    off_spread = rng.uniform(0.1, 0.35, n_off)
    res_weight = rng.lognormal(0.0, 0.6, n_res)
    off_weight = rng.lognormal(0.0, 0.6, n_off)

    kinds = rng.choice(3, size=n, p=KIND_SHARES)
    xy = np.empty((n, 2))
    for k, kind in enumerate(kinds):
        if kind == BACKGROUND:
            xy[k] = _ring(rng, 1, 0.3, place.radius_km)[0]
            continue
        centres, spread, weight = (
            (res_centres, res_spread, res_weight) if kind == RESIDENTIAL else (off_centres, off_spread, off_weight)
        )
        c = rng.choice(len(centres), p=weight / weight.sum())
        point = centres[c] + rng.normal(0.0, spread[c], 2)
        # Keep inside the service area: pull back along the ray from the hub if needed.
        dist = float(np.hypot(*point))
        limit = place.radius_km
        xy[k] = point if dist <= limit else point * (limit / dist)
    lat = place.hub_lat + xy[:, 1] / KM_PER_DEG_LAT
    lon = place.hub_lon + xy[:, 0] / (KM_PER_DEG_LAT * math.cos(math.radians(place.hub_lat)))
    return lat, lon, [int(k) for k in kinds]


def _ring(rng: np.random.Generator, n: int, inner_km: float, outer_km: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    """`n` points uniform by area in the ring between the two radii, as (east, north) km."""
    radius = np.sqrt(rng.uniform(inner_km**2, outer_km**2, n))
    angle = rng.uniform(0.0, 2 * math.pi, n)
    return np.column_stack((radius * np.cos(angle), radius * np.sin(angle)))


def _slot_starts(
    rng: np.random.Generator, kinds: list[int], two_slot_share: float, open_hours: tuple[int, ...]
) -> list[tuple[int, ...]]:
    """Booked slot start hours per stop, among `open_hours`: one slot, or two at least an hour apart."""
    tables = {RESIDENTIAL: RESIDENTIAL_SLOTS, OFFICE: OFFICE_SLOTS, BACKGROUND: BACKGROUND_SLOTS}
    probs = {}
    for kind, table in tables.items():
        # A tiny floor keeps every open hour possible, even one a table leaves empty.
        weights = np.array([table[h - FIRST_SLOT_HOUR] + 1e-3 for h in open_hours])
        probs[kind] = weights / weights.sum()
    slots: list[tuple[int, ...]] = []
    for kind in kinds:
        p = probs[kind]
        first = int(rng.choice(open_hours, p=p))
        # The other slot must not touch this one: it starts at least SLOT_HOURS + 1 hours away.
        options = [k for k, h in enumerate(open_hours) if abs(h - first) >= SLOT_HOURS + 1]
        if options and rng.random() < two_slot_share:
            weights = p[options]
            second = open_hours[int(rng.choice(options, p=weights / weights.sum()))]
            slots.append(tuple(sorted((first, second))))
        else:
            slots.append((first,))
    return slots


def _window(date: str, place: City, start_hour: int) -> dict[str, str]:
    return {
        "start": _at(date, place, f"{start_hour:02d}:00"),
        "end": _at(date, place, f"{start_hour + SLOT_HOURS:02d}:00"),
    }


def _demand(rng: np.random.Generator) -> dict[str, float | int]:
    weight = float(np.clip(rng.lognormal(math.log(1.8), 0.9), 0.2, 15.0))
    return {"weight_kg": round(weight, 1), "parcels": int(rng.choice((1, 2, 3), p=(0.6, 0.28, 0.12)))}


def _customer(rng: np.random.Generator) -> dict[str, str]:
    name = f"{SURNAMES[int(rng.integers(len(SURNAMES)))]} {GIVEN_NAMES[int(rng.integers(len(GIVEN_NAMES)))]}"
    return {"name": name, "phone": f"+86138{int(rng.integers(0, 100_000_000)):08d}"}


# --- couriers --------------------------------------------------------------------------


def _shift_plan(n: int) -> list[tuple[int, int]]:
    """Each courier's shift (start hour, end hour): early shifts first, in proportion to demand.

    Stops booked before 10:00 lean on the early shift and those from 16:00 on the late one;
    the rest either shift serves, so they count half to each. The share is the expectation
    under the booking tables, so it does not depend on the draw. Two or more couriers get at
    least one of each shift.
    """
    tables = (RESIDENTIAL_SLOTS, OFFICE_SLOTS, BACKGROUND_SLOTS)
    early = 0.0
    for share, table in zip(KIND_SHARES, tables):
        lean = [1.0 if h < 10 else 0.0 if h >= 16 else 0.5 for h in SLOT_STARTS]
        early += share * float(np.dot(lean, table)) / sum(table)
    n_early = min(max(round(n * early), 1), max(n - 1, 1))
    return [SHIFTS[0] if k < n_early else SHIFTS[1] for k in range(n)]


def _couriers(
    rng: np.random.Generator, place: City, date: str, shifts: list[tuple[int, int]], vans: float
) -> list[dict[str, Any]]:
    """E-bikes and vans on the given shifts; vans are spread evenly over the list."""
    n = len(shifts)
    n_vans = round(n * vans)
    van_slots = set(np.linspace(0, n - 1, n_vans).round().astype(int).tolist()) if n_vans else set()
    width = max(2, len(str(n)))
    earliest, latest, minutes = LUNCH
    result = []
    for k, (start_hour, end_hour) in enumerate(shifts):
        vehicle = VAN if k in van_slots else EBIKE
        result.append(
            {
                "id": f"c{k + 1:0{width}d}",
                "depot": "hub",
                "shift_start": _at(date, place, f"{start_hour:02d}:00"),
                "shift_end": _at(date, place, f"{end_hour:02d}:00"),
                "capacity": {
                    "weight_kg": int(rng.choice(vehicle.weight_kg)),
                    "parcels": int(rng.choice(vehicle.parcels)),
                },
                "speed_kmh": vehicle.speed_kmh,
                "profile": vehicle.profile,
                "breaks": [
                    {
                        "earliest_start": _at(date, place, earliest),
                        "latest_start": _at(date, place, latest),
                        "duration_min": minutes,
                    }
                ],
            }
        )
    return result


def _at(date: str, place: City, hhmm: str) -> str:
    return f"{date}T{hhmm}:00{place.utc_offset}"


def _check_date(date: str) -> None:
    try:
        datetime.date.fromisoformat(date)
    except ValueError:
        raise ValueError(f"date must be YYYY-MM-DD, got {date!r}") from None
    if len(date) != 10:
        raise ValueError(f"date must be YYYY-MM-DD, got {date!r}")
