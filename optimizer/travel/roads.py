"""Travel on an OpenStreetMap road network: snapped locations, fastest paths, whole matrices.

`RoadNetwork.open(path)` reads an `.osm.pbf` extract (`travel.osm`), orders it for a
customizable contraction hierarchy (RoutingKit's CCH through `pyroutingkit`) and keeps both
on disk, keyed by the file's SHA-256, so a second start loads them in a fraction of a second.
Each vehicle profile (`RoadProfiles`, from `road_speeds.toml`) is a metric customized onto the
same hierarchy in milliseconds.

A location snaps to the nearest edge (segment) of a road a customer can be on, not to the
nearest node, preferring the main strongly connected part of the roads the vehicle profile
drives (an e-scooter's has no motorways) unless a stray piece is much nearer: so a location
may meet the roads at different points for different profiles. A point on a one-way segment
leaves by its head and is entered from its tail; a point on a two-way segment more than
`SPLIT_M` from both ends may leave and be entered either way; one nearer an end uses that end,
which may add a U-turn of at most 2 x `SPLIT_M` (the price of one matrix entry per location
instead of four: see the roads benchmark).

Matrices come from one many-to-many CCH search per metric: fastest times per profile, and for
distances a metric `LEX * time_ms + length_dm` whose minimum, less `LEX` x the fastest time,
is the length of the fastest path (ties in time broken by the shorter). Pairs with no path get
`UNREACHABLE`. `RoadSource` keeps the location-to-location matrices it has computed, so the
live day's re-times pay only for new positions.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import threading
import tomllib
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyroutingkit
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from optimizer.model import Location, Problem
from optimizer.travel.matrix import UNREACHABLE, TravelMatrix
from optimizer.travel.osm import CLASSES, UNSNAPPABLE, RoadGraph, read_roads

FORMAT = 1
"""Bumped whenever what `read_roads` keeps or how it is ordered changes: old caches are ignored."""
SPLIT_M = 25.0
LEX = 16
SAMPLE_M = 30.0
PREFER_MAIN_M = 100.0
INF = int(pyroutingkit.INF_WEIGHT)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# -- profiles ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoadProfile:
    """How fast one kind of vehicle drives each road class (km/h), and where it may not."""

    name: str
    kmh: dict[str, float]
    max_kmh: float
    maxspeed_factor: float = 0.8
    forbidden: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = (set(self.kmh) | self.forbidden) - set(CLASSES)
        if unknown:
            raise ValueError(f"road profile {self.name!r}: unknown road classes {sorted(unknown)}")
        missing = set(CLASSES) - set(self.kmh) - self.forbidden
        if missing:
            raise ValueError(f"road profile {self.name!r}: no speed for {sorted(missing)}")
        if not all(0 < v <= 200 for v in self.kmh.values()) or not 0 < self.max_kmh <= 200:
            raise ValueError(f"road profile {self.name!r}: speeds must be in (0, 200] km/h")
        if not 0 < self.maxspeed_factor <= 1.5:
            raise ValueError(f"road profile {self.name!r}: maxspeed_factor must be in (0, 1.5]")

    def segment_kmh(self, graph: RoadGraph, cap_kmh: float | None = None) -> FloatArray:
        """Speed on every segment (NaN where this profile may not drive)."""
        by_class = np.array([self.kmh.get(c, np.nan) for c in CLASSES])
        speed = by_class[graph.seg_class]
        tagged = ~np.isnan(graph.seg_maxspeed_kmh)
        speed[tagged] = np.fmin(speed[tagged], graph.seg_maxspeed_kmh[tagged] * self.maxspeed_factor)
        forbidden = np.isin(graph.seg_class, [CLASSES.index(c) for c in self.forbidden])
        speed = np.minimum(speed, min(self.max_kmh, cap_kmh or self.max_kmh))
        speed[forbidden] = np.nan
        kmh: FloatArray = np.maximum(speed, 1.0)
        return kmh


@dataclass(frozen=True, slots=True)
class RoadProfiles:
    """The profiles of a speed table, and which one couriers of other profiles ride."""

    profiles: dict[str, RoadProfile]
    default: str

    def __post_init__(self) -> None:
        if self.default not in self.profiles:
            raise ValueError(f"default road profile {self.default!r} is not in the table")

    @classmethod
    def load(cls, path: Path | None = None) -> RoadProfiles:
        """A speed table file (default: the one shipped, `road_speeds.toml`)."""
        if path is None:
            text = resources.files("optimizer.travel").joinpath("road_speeds.toml").read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
        profiles = {
            name: RoadProfile(
                name,
                {k: float(v) for k, v in body.get("kmh", {}).items()},
                float(body["max_kmh"]),
                float(body.get("maxspeed_factor", 0.8)),
                frozenset(body.get("forbidden", ())),
            )
            for name, body in data.get("profiles", {}).items()
        }
        return cls(profiles, str(data.get("default", next(iter(profiles), ""))))

    def metric_for(self, courier_profile: str, speed_mps: float) -> tuple[str, float | None]:
        """(road profile, speed cap in km/h) a courier rides: their own profile when the table
        names it, else the default capped at their speed."""
        if courier_profile in self.profiles:
            return courier_profile, None
        return self.default, round(speed_mps * 3.6, 3)


# -- snapping ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a location meets the road network: segment, fraction along it a->b, and the
    metres from the location to that point."""

    segment: int
    fraction: float
    off_road_m: float
    point: tuple[float, float]


