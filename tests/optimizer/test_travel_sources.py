"""Travel sources: great-circle against the WGS84 geodesic, a hand-built road graph, the
planar source's rounding, and the matrix's own checks."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.travel.euclidean import EuclideanSource
from optimizer.travel.graph import UNREACHABLE_M, GraphSource, load_graph
from optimizer.travel.haversine import HaversineSource, great_circle_m
from optimizer.travel.matrix import TravelMatrix

DAY = (TimeWindow(0, 86_400),)


def problem_at(places: list[Location], speed_mps: float = 5.0) -> Problem:
    """The first place is the depot, the others are stops s1, s2, ..."""
    return Problem(
        "travel",
        (Depot("hub", places[0]),),
        (Courier("ana", "hub", 0, 86_400, speed_mps=speed_mps),),
        tuple(Stop(f"s{i}", place, DAY) for i, place in enumerate(places[1:], start=1)),
    )


# -- great circle -------------------------------------------------------------------------


@st.composite
def city_points(draw: st.DrawFn) -> list[Location]:
    """Up to 6 points within about 30 km of a centre anywhere people live (|lat| <= 70)."""
    lat = draw(st.floats(-70, 70))
    lon = draw(st.floats(-179.5, 179.5))
    offsets = st.tuples(st.floats(-0.25, 0.25), st.floats(-0.25, 0.25))
    return [Location(lat + dlat, lon + dlon) for dlat, dlon in draw(st.lists(offsets, min_size=2, max_size=6))]


@settings(max_examples=40, deadline=None)
@given(points=city_points())
def test_vectorised_great_circle_is_within_half_a_percent_of_the_geodesic(points: list[Location]) -> None:
    distances = great_circle_m(points)
    assert distances.shape == (len(points), len(points))
    assert np.allclose(distances, distances.T)
    assert (np.diag(distances) == 0).all()
    for i, a in enumerate(points):
        for j, b in enumerate(points[:i]):
            exact = geodesic((a.lat, a.lon), (b.lat, b.lon)).meters
            if exact > 1.0:
                assert abs(distances[i, j] - exact) <= 0.005 * exact, (a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param((0.0, 30.0), (0.1, 30.0), id="north-south-at-the-equator"),
        pytest.param((1.29, 103.85), (1.39, 103.85), id="singapore-north-south"),
        pytest.param((69.65, 18.96), (69.65, 19.06), id="tromso-east-west"),
        pytest.param((-33.9, 151.2), (-33.8, 151.3), id="sydney-diagonal"),
    ],
)
def test_great_circle_stays_within_half_a_percent_where_a_mean_radius_sphere_does_not(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    """A sphere of the mean radius is 0.56% long north-south at the equator."""
    exact = geodesic(a, b).meters
    assert great_circle_m([Location(*a), Location(*b)])[0, 1] == pytest.approx(exact, rel=0.005)


def test_great_circle_across_the_antimeridian_is_short() -> None:
    east, west = Location(0.0, 179.999), Location(0.0, -179.999)
    assert great_circle_m([east, west])[0, 1] == pytest.approx(geodesic((0, 179.999), (0, -179.999)).meters, rel=1e-3)


def test_haversine_source_scales_by_the_detour_factor_and_rounds_durations_up() -> None:
    places = [Location(52.52, 13.40), Location(52.53, 13.41), Location(52.50, 13.45)]
    problem = problem_at(places, speed_mps=4.0)
    matrix = HaversineSource(detour_factor=1.5).matrix(problem)
    road = great_circle_m(places) * 1.5
    assert (matrix.distances_m == np.rint(road)).all()
    assert (matrix.durations("default") == np.ceil(road / 4.0)).all()
    assert (matrix.durations("default") * 4.0 >= road).all()


def test_haversine_source_rejects_a_detour_factor_below_one() -> None:
    with pytest.raises(ValueError, match="detour factor"):
        HaversineSource(detour_factor=0.9)


# -- road graph -----------------------------------------------------------------------------

# Four junctions about a kilometre apart and an island. Lengths are given, not geometric:
# A-B 100, B-C 100, A-C 250 (so A to C is 200 via B), C-D 50; E is connected to nothing.
JUNCTIONS = {"A": (52.500, 13.400), "B": (52.510, 13.400), "C": (52.520, 13.400), "D": (52.520, 13.420)}
ISLAND = {"E": (52.400, 13.600)}
ROADS = [("A", "B", 100.0), ("B", "C", 100.0), ("A", "C", 250.0), ("C", "D", 50.0)]


def road_graph() -> nx.Graph:
    graph = nx.Graph()
    for node, (lat, lon) in {**JUNCTIONS, **ISLAND}.items():
        graph.add_node(node, lat=lat, lon=lon)
    for u, v, length in ROADS:
        graph.add_edge(u, v, length_m=length)
    return graph


def write_graph(tmp_path: Path, suffix: str) -> Path:
    path = tmp_path / f"roads{suffix}"
    if suffix == ".graphml":
        nx.write_graphml(road_graph(), path)
    else:
        path.write_text(json.dumps(nx.node_link_data(road_graph(), edges="edges")))
    return path


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
def test_graph_source_gives_hand_computed_shortest_paths(tmp_path: Path, suffix: str) -> None:
    source = GraphSource(load_graph(write_graph(tmp_path, suffix)))
    # Depot a few metres off A; stops at B, C, D and next to the island E.
    places = [Location(52.50003, 13.40002)] + [Location(*JUNCTIONS[n]) for n in "BCD"] + [Location(52.4001, 13.6)]
    matrix = source.matrix(problem_at(places, speed_mps=4.0))
    u = UNREACHABLE_M
    assert matrix.distances_m.tolist() == [
        [0, 100, 200, 250, u],
        [100, 0, 100, 150, u],
        [200, 100, 0, 50, u],
        [250, 150, 50, 0, u],
        [u, u, u, u, 0],
    ]
    assert matrix.durations("default")[0].tolist() == [0, 25, 50, 63, u // 4]  # 250 / 4 = 62.5 -> 63


def test_graph_source_snaps_each_location_to_its_nearest_junction() -> None:
    source = GraphSource(road_graph())
    snapped = source.nearest_nodes((Location(52.5049, 13.4), Location(52.5051, 13.4), Location(52.519, 13.419)))
    assert snapped == ["A", "B", "D"]


def test_two_locations_at_one_junction_are_zero_apart() -> None:
    source = GraphSource(road_graph())
    matrix = source.matrix(problem_at([Location(*JUNCTIONS["C"]), Location(52.5201, 13.4001), Location(52.5199, 13.4)]))
    assert matrix.distances_m.tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_graph_file_without_coordinates_or_lengths_is_rejected(tmp_path: Path) -> None:
    graph = road_graph()
    del graph.nodes["B"]["lat"]
    path = tmp_path / "no-lat.json"
    path.write_text(json.dumps(nx.node_link_data(graph, edges="edges")))
    with pytest.raises(ValueError, match="'B' has no lat/lon"):
        load_graph(path)
    graph = road_graph()
    del graph.edges["C", "D"]["length_m"]
    path = tmp_path / "no-length.graphml"
    nx.write_graphml(graph, path)
    with pytest.raises(ValueError, match="has no length_m"):
        load_graph(path)


# -- planar ---------------------------------------------------------------------------------


def planar(*points: tuple[float, float]) -> Problem:
    return problem_at([Location(y, x, planar=True) for x, y in points])


def test_euclidean_source_rounds_distances_to_nearest_and_durations_up() -> None:
    matrix = EuclideanSource(scale=1000).matrix(planar((0, 0), (1, 1), (3, 4)))
    # sqrt(2) = 1.41421..., 5 exactly, sqrt(13) = 3.60555...
    assert matrix.distances_m.tolist() == [[0, 1414, 5000], [1414, 0, 3606], [5000, 3606, 0]]
    assert matrix.durations("default").tolist() == [[0, 1415, 5000], [1415, 0, 3606], [5000, 3606, 0]]


def test_euclidean_durations_never_undercut_the_exact_distance() -> None:
    points = [(0.0, 0.0), (0.2, 0.0), (2.5, 0.0), (10.0, 7.3)]
    matrix = EuclideanSource(scale=1).matrix(planar(*points))
    assert matrix.durations("default")[0].tolist() == [0, 1, 3, 13]  # 0.2, 2.5, 12.38 rounded up
    assert matrix.distances_m[0].tolist() == [0, 0, 2, 12]  # nearest (2.5 rounds to even)


# -- the matrix -----------------------------------------------------------------------------


def test_travel_matrix_is_read_only_and_scaled_durations_round_up() -> None:
    durations = np.array([[0, 10], [7, 0]], dtype=np.int64)
    matrix = TravelMatrix(np.array([[0, 30], [30, 0]], dtype=np.int64), {"bike": durations})
    with pytest.raises(ValueError):
        matrix.durations("bike")[0, 1] = 1
    slower = matrix.scaled(1.25)
    assert slower.durations("bike").tolist() == [[0, 13], [9, 0]]  # 12.5 -> 13, 8.75 -> 9
    assert slower.distances_m is matrix.distances_m
    with pytest.raises(KeyError, match="no profile 'car'"):
        matrix.durations("car")


@pytest.mark.parametrize(
    ("distances", "durations", "message"),
    [
        (np.zeros((2, 3), dtype=np.int64), np.zeros((2, 3), dtype=np.int64), "square"),
        (np.zeros((2, 2), dtype=np.int64), np.zeros((3, 3), dtype=np.int64), "wrong shape"),
        (np.zeros((2, 2), dtype=np.float64), np.zeros((2, 2), dtype=np.int64), "int64"),
        (np.array([[0, -1], [1, 0]], dtype=np.int64), np.zeros((2, 2), dtype=np.int64), "negative"),
    ],
)
def test_travel_matrix_rejects_malformed_arrays(distances: np.ndarray, durations: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TravelMatrix(distances, {"default": durations})
