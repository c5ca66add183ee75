"""The service's road maps: opened from the settings, named for problems, drawn for the console.

`ServiceMaps.from_settings(settings)` opens `ONTIME_ROAD_MAP` (the default) and every
`ONTIME_ROAD_MAPS` entry, each prepared once and cached on disk under `ONTIME_ROAD_CACHE`
keyed by the file's hash. `source` is the `MapSource` every plan is timed with; `path` draws a
leg along the streets a courier drives; `roads` lists a map's streets in a box, the console's
offline base layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from api.errors import ApiError
from api.settings import Settings
from optimizer.model import Location
from optimizer.travel.haversine import HaversineSource
from optimizer.travel.maps import STRAIGHT, MapSource
from optimizer.travel.osm import CLASSES
from optimizer.travel.roads import RoadNetwork, RoadProfiles, RoadSource
from scenarios.maps import ATTRIBUTION, map_file, map_name

log = logging.getLogger("ontime.roads")

ROAD_LIMIT = 40_000
"""Most road pieces one base-layer answer carries: minor classes are left out above it."""
DRAWN_CLASSES = CLASSES
"""Classes in order of importance for the base layer: the last ones are dropped first."""


@dataclass(frozen=True)
class MapInfo:
    name: str
    file: str
    nodes: int
    segments: int
    bbox: tuple[float, float, float, float]
    default: bool


@dataclass
class ServiceMaps:
    """The road maps a service knows, by name, and the travel source that uses them."""

    straight: HaversineSource
    networks: dict[str, RoadSource] = field(default_factory=dict)
    default: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceMaps:
        maps = cls(HaversineSource(settings.detour_factor))
        entries: list[tuple[str, str]] = []
        if settings.road_map:
            entries.append((map_name(settings.road_map), settings.road_map))
        for part in filter(None, (p.strip() for p in settings.road_maps.split(","))):
            name, _, path = part.partition("=")
            entries.append((name.strip(), path.strip()) if path else (map_name(part), part))
        for name, where in entries:
            if name == STRAIGHT:
                raise ValueError(f"a road map may not be called {STRAIGHT!r}")
            log.info("opening road map %s (%s)", name, where)
            maps.networks[name] = open_roads(where, settings)
        if settings.road_map:
            maps.default = map_name(settings.road_map)
        return maps

    @cached_property
    def source(self) -> MapSource:
        default = self.networks[self.default] if self.default else self.straight
        return MapSource(default, self.straight, dict(self.networks))

    def resolve(self, name: str | None) -> RoadSource | None:
        """The road source a problem's `road_map` names (None: straight lines); 422 if unknown."""
        try:
            found = self.source.source_for(name)
        except KeyError as exc:
            message = str(exc.args[0])
            raise ApiError(
                422, "invalid_input", f"road_map: {message}", [{"field": "road_map", "id": name, "message": message}]
            ) from None
        return found if isinstance(found, RoadSource) else None

    def infos(self) -> list[MapInfo]:
        out = []
        for name, source in self.networks.items():
            g = source.network.graph
            bbox = (float(g.node_lon.min()), float(g.node_lat.min()), float(g.node_lon.max()), float(g.node_lat.max()))
            out.append(
                MapInfo(
                    name,
                    Path(source.network.source_path).name,
                    g.node_count,
                    int(g.seg_a.size),
                    bbox,
                    name == self.default,
                )
            )
        return out


def open_roads(where: str, settings: Settings) -> RoadSource:
    """The road source of a map file or embedded map (`xuzhou`, `porto`), prepared once and
    then read from `ONTIME_ROAD_CACHE`, with `ONTIME_ROAD_SPEEDS` if set."""
    profiles = RoadProfiles.load(settings.road_speeds) if settings.road_speeds else None
    return RoadSource(RoadNetwork.open(map_file(where), settings.road_cache, profiles))


def leg_path(
    source: RoadSource | None, a: Location, b: Location, profile: str, speed_mps: float
) -> list[tuple[float, float]]:
    """The points a courier drives from `a` to `b`: along the streets on a road map (empty if
    no road joins them), the straight line otherwise."""
    if source is None:
        return [(a.lat, a.lon), (b.lat, b.lon)]
    points = source.path(a, b, profile, speed_mps)
    if not points:
        return []
    return [(a.lat, a.lon), *points, (b.lat, b.lon)]


def roads_in(
    source: RoadSource, bbox: tuple[float, float, float, float], limit: int = ROAD_LIMIT
) -> tuple[list[str], list[tuple[int, list[tuple[float, float]]]], int]:
    """A map's streets inside `bbox` (west, south, east, north) as polylines of one class each,
    at most `limit` pieces: minor classes are left out first. Returns (classes, lines, the
    least important class index kept)."""
    g = source.network.graph
    west, south, east, north = bbox
    a_in = (g.node_lon[g.seg_a] >= west) & (g.node_lon[g.seg_a] <= east)
    a_in &= (g.node_lat[g.seg_a] >= south) & (g.node_lat[g.seg_a] <= north)
    b_in = (g.node_lon[g.seg_b] >= west) & (g.node_lon[g.seg_b] <= east)
    b_in &= (g.node_lat[g.seg_b] >= south) & (g.node_lat[g.seg_b] <= north)
    inside = a_in | b_in
    keep_to = len(DRAWN_CLASSES) - 1
    counts = np.bincount(g.seg_class[inside], minlength=len(CLASSES))
    while keep_to > 0 and counts[: keep_to + 1].sum() > limit:
        keep_to -= 1
    chosen = np.flatnonzero(inside & (g.seg_class <= keep_to))
    lines: list[tuple[int, list[tuple[float, float]]]] = []
    last_b = -1
    for s in chosen.tolist():
        a, b, cls = int(g.seg_a[s]), int(g.seg_b[s]), int(g.seg_class[s])
        # Segments of one way come one after another: chain them into one polyline.
        if lines and a == last_b and lines[-1][0] == cls:
            lines[-1][1].append((round(float(g.node_lat[b]), 6), round(float(g.node_lon[b]), 6)))
        else:
            start = (round(float(g.node_lat[a]), 6), round(float(g.node_lon[a]), 6))
            lines.append((cls, [start, (round(float(g.node_lat[b]), 6), round(float(g.node_lon[b]), 6))]))
        last_b = b
    return list(CLASSES), lines, keep_to


__all__ = ["ATTRIBUTION", "MapInfo", "ServiceMaps", "leg_path", "open_roads", "roads_in"]