@dataclass(frozen=True, slots=True)
class _Ends:
    """A snapped location's ways out (`exits`) and in (`entries`): node and arc, and the
    share of the arc driven between the node and the point."""

    exits: tuple[tuple[int, int, float], ...]
    entries: tuple[tuple[int, int, float], ...]


# -- the network ---------------------------------------------------------------------------


@dataclass(eq=False)
class RoadNetwork:
    """A road graph with its contraction hierarchy, ready for matrices and paths.

    Open with `RoadNetwork.open(path, cache_dir)`. Pickles as the map's path (a worker
    process opens it again, from the cache), so a `RoadSource` may cross process pools and Ray.
    """

    graph: RoadGraph
    source_path: Path
    sha256: str
    topology_dir: Path
    cache_dir: Path | None = None
    profiles: RoadProfiles = field(default_factory=RoadProfiles.load)
    _metrics: dict[tuple[str, float | None, str], Any] = field(default_factory=dict, repr=False)
    _weights: dict[tuple[str, float | None, str], FloatArray] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _snap_index: tuple[Any, IntArray, float] | None = field(default=None, repr=False)
    _main: dict[str | None, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False)
    _topology: Any = field(default=None, repr=False)

    # -- opening and caching --------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        cache_dir: Path | None = None,
        profiles: RoadProfiles | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> RoadNetwork:
        """The network of an `.osm.pbf` file: from `cache_dir` when it holds this file's
        graph (same bytes, same `FORMAT`, same `bbox`), else read, ordered and stored there."""
        path = Path(path).resolve()
        digest = file_sha256(path)
        key = hashlib.sha256(json.dumps([digest, FORMAT, bbox]).encode()).hexdigest()[:24]
        loaded = _OPEN.get((key, cache_dir))
        if loaded is not None and profiles is None:
            return loaded
        folder = (cache_dir / key) if cache_dir is not None else Path(tempfile.mkdtemp(prefix="ontime-roads-"))
        arrays_file = folder / "graph.npz"
        if arrays_file.is_file() and (folder / "topology" / "order").is_file():
            with np.load(arrays_file) as data:
                graph = RoadGraph.from_arrays(dict(data))
        else:
            graph = read_roads(path, bbox)
            if graph.node_count == 0:
                raise ValueError(f"road map {path.name} has no drivable road" + (" in the box" if bbox else ""))
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir))
            (partial / "topology").mkdir()
            arrays: dict[str, Any] = graph.to_arrays()
            np.savez(partial / "graph.npz", **arrays)
            tail, head = graph.arcs()
            cch = pyroutingkit.CCH()
            cch.build_topology(
                tail.astype(np.uint32),
                head.astype(np.uint32),
                graph.node_lat.astype(np.float32),
                graph.node_lon.astype(np.float32),
                graph.node_count,
            )
            cch.save_topology(str(partial / "topology"))
            if cache_dir is None:
                folder = partial
            else:
                try:
                    partial.rename(folder)  # atomic: another process may have won the race
                except OSError:
                    shutil.rmtree(partial, ignore_errors=True)
        network = cls(graph, path, digest, folder / "topology", cache_dir, profiles or RoadProfiles.load())
        if cache_dir is None:
            weakref.finalize(network, shutil.rmtree, folder, True)
        elif profiles is None:
            _OPEN[(key, cache_dir)] = network
        return network

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _reopen, (self.source_path, self.cache_dir, self.profiles)

    # -- metrics --------------------------------------------------------------------------

    def _metric(self, profile: str, cap_kmh: float | None, kind: str) -> Any:
        key = (profile, cap_kmh, kind)
        with self._lock:
            found = self._metrics.get(key)
            if found is not None:
                return found
            weight = np.minimum(self.arc_weights(profile, cap_kmh, kind), INF)
            if self._topology is None:
                self._topology = pyroutingkit.CCHTopology()
                self._topology.load(str(self.topology_dir))
            metric = pyroutingkit.CCHMetric(self._topology)  # every metric shares the one topology
            metric.customize(weight[self.graph.arc_segment].astype(np.uint32))
            self._metrics[key] = metric
            return metric

    @property
    def _length_dm(self) -> FloatArray:
        length: FloatArray = np.maximum(np.rint(self.graph.seg_length_m * 10), 1)
        return length

    def arc_weights(self, profile: str, cap_kmh: float | None, kind: str) -> FloatArray:
        """Each segment's weight under a metric (inf where the profile may not drive)."""
        key = (profile, cap_kmh, kind)
        with self._lock:
            found = self._weights.get(key)
            if found is None:
                kmh = self.profiles.profiles[profile].segment_kmh(self.graph, cap_kmh)
                seconds = self.graph.seg_length_m / (kmh / 3.6)
                time_ms = np.where(np.isnan(seconds), np.inf, np.maximum(np.ceil(np.nan_to_num(seconds) * 1000), 1))
                found = time_ms if kind == "time" else time_ms * LEX + self._length_dm
                found.setflags(write=False)
                self._weights[key] = found
            return found

    # -- snapping -------------------------------------------------------------------------

    def _index(self) -> tuple[Any, IntArray, float]:
        with self._lock:
            if self._snap_index is None:
                g = self.graph
                lat0 = float(np.radians(g.node_lat.mean()))
                snappable = ~np.isin(g.seg_class, [CLASSES.index(c) for c in UNSNAPPABLE])
                segs = np.flatnonzero(snappable)
                pieces = np.maximum(np.ceil(g.seg_length_m[segs] / SAMPLE_M), 1).astype(np.int64)
                owner = np.repeat(segs, pieces + 1)
                start = np.repeat(np.cumsum(pieces + 1) - (pieces + 1), pieces + 1)
                t = (np.arange(owner.size) - start) / np.repeat(pieces, pieces + 1)
                lat = g.node_lat[g.seg_a[owner]] * (1 - t) + g.node_lat[g.seg_b[owner]] * t
                lon = g.node_lon[g.seg_a[owner]] * (1 - t) + g.node_lon[g.seg_b[owner]] * t
                xy = _project(lat, lon, lat0)
                self._snap_index = (cKDTree(xy), owner, lat0)
            return self._snap_index

    def main_part(self, profile: str | None = None) -> npt.NDArray[np.bool_]:
        """Nodes in the largest strongly connected part of the roads `profile` may drive (None:
        of every road)."""
        with self._lock:
            found = self._main.get(profile)
            if found is None:
                tail, head = self.graph.arcs()
                if profile is not None:
                    drivable = np.isfinite(self.arc_weights(profile, None, "time"))[self.graph.arc_segment]
                    tail, head = tail[drivable], head[drivable]
                n = self.graph.node_count
                adjacency = coo_matrix((np.ones(tail.size), (tail, head)), shape=(n, n)).tocsr()
                _, labels = connected_components(adjacency, directed=True, connection="strong")
                found = self._main[profile] = labels == np.bincount(labels).argmax()
            return found

    def snap(self, locations: Sequence[Location], profile: str | None = None) -> list[Snap]:
        """The nearest customer-reachable segment of each location (see the module doc),
        preferring the connected part of the roads `profile` drives (None: of every road)."""
        if not locations:
            return []
        tree, owner, lat0 = self._index()
        g = self.graph
        main = self.main_part(profile)
        drivable = (
            np.isfinite(self.arc_weights(profile, None, "time")) if profile is not None else np.ones(g.seg_a.size, bool)
        )
        lat = np.array([loc.lat for loc in locations])
        lon = np.array([loc.lon for loc in locations])
        k = min(24, owner.size)
        _, near = tree.query(_project(lat, lon, lat0), k=k)
        near = np.asarray(near).reshape(len(locations), k)
        snaps = []
        for i, location in enumerate(locations):
            candidates = np.unique(owner[near[i]])
            # Exact point-to-segment distance in a plane tangent at the location.
            cos = math.cos(math.radians(location.lat))
            ax = (g.node_lon[g.seg_a[candidates]] - location.lon) * cos
            ay = g.node_lat[g.seg_a[candidates]] - location.lat
            bx = (g.node_lon[g.seg_b[candidates]] - location.lon) * cos
            by = g.node_lat[g.seg_b[candidates]] - location.lat
            dx, dy = bx - ax, by - ay
            span = dx * dx + dy * dy
            f = np.clip(np.divide(-(ax * dx + ay * dy), span, out=np.zeros_like(span), where=span > 0), 0.0, 1.0)
            px, py = ax + f * dx, ay + f * dy
            metres = np.hypot(px, py) * math.radians(1) * 6_371_008.8
            in_main = main[g.seg_a[candidates]] & main[g.seg_b[candidates]] & drivable[candidates]
            best = int(np.argmin(metres))
            if not in_main[best] and in_main.any():
                main_best = int(np.argmin(np.where(in_main, metres, np.inf)))
                if metres[main_best] <= metres[best] + PREFER_MAIN_M:
                    best = main_best
            seg = int(candidates[best])
            point = (location.lat + float(py[best]), location.lon + float(px[best]) / cos)
            snaps.append(Snap(seg, float(f[best]), float(metres[best]), point))
        return snaps

    def ends(self, snap: Snap) -> _Ends:
        """Ways out of and into a snapped point (see the module doc for `SPLIT_M`)."""
        g, s, f = self.graph, snap.segment, snap.fraction
        forward, backward = int(g.seg_forward[s]), int(g.seg_backward[s])
        a, b = int(g.seg_a[s]), int(g.seg_b[s])
        length = float(g.seg_length_m[s])
        exits: list[tuple[int, int, float]] = []
        entries: list[tuple[int, int, float]] = []
        both_ways = forward >= 0 and backward >= 0
        only_a = both_ways and f <= 0.5 and f * length <= SPLIT_M
        only_b = both_ways and f > 0.5 and (1 - f) * length <= SPLIT_M
        if forward >= 0:
            if not only_a:
                exits.append((b, s, 1 - f))
            if not only_b:
                entries.append((a, s, f))
        if backward >= 0:
            if not only_b:
                exits.append((a, s, f))
            if not only_a:
                entries.append((b, s, 1 - f))
        return _Ends(tuple(exits), tuple(entries))

    # -- matrices and paths ---------------------------------------------------------------

    def block(
        self, rows: Sequence[Snap], cols: Sequence[Snap], profile: str, cap: float | None, kind: str
    ) -> FloatArray:
        """Metric weights from every `rows` point to every `cols` point (inf: no path)."""
        out_ends = [self.ends(s) for s in rows]
        in_ends = [self.ends(s) for s in cols]
        weights = self.arc_weights(profile, cap, kind)
        g = self.graph
        forward_ok = g.seg_forward >= 0
        exit_nodes, exit_keys = _unique([e[0] for ends in out_ends for e in ends.exits])
        entry_nodes, entry_keys = _unique([e[0] for ends in in_ends for e in ends.entries])
        best = np.full((len(rows), len(cols)), np.inf)
        if exit_nodes.size and entry_nodes.size:
            cch = self._metric(profile, cap, kind)
            with self._lock:
                raw = cch.distances_many_to_many(exit_nodes.astype(np.uint32), entry_nodes.astype(np.uint32))
            between = np.where(raw >= INF, np.inf, raw.astype(np.float64))
            ex_idx, ex_off = _padded([[(exit_keys[n], _share(w, weights[s])) for n, s, w in e.exits] for e in out_ends])
            en_idx, en_off = _padded(
                [[(entry_keys[n], _share(w, weights[s])) for n, s, w in e.entries] for e in in_ends]
            )
            for k in range(ex_idx.shape[1]):
                for m in range(en_idx.shape[1]):
                    via = ex_off[:, k, None] + between[ex_idx[:, k, None], en_idx[None, :, m]] + en_off[None, :, m]
                    np.minimum(best, via, out=best)
        # Along one segment, no node between.
        col_of: dict[int, list[int]] = {}
        for j, s in enumerate(cols):
            col_of.setdefault(s.segment, []).append(j)
        for i, s in enumerate(rows):
            for j in col_of.get(s.segment, ()):
                ahead = cols[j].fraction - s.fraction
                if ahead >= 0 and forward_ok[s.segment]:
                    best[i, j] = min(best[i, j], _share(ahead, weights[s.segment]))
                if ahead <= 0 and g.seg_backward[s.segment] >= 0:
                    best[i, j] = min(best[i, j], _share(-ahead, weights[s.segment]))
        return best

    def path(self, a: Snap, b: Snap, profile: str, cap: float | None = None) -> list[tuple[float, float]]:
        """The fastest path from snapped point `a` to `b` as (lat, lon) points, or [] if none."""
        weights = self.arc_weights(profile, cap, "time")
        g = self.graph
        if a.segment == b.segment:
            ahead = b.fraction - a.fraction
            if (ahead >= 0 and g.seg_forward[a.segment] >= 0) or (ahead <= 0 and g.seg_backward[a.segment] >= 0):
                return [a.point, b.point]
        cch = self._metric(profile, cap, "time")
        found: tuple[float, list[int]] | None = None
        for x, sx, wx in self.ends(a).exits:
            for y, sy, wy in self.ends(b).entries:
                with self._lock:
                    weight, nodes, _arcs = cch.query(x, y)
                if weight >= INF:
                    continue
                total = _share(wx, weights[sx]) + weight + _share(wy, weights[sy])
                if found is None or total < found[0]:
                    found = (total, list(nodes) or [x])
        if found is None:
            return []
        coords = [(float(g.node_lat[n]), float(g.node_lon[n])) for n in found[1]]
        return [a.point, *coords, b.point]


