"""Network distances on a road graph (networkx), loaded from a GraphML or JSON file.

Nodes carry `lat` and `lon`; edges carry `length_m` (metres). Each location snaps to its
nearest graph node (great-circle); the matrix holds shortest-path lengths between those
nodes. Pairs with no path get `unreachable_m`, so solvers avoid them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from optimizer.model import Location, Problem
from optimizer.travel.haversine import durations_from_distances, great_circle_m
from optimizer.travel.matrix import UNREACHABLE, TravelMatrix

UNREACHABLE_M = UNREACHABLE


def load_graph(path: Path) -> nx.Graph:
    """Read a road graph: `.graphml`, or node-link JSON as written by networkx."""
    if path.suffix == ".graphml":
        graph = nx.read_graphml(path)
    else:
        graph = nx.node_link_graph(json.loads(path.read_text()), edges="edges")
    for node, data in graph.nodes(data=True):
        if "lat" not in data or "lon" not in data:
            raise ValueError(f"graph node {node!r} has no lat/lon")
        data["lat"], data["lon"] = float(data["lat"]), float(data["lon"])
    for u, v, data in graph.edges(data=True):
        if "length_m" not in data:
            raise ValueError(f"graph edge {u!r}-{v!r} has no length_m")
        data["length_m"] = float(data["length_m"])
    return graph


@dataclass(frozen=True, slots=True)
class GraphSource:
    graph: nx.Graph = field(hash=False)

    def nearest_nodes(self, locations: tuple[Location, ...]) -> list[object]:
        nodes = list(self.graph.nodes)
        points = [Location(self.graph.nodes[n]["lat"], self.graph.nodes[n]["lon"]) for n in nodes]
        both = great_circle_m(list(locations) + points)[: len(locations), len(locations) :]
        return [nodes[int(i)] for i in both.argmin(axis=1)]

    def matrix(self, problem: Problem) -> TravelMatrix:
        snapped = self.nearest_nodes(problem.locations)
        n = len(snapped)
        road_m = np.full((n, n), float(UNREACHABLE_M))
        position: dict[object, list[int]] = {}
        for i, node in enumerate(snapped):
            position.setdefault(node, []).append(i)
        for node, rows in position.items():
            lengths = nx.single_source_dijkstra_path_length(self.graph, node, weight="length_m")
            for target, cols in position.items():
                if target in lengths:
                    for r in rows:
                        road_m[r, cols] = lengths[target]
        np.fill_diagonal(road_m, 0.0)
        return TravelMatrix(
            np.rint(road_m).astype(np.int64),
            {profile: durations_from_distances(road_m, speed) for profile, speed in problem.profile_speeds.items()},
        )
