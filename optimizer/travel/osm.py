"""A drivable road graph read from an OpenStreetMap `.osm.pbf` extract (with pyosmium).

`read_roads(path)` keeps the ways a courier's vehicle may drive (`highway` of a drivable class,
no `access=no|private`, no `motor_vehicle=no`, not an area) and splits them into node-to-node
segments. Each segment gets a directed arc per direction it may be driven in (`oneway`,
`oneway=-1`, roundabouts and motorways one-way by default). Arcs keep their length, road class
and tagged `maxspeed`; which vehicle goes how fast on them is `roads.RoadProfile`'s business.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import osmium

CLASSES = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "road",
)
"""Drivable `highway` values, in the order `RoadGraph.arc_class` indexes them."""

UNSNAPPABLE = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
"""Classes no customer or hub is on: a location snaps to the nearest edge of another class."""

_CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}
_NO_ACCESS = frozenset({"no", "private"})
_FORWARD = frozenset({"yes", "1", "true"})
_BACKWARD = frozenset({"-1", "reverse"})
_IMPLIED_KMH = {"walk": 7.0, "living_street": 10.0, "urban": 50.0, "rural": 90.0, "motorway": 120.0}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")

EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]
UIntArray = npt.NDArray[np.uint32]
IntArray = npt.NDArray[np.int64]


def parse_maxspeed(value: str | None) -> float:
    """km/h of an OSM `maxspeed` value (`50`, `30 mph`, `PT:urban`); NaN when not a limit."""
    if not value:
        return float("nan")
    if match := _NUMBER.match(value):
        kmh = float(match.group(1))
        return kmh * 1.609344 if match.group(2) == "mph" else kmh
    return _IMPLIED_KMH.get(value.rsplit(":", 1)[-1].strip().lower(), float("nan"))


def segment_lengths_m(lat: FloatArray, lon: FloatArray, a: IntArray, b: IntArray) -> FloatArray:
    """Great-circle metres between node pairs `a[i]`, `b[i]` (segments are short: a sphere will do)."""
    la, lb = np.radians(lat[a]), np.radians(lat[b])
    dlon = np.radians(lon[b] - lon[a])
    h = np.sin((lb - la) / 2) ** 2 + np.cos(la) * np.cos(lb) * np.sin(dlon / 2) ** 2
    lengths: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return lengths


@dataclass(frozen=True, slots=True, eq=False)
class RoadGraph:
    """Nodes, undirected segments and the directed arcs driven along them, as numpy arrays.

    Segment `s` joins nodes `seg_a[s]` and `seg_b[s]`; `seg_forward[s]` is the arc driven a->b
    and `seg_backward[s]` the arc b->a, each -1 where that direction is not allowed. Arc `k`
    runs `arc_tail[k]` -> `arc_head[k]` along segment `arc_segment[k]`.
    """

    node_lat: FloatArray
    node_lon: FloatArray
    seg_a: IntArray
    seg_b: IntArray
    seg_class: npt.NDArray[np.uint8]
    seg_maxspeed_kmh: FloatArray
    seg_length_m: FloatArray
    seg_forward: IntArray
    seg_backward: IntArray

    def __post_init__(self) -> None:
        n, s = self.node_lat.shape[0], self.seg_a.shape[0]
        if self.node_lon.shape != (n,):
            raise ValueError("node arrays differ in length")
        for name in ("seg_b", "seg_class", "seg_maxspeed_kmh", "seg_length_m", "seg_forward", "seg_backward"):
            if getattr(self, name).shape != (s,):
                raise ValueError(f"{name} differs in length from seg_a")
        if s and (min(self.seg_a.min(), self.seg_b.min()) < 0 or max(self.seg_a.max(), self.seg_b.max()) >= n):
            raise ValueError("a segment names a node the graph does not have")
        for array in (self.node_lat, self.node_lon, *(getattr(self, f) for f in self.__dataclass_fields__)):
            array.setflags(write=False)

    @property
    def node_count(self) -> int:
        return int(self.node_lat.shape[0])

    @property
    def arc_segment(self) -> IntArray:
        """Segment of each arc: forward arcs first, then backward, numbered as `arcs()` does."""
        forward = np.flatnonzero(self.seg_forward >= 0)
        backward = np.flatnonzero(self.seg_backward >= 0)
        order = np.empty(forward.size + backward.size, dtype=np.int64)
        order[self.seg_forward[forward]] = forward
        order[self.seg_backward[backward]] = backward
        return order

    def arcs(self) -> tuple[IntArray, IntArray]:
        """(tail, head) of every arc, indexed by arc number."""
        segment = self.arc_segment
        is_forward = self.seg_forward[segment] == np.arange(segment.size)
        tail = np.where(is_forward, self.seg_a[segment], self.seg_b[segment])
        head = np.where(is_forward, self.seg_b[segment], self.seg_a[segment])
        return tail, head

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[np.generic]]) -> RoadGraph:
        return cls(**{f: np.asarray(arrays[f]) for f in cls.__dataclass_fields__})


def _direction(tags: osmium.osm.TagList, highway: str) -> tuple[bool, bool]:
    """(forward, backward) allowed by the way's tags."""
    oneway = (tags.get("oneway") or "").strip().lower()
    if oneway in _FORWARD:
        return True, False
    if oneway in _BACKWARD:
        return False, True
    if oneway in {"reversible", "alternating"}:
        return False, False  # direction changes through the day: not planned on
    implied = highway in {"motorway", "motorway_link"} or tags.get("junction") in {"roundabout", "circular"}
    if oneway == "no":
        return True, True
    return True, not implied