_OPEN: dict[tuple[str, Path | None], RoadNetwork] = {}


def _reopen(path: Path, cache_dir: Path | None, profiles: RoadProfiles) -> RoadNetwork:
    return RoadNetwork.open(path, cache_dir, None if profiles == RoadProfiles.load() else profiles)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _project(lat: FloatArray, lon: FloatArray, lat0: float) -> FloatArray:
    """Equirectangular metres around latitude `lat0` (radians): good enough to find candidates."""
    xy: FloatArray = np.column_stack([np.radians(lon) * math.cos(lat0), np.radians(lat)]) * 6_371_008.8
    return xy


def _share(share: float, weight: float) -> float:
    """`share` of a segment's weight: inf where the segment may not be driven."""
    return float(share * weight) if math.isfinite(weight) else math.inf


def _unique(nodes: Iterable[int]) -> tuple[IntArray, dict[int, int]]:
    order = list(dict.fromkeys(nodes))
    return np.array(order, dtype=np.int64), {n: i for i, n in enumerate(order)}


def _padded(rows: list[list[tuple[int, float]]]) -> tuple[IntArray, FloatArray]:
    """Per location up to two (index, offset) ends as arrays, missing ones at offset inf."""
    width = max((len(r) for r in rows), default=1) or 1
    idx = np.zeros((len(rows), width), dtype=np.int64)
    off = np.full((len(rows), width), np.inf)
    for i, r in enumerate(rows):
        for k, (j, w) in enumerate(r):
            idx[i, k], off[i, k] = j, w
    return idx, off


