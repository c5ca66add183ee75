"""Classic instance files: a tiny hand-checked file, broken files naming the line, and the
distributed Solomon files with their best-known routes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from optimizer.errors import InstanceFormatError
from optimizer.instances import Instance, read_instance
from optimizer.schedule import schedule
from optimizer.solution import Route
from optimizer.travel.euclidean import EuclideanSource

# Line numbers matter below: the depot row is line 10, customers 1..3 are lines 11..13.
# Customer 1 sits 5 from the depot, customer 2 5 beyond it on the same ray (3-4-5 triangles),
# customer 3 5 below the depot.
TINY = [
    "TINY3",
    "",
    "VEHICLE",
    "NUMBER     CAPACITY",
    "  2         10",
    "",
    "CUSTOMER",
    "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME",
    " ",
    "    0      0          0          0          0        100          0",
    "    1      3          4          4          0         50          2",
    "    2      6          8          4          5         50          2",
    "    3      0         -5          5          0         20          1",
]


def write(tmp_path: Path, lines: list[str], name: str = "tiny.txt") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")  # CRLF, as distributed
    return path


def with_line(number: int, text: str | None) -> list[str]:
    """TINY with line `number` (1-based) replaced by `text`, or removed when None."""
    lines = list(TINY)
    if text is None:
        del lines[number - 1]
    else:
        lines[number - 1] = text
    return lines


@pytest.fixture
def tiny(tmp_path: Path) -> Instance:
    return read_instance(write(tmp_path, TINY))


def test_tiny_file_reads_fleet_depot_and_customers(tiny: Instance) -> None:
    assert (tiny.name, tiny.vehicles, tiny.capacity) == ("tiny3", 2, 10)
    assert (tiny.depot.number, tiny.depot.due) == (0, 100)
    assert [(c.number, c.x, c.y, c.demand, c.ready, c.due, c.service) for c in tiny.customers] == [
        (1, 3, 4, 4, 0, 50, 2),
        (2, 6, 8, 4, 5, 50, 2),
        (3, 0, -5, 5, 0, 20, 1),
    ]


def test_distance_sums_each_route_out_and_back(tiny: Instance) -> None:
    # [1, 2]: 5 + 5 + 10; [3]: 5 + 5.
    assert tiny.distance([[1, 2], [3]]) == pytest.approx(30.0)


def test_hand_feasible_routes_have_no_violations(tiny: Instance) -> None:
    # [1, 2]: start 5 at 1, leave 7, start 12 at 2, leave 14, back 24 <= 100; load 8.
    # [3]: start 5 <= 20, back 11.
    assert tiny.violations([[1, 2], [3]]) == []
    assert tiny.violations([[2, 1], [3]]) == []


def test_one_route_for_all_breaks_capacity_and_customer_3s_due_date(tiny: Instance) -> None:
    # 1 at 5, 2 at 12, then sqrt(205) = 14.32 more: 3 starts at 28.32 > due 20. Load 13 > 10.
    found = tiny.violations([[1, 2, 3]])
    assert "route 0 exceeds capacity" in found
    assert any(v.startswith("route 0: customer 3 starts at 28.3178 after due 20") for v in found)
    assert len(found) == 2


def test_missing_customers_and_too_many_routes_are_reported(tiny: Instance) -> None:
    assert tiny.violations([[1, 2]]) == ["customers missing [3], repeated [], unknown []"]
    assert any("routes for a fleet of 2" in v for v in tiny.violations([[1], [2], [3]]))


def test_to_problem_scales_times_by_1000_and_keeps_customer_numbers_as_stop_ids(tiny: Instance) -> None:
    problem = tiny.to_problem()
    assert [c.id for c in problem.couriers] == ["v1", "v2"]
    assert problem.couriers[0].shift_end_s == 100_000
    assert problem.couriers[0].capacity == (10,)
    stop = problem.stop_by_id("2")
    assert (stop.windows[0].start_s, stop.windows[0].end_s, stop.service_s, stop.demand) == (5000, 50_000, 2000, (4,))
    assert (stop.location.lon, stop.location.lat, stop.location.planar) == (6, 8, True)


def test_schedule_on_the_scaled_problem_reproduces_the_hand_timing(tiny: Instance) -> None:
    problem = tiny.to_problem()
    matrix = EuclideanSource().matrix(problem)
    timed = schedule(problem, matrix, [Route("v1", ("1", "2")), Route("v2", ("3",))])
    assert [(v.stop_id, v.start_s) for v in timed.route("v1").visits] == [("1", 5000), ("2", 12_000)]
    assert timed.route("v1").end_s == 24_000
    assert timed.distance_m == 30_000
    assert timed.violations == ()


# -- broken files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            with_line(3, None), ":4: numbers outside the VEHICLE and CUSTOMER sections", id="no-vehicle-header"
        ),
        pytest.param(with_line(12, "2 6 8 4 5 50"), ":12: expected 7 columns, found 6", id="six-columns"),
        pytest.param(with_line(5, "2 10 3"), ":5: expected 'NUMBER CAPACITY'", id="three-vehicle-values"),
        pytest.param(with_line(11, "1 3 four 4 0 50 2"), ":11: expected numbers", id="non-numeric-cell"),
        pytest.param(with_line(12, "x2 6 8 4 5 50 2"), ":12: expected numbers", id="non-numeric-first-cell"),
        pytest.param(with_line(13, "3 0 -5 5 0 nan 1"), ":13: expected numbers", id="nan-cell"),
        pytest.param(with_line(10, None), ":10: the first CUSTOMER row must be the depot", id="no-depot"),
        pytest.param(with_line(13, "2 0 -5 5 0 20 1"), ":13: customer number 2 repeats", id="repeated-number"),
        pytest.param(with_line(12, "2 6 8 4 50 5 2"), ":12: customer 2 due date before ready time", id="due-first"),
        pytest.param(with_line(11, "1 3 4 -4 0 50 2"), ":11: customer 1 has a negative value", id="negative-demand"),
    ],
)
def test_broken_file_raises_instance_format_error_naming_the_line(
    tmp_path: Path, lines: list[str], expected: str
) -> None:
    path = write(tmp_path, lines, "broken.txt")
    with pytest.raises(InstanceFormatError) as excinfo:
        read_instance(path)
    assert expected in str(excinfo.value)
    assert str(excinfo.value).startswith(str(path))


def test_file_without_any_vehicle_section_says_so(tmp_path: Path) -> None:
    lines = TINY[:2] + TINY[6:]  # drop VEHICLE, NUMBER CAPACITY, the values and a blank line
    with pytest.raises(InstanceFormatError, match="no VEHICLE section"):
        read_instance(write(tmp_path, lines))


def test_file_without_customer_rows_says_so(tmp_path: Path) -> None:
    with pytest.raises(InstanceFormatError, match="no CUSTOMER rows"):
        read_instance(write(tmp_path, TINY[:9]))


def test_fleet_without_vehicles_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InstanceFormatError, match="at least one vehicle"):
        read_instance(write(tmp_path, with_line(5, "  0         10")))


def test_empty_and_missing_files_are_format_errors(tmp_path: Path) -> None:
    with pytest.raises(InstanceFormatError, match="empty file"):
        read_instance(write(tmp_path, ["", "   "]))
    with pytest.raises(InstanceFormatError, match="cannot read"):
        read_instance(tmp_path / "absent.txt")


# -- the distributed files ----------------------------------------------------------------


def test_every_distributed_instance_reads_with_its_full_customer_count(vrptw_data: Path) -> None:
    sizes = {"solomon": 100, "homberger_200": 200}
    for folder, customers in sizes.items():
        paths = sorted((vrptw_data / folder).glob("*.txt"))
        assert paths, f"no instances in {folder}"
        for path in paths:
            instance = read_instance(path)
            assert len(instance.customers) == customers, path.name
            assert instance.name == path.stem


def test_best_known_solomon_routes_are_feasible_in_double_precision_and_on_the_integer_matrix(
    vrptw_data: Path,
) -> None:
    """The x1000 model rounds travel up, so it could reject a tight best-known route; it
    rejects none, and `Instance.distance` reproduces every table value."""
    with (vrptw_data / "bks.csv").open() as handle:
        table = {row["instance"]: row for row in csv.DictReader(handle) if row["customers"] == "100"}
    assert len(table) == 56
    for name, row in sorted(table.items()):
        text = (vrptw_data / "solutions" / "hierarchical" / "solomon" / f"{name}.txt").read_text()
        routes = [
            [int(n) for n in line.split(":")[1].split()] for line in text.splitlines() if line.startswith("Route")
        ]
        instance = read_instance(vrptw_data / "solomon" / f"{name}.txt")
        assert instance.violations(routes) == [], name
        assert len(routes) == int(row["vehicles"]), name
        assert instance.distance(routes) == pytest.approx(float(row["distance"]), abs=1e-6), name
        problem = instance.to_problem()
        timed = schedule(
            problem,
            EuclideanSource().matrix(problem),
            [Route(f"v{k + 1}", tuple(map(str, route))) for k, route in enumerate(routes)],
        )
        assert timed.violations == (), name
