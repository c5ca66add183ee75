"""Road networks: reading OpenStreetMap extracts, one-way streets, snapping to edges, paths no
road joins, matrices against networkx's shortest paths, the cache, profiles and traffic.

Real maps are small pieces of the embedded extracts (`tests/maps.py`), opened in a fraction of
a second; hand-made maps pin down one rule each. Coordinates near 34 N: 0.001 deg of latitude
is 111 m, of longitude 92 m.
"""

from __future__ import annotations

import itertools
import math
import pickle
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow
from optimizer.params import SolveParams
from optimizer.plan import plan_day
from optimizer.travel.matrix import UNREACHABLE, TimeOfDaySource
from optimizer.travel.osm import CLASSES, parse_maxspeed, read_roads
from optimizer.travel.roads import LEX, SPLIT_M, RoadNetwork, RoadProfiles, RoadSource
from optimizer.travel.speed import SpeedProfile
from tests.maps import PORTO_CENTRE, XUZHOU_CENTRE, crop, embedded, write_map

LAT, LON = 34.0, 117.0
DAY = (TimeWindow(0, 86_400),)


def at(dlat: float, dlon: float) -> tuple[float, float]:
    return (LAT + dlat, LON + dlon)


def place(dlat: float, dlon: float) -> Location:
    return Location(*at(dlat, dlon))