# -- the travel source ---------------------------------------------------------------------


@dataclass(eq=False)
class RoadSource:
    """Travel matrices on a road network (a `TravelSource`).

    Remembers the snapped points and the pairwise weights it has computed (up to
    `memory_locations` locations), so a re-time after a courier's position report computes
    only the rows and columns of the new position.
    """

    network: RoadNetwork
    memory_locations: int = 2500
    _snaps: dict[tuple[Location, str], Snap] = field(default_factory=dict, repr=False)
    _known: dict[tuple[str, float | None], tuple[dict[Location, int], FloatArray, FloatArray]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return RoadSource, (self.network, self.memory_locations)

    def snaps(self, locations: Sequence[Location], profile: str | None = None) -> list[Snap]:
        """Where each location meets the roads of `profile` (default: the table's default)."""
        profile = profile or self.network.profiles.default
        missing = [loc for loc in dict.fromkeys(locations) if (loc, profile) not in self._snaps]
        if missing:
            self._snaps.update(((loc, profile), s) for loc, s in zip(missing, self.network.snap(missing, profile)))
        return [self._snaps[(loc, profile)] for loc in locations]

    def weights(self, locations: Sequence[Location], profile: str, cap: float | None) -> tuple[FloatArray, FloatArray]:
        """(time ms, lexicographic time-and-length) between `locations`, from memory where known."""
        with self._lock:
            key = (profile, cap)
            index, times, lex = self._known.get(key, ({}, np.zeros((0, 0)), np.zeros((0, 0))))
            new = [loc for loc in dict.fromkeys(locations) if loc not in index]
            if len(index) + len(new) > self.memory_locations:
                index, times, lex = {}, np.zeros((0, 0)), np.zeros((0, 0))
                new = list(dict.fromkeys(locations))
                if len(new) > self.memory_locations:  # too big to keep: computed, not remembered
                    snaps = self.snaps(new, profile)
                    at = {loc: i for i, loc in enumerate(new)}
                    rows = np.array([at[loc] for loc in locations], dtype=np.int64)
                    both = [
                        self.network.block(snaps, snaps, profile, cap, kind)[np.ix_(rows, rows)]
                        for kind in ("time", "lex")
                    ]
                    return both[0], both[1]
            if new:
                old = list(index)
                all_locs = old + new
                old_snaps, new_snaps = self.snaps(old, profile), self.snaps(new, profile)
                all_snaps = old_snaps + new_snaps
                grown = []
                for kind, known in (("time", times), ("lex", lex)):
                    full = np.empty((len(all_locs), len(all_locs)))
                    full[: len(old), : len(old)] = known
                    full[len(old) :, :] = self.network.block(new_snaps, all_snaps, profile, cap, kind)
                    full[: len(old), len(old) :] = self.network.block(old_snaps, new_snaps, profile, cap, kind)
                    grown.append(full)
                times, lex = grown
                index = {loc: i for i, loc in enumerate(all_locs)}
                self._known[key] = (index, times, lex)
            rows = np.array([index[loc] for loc in locations], dtype=np.int64)
            return times[np.ix_(rows, rows)], lex[np.ix_(rows, rows)]

    def matrix(self, problem: Problem) -> TravelMatrix:
        """Distances along the fastest paths (the first profile's) and each profile's durations."""
        locations = problem.locations
        couriers = {c.profile: self.network.profiles.metric_for(c.profile, c.speed_mps) for c in problem.couriers}
        durations: dict[str, npt.NDArray[np.int64]] = {}
        distances: npt.NDArray[np.int64] | None = None
        for name, (profile, cap) in (couriers or {"": (self.network.profiles.default, None)}).items():
            times, lex = self.weights(locations, profile, cap)
            unreachable = ~np.isfinite(times) | ~np.isfinite(lex)
            times, lex = np.where(unreachable, 0.0, times), np.where(unreachable, 0.0, lex)
            if name:
                seconds = np.ceil(times / 1000).astype(np.int64)
                seconds[unreachable] = UNREACHABLE
                np.fill_diagonal(seconds, 0)
                durations[name] = seconds
            if distances is None:
                distances = np.maximum(np.rint((lex - LEX * times) / 10), 0).astype(np.int64)
                distances[unreachable] = UNREACHABLE
                np.fill_diagonal(distances, 0)
        assert distances is not None
        return TravelMatrix(distances, durations)

    def path(self, a: Location, b: Location, courier_profile: str, speed_mps: float) -> list[tuple[float, float]]:
        """The fastest path between two locations for a courier's profile, as (lat, lon)."""
        profile, cap = self.network.profiles.metric_for(courier_profile, speed_mps)
        sa, sb = self.snaps([a, b], profile)
        return self.network.path(sa, sb, profile, cap)