def _drivable(tags: osmium.osm.TagList) -> str | None:
    highway = tags.get("highway")
    if highway not in _CLASS_INDEX or tags.get("area") == "yes":
        return None
    vehicle = tags.get("motor_vehicle") or tags.get("vehicle")
    if vehicle in _NO_ACCESS or (tags.get("access") in _NO_ACCESS and vehicle not in {"yes", "destination"}):
        return None
    return highway


def read_roads(path: Path, bbox: tuple[float, float, float, float] | None = None) -> RoadGraph:
    """The drivable graph of an `.osm.pbf` file; `bbox` (west, south, east, north) keeps the
    segments with both ends inside it (a city out of a region, for tests and demos)."""
    if not path.is_file():
        raise FileNotFoundError(f"road map {path} does not exist")
    index: dict[int, int] = {}
    lat: list[float] = []
    lon: list[float] = []
    seg_a: list[int] = []
    seg_b: list[int] = []
    seg_class: list[int] = []
    seg_speed: list[float] = []
    directions: list[tuple[bool, bool]] = []

    def node(ref: int, location: osmium.osm.Location) -> int:
        found = index.get(ref)
        if found is None:
            found = index[ref] = len(lat)
            lat.append(location.lat)
            lon.append(location.lon)
        return found

    def inside(location: osmium.osm.Location) -> bool:
        return bbox is None or (bbox[0] <= location.lon <= bbox[2] and bbox[1] <= location.lat <= bbox[3])

    ways = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for way in ways:
        if not isinstance(way, osmium.osm.Way):
            continue
        highway = _drivable(way.tags)
        if highway is None:
            continue
        forward, backward = _direction(way.tags, highway)
        if not (forward or backward):
            continue
        speed = parse_maxspeed(way.tags.get("maxspeed"))
        refs = [(n.ref, n.location) for n in way.nodes if n.location.valid()]
        for (ref_a, loc_a), (ref_b, loc_b) in itertools.pairwise(refs):
            if ref_a == ref_b or not (inside(loc_a) and inside(loc_b)):
                continue
            seg_a.append(node(ref_a, loc_a))
            seg_b.append(node(ref_b, loc_b))
            seg_class.append(_CLASS_INDEX[highway])
            seg_speed.append(speed)
            directions.append((forward, backward))
    return _graph(lat, lon, seg_a, seg_b, seg_class, seg_speed, directions)


def _graph(
    lat: list[float],
    lon: list[float],
    seg_a: list[int],
    seg_b: list[int],
    seg_class: list[int],
    seg_speed: list[float],
    directions: list[tuple[bool, bool]],
) -> RoadGraph:
    node_lat, node_lon = np.array(lat, dtype=np.float64), np.array(lon, dtype=np.float64)
    a, b = np.array(seg_a, dtype=np.int64), np.array(seg_b, dtype=np.int64)
    allowed = np.array(directions, dtype=bool).reshape(-1, 2)
    forward = np.full(a.size, -1, dtype=np.int64)
    backward = np.full(a.size, -1, dtype=np.int64)
    n_forward = int(allowed[:, 0].sum())
    forward[allowed[:, 0]] = np.arange(n_forward)
    backward[allowed[:, 1]] = n_forward + np.arange(int(allowed[:, 1].sum()))
    return RoadGraph(
        node_lat,
        node_lon,
        a,
        b,
        np.array(seg_class, dtype=np.uint8),
        np.array(seg_speed, dtype=np.float64),
        segment_lengths_m(node_lat, node_lon, a, b),
        forward,
        backward,
    )
