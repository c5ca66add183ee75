"""The embedded road maps, and generated days moved onto their streets.

Two real OpenStreetMap extracts come with the shared data (`../shared/data/osm`, ODbL,
"© OpenStreetMap contributors"): a region of Anhui and Jiangsu around Xuzhou, Bengbu and
Huainan (`xuzhou`), and metropolitan Porto (`porto`). `map_file(name_or_path)` finds one by
name or takes a file; `on_streets(day, source)` moves a generated day's hub and stops onto the
nearest street of the map (a customer is at a door on a street, not in a field or a river).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from optimizer.model import Location
from optimizer.travel.roads import RoadSource
from scenarios.data import data_dir

ATTRIBUTION = "© OpenStreetMap contributors"
EMBEDDED = {
    "xuzhou": "china_anhui-xuzhou_tile7-105-51.osm.pbf",
    "porto": "porto_portugal.osm.pbf",
}
"""Embedded map name -> file in the data folder's `osm/`."""


def map_file(name_or_path: str | Path) -> Path:
    """An embedded map's file by name (`xuzhou`, `porto`), or the `.osm.pbf` file given."""
    text = str(name_or_path)
    if text in EMBEDDED:
        path = data_dir() / "osm" / EMBEDDED[text]
        if not path.is_file():
            raise FileNotFoundError(f"embedded map {text!r} not found at {path} (set ONTIME_DATA_DIR)")
        return path
    path = Path(text).expanduser()
    if not path.is_file():
        known = ", ".join(sorted(EMBEDDED))
        raise FileNotFoundError(f"road map {text!r} is neither a file nor an embedded map ({known})")
    return path


def map_name(name_or_path: str | Path) -> str:
    """The name a map goes by: an embedded map's own, else the file name without `.osm.pbf`."""
    text = str(name_or_path)
    if text in EMBEDDED:
        return text
    name = Path(text).name
    for suffix in (".osm.pbf", ".pbf"):
        name = name.removesuffix(suffix)
    return name


def on_streets(day: dict[str, Any], source: RoadSource) -> dict[str, Any]:
    """`day` (wire format) with every depot and stop moved to the nearest point of a street
    it may be served from (not a motorway), rounded to 6 decimals (about 0.1 m)."""
    moved = copy.deepcopy(day)
    places = [*moved["depots"], *moved["stops"]]
    snaps = source.snaps([Location(p["lat"], p["lon"]) for p in places])
    for place, snap in zip(places, snaps):
        place["lat"], place["lon"] = round(snap.point[0], 6), round(snap.point[1], 6)
    return moved