def problem_at(places: list[Location], profile: str = "van", speed_mps: float = 5.0) -> Problem:
    """The first place is the depot, the others are stops s1, s2, ... (droppable, as on the wire)."""
    return Problem(
        "roads",
        (Depot("hub", places[0]),),
        (Courier("ana", "hub", 0, 86_400, profile=profile, speed_mps=speed_mps),),
        tuple(Stop(f"s{i}", p, DAY, penalty=10_000_000) for i, p in enumerate(places[1:], start=1)),
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("road-cache")


@pytest.fixture(scope="module")
def porto(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> RoadNetwork:
    path = crop(embedded("porto"), tmp_path_factory.mktemp("porto") / "porto-centre.osm.pbf", PORTO_CENTRE)
    return RoadNetwork.open(path, cache)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-way street 1 -> 2 -> 3 going east, and the way back 3 -> 4 -> 5 -> 1 around a block."""
    nodes = {1: at(0, 0), 2: at(0, 0.002), 3: at(0, 0.004), 4: at(0.002, 0.004), 5: at(0.002, 0)}
    ways = [
        (10, [1, 2, 3], {"highway": "residential", "oneway": "yes"}),
        (11, [3, 4, 5, 1], {"highway": "residential"}),
    ]
    return write_map(tmp_path_factory.mktemp("loop") / "loop.osm.pbf", nodes, ways)


# -- reading ------------------------------------------------------------------------------


def test_the_whole_xuzhou_region_reads_into_a_drivable_graph() -> None:
    """The region's counts (../shared/data/osm/README.md: 211,011 drivable segments) less the
    private and area ways, with its one-way streets."""
    graph = read_roads(embedded("xuzhou"))
    assert 195_000 <= graph.seg_a.size <= 211_011
    assert 170_000 <= graph.node_count <= 200_000
    one_way = int(((graph.seg_forward >= 0) ^ (graph.seg_backward >= 0)).sum())
    assert one_way > 10_000
    assert set(np.unique(graph.seg_class)) <= set(range(len(CLASSES)))
    assert np.isfinite(graph.seg_maxspeed_kmh).sum() > 1_000  # maxspeed is tagged on some ways
    assert (graph.seg_length_m >= 0).all() and graph.seg_length_m.max() < 20_000  # a few nodes share a place
    assert (graph.node_lat > 31).all() and (graph.node_lat < 35.5).all()  # WGS-84, around the tile


def test_a_piece_of_xuzhou_opens_with_every_arc_on_a_segment(tmp_path: Path) -> None:
    network = RoadNetwork.open(crop(embedded("xuzhou"), tmp_path / "x.osm.pbf", XUZHOU_CENTRE))
    graph = network.graph
    tail, head = graph.arcs()
    assert graph.node_count > 1_000 and tail.size >= graph.seg_a.size
    forward = graph.seg_forward >= 0
    assert (tail[graph.seg_forward[forward]] == graph.seg_a[forward]).all()
    assert (head[graph.seg_forward[forward]] == graph.seg_b[forward]).all()
    west, south, east, north = XUZHOU_CENTRE
    assert (graph.node_lon >= west).all() and (graph.node_lon <= east).all()
    assert (graph.node_lat >= south).all() and (graph.node_lat <= north).all()


@pytest.mark.parametrize(
    ("text", "kmh"),
    [("50", 50.0), ("30 mph", 48.28032), ("60 km/h", 60.0), ("PT:urban", 50.0), ("RU:rural", 90.0), ("signals", None)],
)
def test_maxspeed_values_read_as_km_per_hour(text: str, kmh: float | None) -> None:
    value = parse_maxspeed(text)
    assert (math.isnan(value) and kmh is None) or value == pytest.approx(kmh)


def test_tags_decide_direction_and_access(tmp_path: Path) -> None:
    nodes = {k: at(0, 0.001 * k) for k in range(1, 9)}
    ways = [
        (1, [1, 2], {"highway": "residential", "oneway": "-1"}),
        (2, [2, 3], {"highway": "primary", "junction": "roundabout"}),
        (3, [3, 4], {"highway": "motorway"}),
        (4, [4, 5], {"highway": "service", "access": "private"}),
        (5, [5, 6], {"highway": "footway"}),
        (6, [6, 7], {"highway": "tertiary", "oneway": "reversible"}),
        (7, [7, 8], {"highway": "residential", "access": "no", "motor_vehicle": "yes"}),
    ]
    graph = read_roads(write_map(tmp_path / "tags.osm.pbf", nodes, ways))
    kept = {(round(graph.node_lon[a] - LON, 3), round(graph.node_lon[b] - LON, 3)): s
            for s, (a, b) in enumerate(zip(graph.seg_a, graph.seg_b))}  # fmt: skip
    assert set(kept) == {(0.001, 0.002), (0.002, 0.003), (0.003, 0.004), (0.007, 0.008)}

    def ways_of(key: tuple[float, float]) -> tuple[bool, bool]:
        s = kept[key]
        return bool(graph.seg_forward[s] >= 0), bool(graph.seg_backward[s] >= 0)

    assert ways_of((0.001, 0.002)) == (False, True)  # oneway=-1: against the drawing direction
    assert ways_of((0.002, 0.003)) == (True, False)  # a roundabout is one-way
    assert ways_of((0.003, 0.004)) == (True, False)  # so is a motorway
    assert ways_of((0.007, 0.008)) == (True, True)  # motor vehicles allowed though access=no


# -- one-way streets and snapping ---------------------------------------------------------


def test_a_one_way_street_is_driven_one_way_only(loop: Path) -> None:
    source = RoadSource(RoadNetwork.open(loop))
    a, c = place(-0.0001, 0.001), place(-0.0001, 0.003)  # beside the one-way street, between nodes
    matrix = source.matrix(problem_at([a, c]))
    along = matrix.distances_m[0, 1]
    around = matrix.distances_m[1, 0]
    assert along == pytest.approx(0.002 * 92_500, rel=0.03)  # half of 1-2 and half of 2-3
    # back: on to node 3, round the block (222 + 370 + 222 m) and along to a
    assert around == pytest.approx(along / 2 + 222 + 370 + 222 + along / 2, rel=0.03)
    assert matrix.durations("van")[1, 0] > 3 * matrix.durations("van")[0, 1]


def test_a_location_snaps_to_the_nearest_edge_not_the_nearest_node(tmp_path: Path) -> None:
    """A kilometre-long street with a motorway beside it: a door by the street's middle is
    500 m from any node but 11 m from the street; the nearer motorway is no customer's road."""
    nodes = {1: at(0, 0), 2: at(0, 0.011), 3: at(0.0002, 0), 4: at(0.0002, 0.011)}
    ways = [(1, [1, 2], {"highway": "residential"}), (2, [3, 4], {"highway": "motorway"})]
    network = RoadNetwork.open(write_map(tmp_path / "long.osm.pbf", nodes, ways))
    (snap,) = network.snap([place(0.00012, 0.0055)])
    street = int(np.flatnonzero(network.graph.seg_class == CLASSES.index("residential"))[0])
    assert snap.segment == street
    assert snap.fraction == pytest.approx(0.5, abs=0.01)
    assert snap.off_road_m == pytest.approx(13.3, abs=1.0)
    assert snap.point[0] == pytest.approx(LAT, abs=1e-6)


def test_a_point_in_the_middle_of_a_two_way_street_leaves_either_way(tmp_path: Path) -> None:
    """Far (> SPLIT_M) from both ends, both ways out count: a stop 100 m west of the depot on the
    same street is 100 m away, not a U-turn at the far end."""
    nodes = {1: at(0, 0), 2: at(0, 0.01)}
    network = RoadNetwork.open(write_map(tmp_path / "street.osm.pbf", nodes, [(1, [1, 2], {"highway": "residential"})]))
    matrix = RoadSource(network).matrix(problem_at([place(0, 0.006), place(0, 0.005), place(0, 0.007)]))
    assert matrix.distances_m[0, 1] == pytest.approx(92.5, abs=2)
    assert matrix.distances_m[0, 2] == pytest.approx(92.5, abs=2)
    assert matrix.distances_m[1, 2] == pytest.approx(185, abs=3)


# -- paths no road joins ------------------------------------------------------------------


def test_a_stop_no_road_joins_to_the_depot_is_left_out_with_that_reason(tmp_path: Path) -> None:
    """An island of streets 1 km north of the depot's: the stop on it is unreachable, and the
    plan says so; a one-way dead end is reachable in but not out."""
    nodes = {1: at(0, 0), 2: at(0, 0.004), 3: at(0.01, 0), 4: at(0.01, 0.004), 5: at(-0.003, 0.002)}
    ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [3, 4], {"highway": "residential"}),
        (3, [2, 5], {"highway": "service", "oneway": "yes"}),
    ]
    source = RoadSource(RoadNetwork.open(write_map(tmp_path / "island.osm.pbf", nodes, ways)))
    problem = problem_at([place(0, 0.001), place(0, 0.003), place(0.01, 0.002), place(-0.0025, 0.0017)])
    matrix = source.matrix(problem)
    assert matrix.durations("van")[0, 2] == UNREACHABLE and matrix.distances_m[2, 0] == UNREACHABLE
    assert matrix.durations("van")[0, 3] < UNREACHABLE <= matrix.durations("van")[3, 0]
    plan = plan_day(problem, SolveParams(time_limit_s=5, iterations=200, seed=1), source)
    reasons = {u.stop_id: u.reason for u in plan.solution.unassigned}
    assert set(reasons) == {"s2", "s3"}
    assert "no road leads to or from it" in reasons["s2"]
    assert "no road leads back from it" in reasons["s3"]
    assert plan.solution.routes[0].stop_ids == ("s1",)


