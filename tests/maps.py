"""Small real road maps for tests: a piece of an embedded OpenStreetMap extract, written as its
own `.osm.pbf` (ODbL, © OpenStreetMap contributors), and tiny hand-made maps.

`crop(src, dst, bbox)` keeps the ways with a `highway` tag that lie wholly inside the box and
their nodes, so a test opens a map of a few thousand nodes in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import pytest

from optimizer.travel.roads import RoadSource
from scenarios.data import data_dir
from scenarios.generate import generate_day
from scenarios.maps import EMBEDDED, on_streets

XUZHOU_CENTRE = (117.17, 34.245, 117.21, 34.275)
"""west, south, east, north: central Xuzhou (Quanshan and Gulou districts), ~3.7 x 3.3 km."""
PORTO_CENTRE = (-8.625, 41.14, -8.595, 41.16)
"""Central Porto (Baixa, Bolhão), ~2.5 x 2.2 km."""


def embedded(name: str) -> Path:
    """An embedded map's file; the test fails (it is shared data, never optional) if missing."""
    path = data_dir() / "osm" / EMBEDDED[name]
    if not path.is_file():
        pytest.fail(f"embedded map {name} missing at {path}: set ONTIME_DATA_DIR")
    return path


def crop(src: Path, dst: Path, bbox: tuple[float, float, float, float]) -> Path:
    """Write the highways of `src` wholly inside `bbox` (with their nodes) to `dst`."""
    west, south, east, north = bbox
    keep_ways: set[int] = set()
    keep_nodes: set[int] = set()
    for way in osmium.FileProcessor(str(src)).with_locations().with_filter(osmium.filter.KeyFilter("highway")):
        if not isinstance(way, osmium.osm.Way):
            continue
        points = [(n.ref, n.location) for n in way.nodes]
        if all(loc.valid() and west <= loc.lon <= east and south <= loc.lat <= north for _, loc in points):
            keep_ways.add(way.id)
            keep_nodes.update(ref for ref, _ in points)
    with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(src), osmium.osm.NODE | osmium.osm.WAY):
            if isinstance(obj, osmium.osm.Node) and obj.id in keep_nodes:
                writer.add_node(obj)
            elif isinstance(obj, osmium.osm.Way) and obj.id in keep_ways:
                writer.add_way(obj)
    return dst


def write_map(
    dst: Path,
    nodes: Mapping[int, tuple[float, float]],
    ways: Iterable[tuple[int, list[int], dict[str, str]]],
) -> Path:
    """A hand-made map: nodes id -> (lat, lon), ways (id, node ids, tags)."""
    with osmium.SimpleWriter(str(dst), overwrite=True) as writer:
        for node_id, (lat, lon) in sorted(nodes.items()):
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(lon, lat), version=1))
        for way_id, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags, version=1))
    return dst


def day_in_box(
    source: RoadSource, bbox: tuple[float, float, float, float], stops: int, couriers: int, seed: int = 0
) -> dict[str, Any]:
    """A generated Porto day (wire format) moved into `bbox`: the hub at its centre, the stops
    spread over it, all on the map's streets, naming no map (the service's default is used)."""
    day = generate_day(stops, couriers, seed, city="porto")
    rng = np.random.default_rng(seed)
    west, south, east, north = bbox
    day["depots"][0] |= {"lat": (south + north) / 2, "lon": (west + east) / 2}
    for stop in day["stops"]:
        stop |= {"lat": float(rng.uniform(south, north)), "lon": float(rng.uniform(west, east))}
    return on_streets(day, source)
