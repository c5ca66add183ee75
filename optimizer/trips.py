"""Second trips in the live day: a reload at the depot is a visit of its own.

A plan marks where a courier goes back to reload (`Route.reloads`). The live day, which
tracks every visit's status, times, anchors and re-plans visits, makes each reload a stop:
`reload:COURIER:N` (the courier's N-th reload), at their start depot, open all day, taking
their `reload_s`, bound to them (`parcel_on`), carrying nothing. `schedule()` empties the
pickups and loads the next trip's deliveries there; OR-Tools gives it the slack of a reload
node. Only the reloads on someone's route are stops of the live problem (`with_reloads`):
a re-plan is offered the spare ones and keeps those it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from optimizer.model import HORIZON_S, Courier, Problem, Stop, TimeWindow
from optimizer.solution import Route

PREFIX = "reload:"


def reload_id(courier_id: str, n: int) -> str:
    return f"{PREFIX}{courier_id}:{n}"


def is_reload(stop_id: str) -> bool:
    """A courier's reload at the depot, not a customer's stop."""
    return stop_id.startswith(PREFIX)


def reload_stop(problem: Problem, courier: Courier, n: int) -> Stop:
    """The `n`-th reload of `courier` as a stop (droppable at no cost: a plan may skip it)."""
    return Stop(
        reload_id(courier.id, n),
        problem.depots[problem.depot_node(courier.start_depot)].location,
        (TimeWindow(0, HORIZON_S),),
        courier.reload_s,
        (0,) * len(problem.dimensions),
        0,
        parcel_on=courier.id,
        kind="reload",
    )


def spare_reloads(problem: Problem, used: Iterable[str]) -> list[Stop]:
    """Each courier's reloads not among `used` (stop ids), up to `max_trips - 1` in all."""
    taken = set(used)
    return [
        reload_stop(problem, courier, n)
        for courier in problem.couriers
        for n in range(1, courier.max_trips)
        if reload_id(courier.id, n) not in taken
    ]


def with_reloads(problem: Problem, stop_ids: Iterable[str]) -> Problem:
    """`problem` whose reload stops are exactly the reloads among `stop_ids` (the routes')."""
    wanted = {s for s in stop_ids if is_reload(s)}
    have = {s.id for s in problem.stops if s.is_reload}
    if wanted == have:
        return problem
    couriers = {c.id: c for c in problem.couriers}
    kept = tuple(s for s in problem.stops if not s.is_reload or s.id in wanted)
    added = []
    for stop_id in sorted(wanted - have):
        courier_id, _, n = stop_id[len(PREFIX) :].rpartition(":")
        if courier_id in couriers and n.isdigit():
            added.append(reload_stop(problem, couriers[courier_id], int(n)))
    return replace(problem, stops=(*kept, *added))


def inline_reloads(route: Route) -> Route:
    """`route` with its reloads as stops of their own (`Route.reloads` emptied)."""
    if not route.reloads:
        return route
    stops: list[str] = []
    for position, stop_id in enumerate(route.stop_ids):
        if position in route.reloads:
            stops.append(reload_id(route.courier_id, route.reloads.index(position) + 1))
        stops.append(stop_id)
    return Route(route.courier_id, tuple(stops))