# -- matrices against networkx ------------------------------------------------------------


def points_in(box: tuple[float, float, float, float], count: int, seed: int) -> list[Location]:
    """`count` seeded random points inside `box` (west, south, east, north)."""
    rng = np.random.default_rng(seed)
    west, south, east, north = box
    return [Location(float(rng.uniform(south, north)), float(rng.uniform(west, east))) for _ in range(count)]


def _reference(network: RoadNetwork, profile: str) -> tuple[nx.DiGraph, np.ndarray, np.ndarray]:
    graph = network.graph
    times = network.arc_weights(profile, None, "time")
    digraph = nx.DiGraph()
    for s, (a, b) in enumerate(zip(graph.seg_a.tolist(), graph.seg_b.tolist())):
        for arc, u, v in ((graph.seg_forward[s], a, b), (graph.seg_backward[s], b, a)):
            if arc >= 0 and math.isfinite(times[s]):
                digraph.add_edge(u, v, time=times[s], length=graph.seg_length_m[s])
    return digraph, times, graph.seg_length_m


def test_matrix_equals_networkx_shortest_paths_on_a_sample_of_porto(porto: RoadNetwork) -> None:
    """Every pair of 25 random points: the CCH's fastest time equals Dijkstra's (networkx) over
    the same ways in and out of each point, and the distance is the length of that path."""
    locations = points_in(PORTO_CENTRE, 25, seed=5)
    source = RoadSource(porto)
    times, lex = source.weights(locations, "van", None)
    digraph, seg_times, seg_length = _reference(porto, "van")
    snaps = source.snaps(locations, "van")
    ends = [porto.ends(s) for s in snaps]
    from_exit = {x: nx.single_source_dijkstra(digraph, x, weight="time") for e in ends for x, _, _ in e.exits}
    checked = same = 0
    for i, out in enumerate(ends):
        for j, into in enumerate(ends):
            if i == j:
                continue
            best, length = math.inf, math.inf
            for x, sx, wx in out.exits:
                dist, paths = from_exit[x]
                for y, sy, wy in into.entries:
                    if y not in dist:
                        continue
                    total = wx * seg_times[sx] + dist[y] + wy * seg_times[sy]
                    if total < best:
                        nodes = paths[y]
                        metres = sum(digraph[u][v]["length"] for u, v in itertools.pairwise(nodes))
                        best, length = total, wx * seg_length[sx] + metres + wy * seg_length[sy]
            if snaps[i].segment == snaps[j].segment:
                continue  # along one segment: checked by the hand-made maps
            assert times[i, j] == pytest.approx(best, rel=1e-9, abs=1e-6), (i, j)
            if math.isfinite(best):
                # the length of a fastest path: networkx's, or a shorter one as fast
                metres = (lex[i, j] - LEX * times[i, j]) / 10
                assert metres <= length + 1.5, (i, j)
                same += metres >= length - 1.5
                checked += 1
    assert checked > 300 and same >= 0.9 * checked


