"""Classic VRPTW instances in Solomon text format (also Gehring & Homberger).

Node 0 is the depot; its due date is the horizon. Times and distances are instance units
scaled by `scale` to integers (durations rounded up, see `travel.euclidean`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from optimizer.errors import InstanceFormatError
from optimizer.model import Courier, Depot, Location, Problem, Stop, TimeWindow

DEFAULT_SCALE = 1000


@dataclass(frozen=True, slots=True)
class Node:
    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    depot: Node
    customers: tuple[Node, ...]

    def to_problem(self, scale: int = DEFAULT_SCALE) -> Problem:
        """The instance as a `Problem`: one courier per vehicle, stop ids = customer numbers."""
        depot = Depot("0", Location(self.depot.y, self.depot.x, planar=True))
        horizon = self.depot.due * scale
        couriers = tuple(
            Courier(f"v{k + 1}", "0", self.depot.ready * scale, horizon, (self.capacity,), profile="planar")
            for k in range(self.vehicles)
        )
        stops = tuple(
            Stop(
                str(c.number),
                Location(c.y, c.x, planar=True),
                (TimeWindow(c.ready * scale, c.due * scale),),
                c.service * scale,
                (c.demand,),
            )
            for c in self.customers
        )
        return Problem(self.name, (depot,), couriers, stops, ("demand",))

    def distance(self, routes: list[list[int]]) -> float:
        """Total Euclidean distance in double precision, each route summed in order."""
        nodes = {c.number: c for c in self.customers}
        total = 0.0
        for route in routes:
            path = [self.depot, *(nodes[n] for n in route), self.depot]
            total += sum(math.hypot(a.x - b.x, a.y - b.y) for a, b in itertools.pairwise(path))
        return total

    def violations(self, routes: list[list[int]], tolerance: float = 1e-6) -> list[str]:
        """Every broken rule of the classic VRPTW, re-checked in double precision."""
        nodes = {c.number: c for c in self.customers}
        problems: list[str] = []
        seen = [n for route in routes for n in route]
        if sorted(seen) != sorted(nodes):
            missing = sorted(set(nodes) - set(seen))
            twice = sorted({n for n in seen if seen.count(n) > 1})
            unknown = sorted(set(seen) - set(nodes))
            problems.append(f"customers missing {missing[:5]}, repeated {twice[:5]}, unknown {unknown[:5]}")
        if len([r for r in routes if r]) > self.vehicles:
            problems.append(f"{len(routes)} routes for a fleet of {self.vehicles}")
        for k, route in enumerate(routes):
            if sum(nodes[n].demand for n in route if n in nodes) > self.capacity:
                problems.append(f"route {k} exceeds capacity")
            t, here = float(self.depot.ready), self.depot
            for n in route:
                if n not in nodes:
                    continue
                there = nodes[n]
                t = max(t + math.hypot(here.x - there.x, here.y - there.y), there.ready)
                if t > there.due + tolerance:
                    problems.append(f"route {k}: customer {n} starts at {t:.4f} after due {there.due}")
                t += there.service
                here = there
            back = t + math.hypot(here.x - self.depot.x, here.y - self.depot.y)
            if back > self.depot.due + tolerance:
                problems.append(f"route {k}: back at {back:.4f} after depot due {self.depot.due}")
        return problems


def read_instance(path: Path) -> Instance:
    """Parse a Solomon-format file, with errors naming the line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InstanceFormatError(f"{path}: cannot read ({exc.strerror})") from None
    lines = [(no, line.split()) for no, line in enumerate(text.splitlines(), start=1)]
    content = [(no, parts) for no, parts in lines if parts]
    if not content:
        raise InstanceFormatError(f"{path}: empty file")
    name = content[0][1][0].lower()
    vehicles = capacity = None
    nodes: list[Node] = []
    node_lines: list[int] = []
    section = ""
    for no, parts in content[1:]:
        head = " ".join(parts).upper()
        if head.startswith("VEHICLE"):
            section = "vehicle"
            continue
        if head.startswith("CUSTOMER"):
            section = "customer"
            continue
        if not any(_is_number(part) for part in parts):
            continue  # a heading such as 'NUMBER CAPACITY'; a row with any number must parse whole
        try:
            values = [float(v) for v in parts]
            if not all(map(math.isfinite, values)):
                raise ValueError
        except ValueError:
            raise InstanceFormatError(f"{path}:{no}: expected numbers, got {' '.join(parts)!r}") from None
        if section == "vehicle":
            if len(values) != 2:
                raise InstanceFormatError(f"{path}:{no}: expected 'NUMBER CAPACITY'")
            vehicles, capacity = int(values[0]), int(values[1])
        elif section == "customer":
            if len(values) != 7:
                raise InstanceFormatError(f"{path}:{no}: expected 7 columns, found {len(values)}")
            number, x, y, demand, ready, due, service = values
            node = Node(int(number), x, y, int(demand), int(ready), int(due), int(service))
            if node.due < node.ready:
                raise InstanceFormatError(f"{path}:{no}: customer {node.number} due date before ready time")
            if node.demand < 0 or node.service < 0:
                raise InstanceFormatError(f"{path}:{no}: customer {node.number} has a negative value")
            nodes.append(node)
            node_lines.append(no)
        else:
            raise InstanceFormatError(f"{path}:{no}: numbers outside the VEHICLE and CUSTOMER sections")
    if vehicles is None or capacity is None:
        raise InstanceFormatError(f"{path}: no VEHICLE section with NUMBER and CAPACITY")
    if vehicles <= 0 or capacity <= 0:
        raise InstanceFormatError(f"{path}: the fleet needs at least one vehicle with positive capacity")
    if not nodes:
        raise InstanceFormatError(f"{path}: no CUSTOMER rows; the first must be the depot, number 0")
    if nodes[0].number != 0:
        raise InstanceFormatError(f"{path}:{node_lines[0]}: the first CUSTOMER row must be the depot, number 0")
    seen: set[int] = set()
    for node, no in zip(nodes, node_lines):
        if node.number in seen:
            raise InstanceFormatError(f"{path}:{no}: customer number {node.number} repeats")
        seen.add(node.number)
    return Instance(name, vehicles, capacity, nodes[0], tuple(nodes[1:]))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