def test_a_point_near_a_street_end_pays_at_most_a_short_u_turn(porto: RoadNetwork) -> None:
    """The one matrix entry per point near a segment's end (see `roads.SPLIT_M`) is never better
    than the exact answer (the point splitting its segment) and at most 2 x SPLIT_M worse."""
    locations = points_in(PORTO_CENTRE, 12, seed=9)
    source = RoadSource(porto)
    times, _ = source.weights(locations, "van", None)
    digraph, seg_times, _ = _reference(porto, "van")
    graph = porto.graph
    for k, snap in enumerate(source.snaps(locations, "van")):  # split each point's segment at the point
        a, b, s, f = int(graph.seg_a[snap.segment]), int(graph.seg_b[snap.segment]), snap.segment, snap.fraction
        point = ("p", k)
        if digraph.has_edge(a, b) and graph.seg_forward[s] >= 0:
            digraph.add_edge(a, point, time=f * seg_times[s])
            digraph.add_edge(point, b, time=(1 - f) * seg_times[s])
        if graph.seg_backward[s] >= 0:
            digraph.add_edge(b, point, time=(1 - f) * seg_times[s])
            digraph.add_edge(point, a, time=f * seg_times[s])
    slowest = max(seg_times[s] / graph.seg_length_m[s] for s in range(graph.seg_a.size) if math.isfinite(seg_times[s]))
    for i in range(len(locations)):
        exact = nx.single_source_dijkstra_path_length(digraph, ("p", i), weight="time")
        for j in range(len(locations)):
            if i != j and ("p", j) in exact:
                assert exact[("p", j)] - 1e-6 <= times[i, j] <= exact[("p", j)] + 2 * SPLIT_M * slowest + 1e-6


def test_the_matrix_remembers_what_it_computed_and_adds_only_new_positions(porto: RoadNetwork) -> None:
    *base, moved = points_in(PORTO_CENTRE, 31, seed=3)
    warm = RoadSource(porto)
    warm.matrix(problem_at(base))
    grown = warm.matrix(problem_at([*base, moved]))
    cold = RoadSource(porto).matrix(problem_at([*base, moved]))
    assert (grown.distances_m == cold.distances_m).all()
    assert (grown.durations("van") == cold.durations("van")).all()


# -- profiles, traffic, the cache ---------------------------------------------------------


def test_an_escooter_never_takes_the_motorway_and_a_named_profile_is_not_capped(tmp_path: Path) -> None:
    nodes = {1: at(0, 0), 2: at(0, 0.02), 3: at(0.002, 0), 4: at(0.002, 0.02), 5: at(0.01, 0.01)}
    ways = [
        (1, [1, 2], {"highway": "motorway", "oneway": "no"}),
        (2, [1, 3], {"highway": "residential"}),
        (3, [2, 4], {"highway": "residential"}),
        (4, [3, 5, 4], {"highway": "residential"}),
    ]
    source = RoadSource(RoadNetwork.open(write_map(tmp_path / "mw.osm.pbf", nodes, ways)))
    places = [place(0.002, 0), place(0.002, 0.02)]
    van = source.matrix(problem_at(places, "van"))
    scooter = source.matrix(problem_at(places, "courier-on-an-ebike", speed_mps=5.0))
    # The van takes the motorway (2 x 222 m of streets + 1.85 km), the scooter the long way round.
    assert van.distances_m[0, 1] == pytest.approx(222 * 2 + 1850, rel=0.03)
    assert scooter.durations("courier-on-an-ebike")[0, 1] * 5.0 >= 2_500  # round the long way at <= 18 km/h
    assert van.durations("van")[0, 1] < 0.5 * scooter.durations("courier-on-an-ebike")[0, 1]


def test_time_of_day_traffic_applies_on_top_of_road_times(porto: RoadNetwork) -> None:
    places = [Location(41.15, -8.61), Location(41.145, -8.6), Location(41.155, -8.62)]
    problem = problem_at(places)
    plain = RoadSource(porto).matrix(problem)
    rush = TimeOfDaySource(RoadSource(porto), SpeedProfile.constant(1.5)).matrix(problem)
    assert (rush.distances_m == plain.distances_m).all()
    assert rush.free_flow_s is not None and (rush.free_flow_s["van"] == plain.durations("van")).all()
    assert (
        rush.durations("van")[~np.eye(3, dtype=bool)] >= 1.49 * plain.durations("van")[~np.eye(3, dtype=bool)]
    ).all()


def test_a_road_source_crosses_process_boundaries(porto: RoadNetwork) -> None:
    """Pickled (a process pool, Ray), a source opens its map again from the cache."""
    problem = problem_at([Location(41.15, -8.61), Location(41.145, -8.6)])
    copy = pickle.loads(pickle.dumps(RoadSource(porto)))
    assert (copy.matrix(problem).distances_m == RoadSource(porto).matrix(problem).distances_m).all()


def test_the_cache_is_keyed_by_the_file_and_follows_its_changes(
    loop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    path = tmp_path / "map.osm.pbf"
    path.write_bytes(loop.read_bytes())
    first = RoadNetwork.open(path, cache)
    assert first.graph.node_count == 5 and len(list(cache.iterdir())) == 1
    import optimizer.travel.roads as roads

    roads._OPEN.clear()

    def no_parse(*_: object) -> None:
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(roads, "read_roads", no_parse)
    again = RoadNetwork.open(path, cache)  # from the cache: no parsing
    assert again.graph.node_count == 5
    monkeypatch.undo()
    nodes = {1: at(0, 0), 2: at(0, 0.002), 3: at(0.001, 0.003)}
    write_map(path, nodes, [(1, [1, 2, 3], {"highway": "residential"})])  # the file changes
    changed = RoadNetwork.open(path, cache)
    assert changed.graph.node_count == 3 and len(list(cache.iterdir())) == 2


def test_a_speed_table_names_its_errors(tmp_path: Path) -> None:
    table = tmp_path / "speeds.toml"
    table.write_text('default = "bike"\n[profiles.bike]\nmax_kmh = 20\n[profiles.bike.kmh]\nresidential = 15\n')
    with pytest.raises(ValueError, match="road profile 'bike': no speed for"):
        RoadProfiles.load(table)
    shipped = RoadProfiles.load()
    assert shipped.default == "escooter" and {"escooter", "van", "car"} <= set(shipped.profiles)
    assert shipped.metric_for("van", 5.0) == ("van", None)
    assert shipped.metric_for("18kmh", 5.0) == ("escooter", 18.0)


def test_each_profile_snaps_to_the_roads_it_can_reach(tmp_path: Path) -> None:
    """Street B is joined to street A only by motorways: a van reaches it, an e-scooter cannot.
    A door 33 m from B and 78 m from A meets B for the van and A for the scooter, so the
    scooter can serve it (found by the roads benchmark: 28 of 300 Xuzhou stops stranded)."""
    nodes = {1: at(0, 0), 2: at(0, 0.01), 3: at(0.001, 0.01), 4: at(0.001, 0)}
    ways = [
        (1, [1, 2], {"highway": "residential"}),
        (2, [2, 3], {"highway": "motorway"}),
        (3, [3, 4], {"highway": "residential"}),
        (4, [4, 1], {"highway": "motorway"}),
    ]
    source = RoadSource(RoadNetwork.open(write_map(tmp_path / "b.osm.pbf", nodes, ways)))
    door = place(0.0007, 0.005)
    (by_van,) = source.snaps([door], "van")
    (by_scooter,) = source.snaps([door], "escooter")
    assert by_van.off_road_m == pytest.approx(33, abs=2) and by_scooter.off_road_m == pytest.approx(78, abs=2)
    problem = problem_at([place(0, 0.002), door], profile="ebike", speed_mps=5.0)
    assert source.matrix(problem).durations("ebike").max() < UNREACHABLE
