"""What an engine returns: ordered stop lists per courier, and the stops left out with why."""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    """One courier's stops in visit order (depot legs implied).

    `reloads`: positions in `stop_ids` before which the courier goes back to their depot to
    unload and reload (a second trip starts at `stop_ids[reloads[0]]`), sorted, each within
    the route (1 to len - 1)."""

    courier_id: str
    stop_ids: tuple[str, ...]
    reloads: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if any(not 0 < r < len(self.stop_ids) for r in self.reloads) or list(self.reloads) != sorted(set(self.reloads)):
            raise ValueError(f"route of {self.courier_id}: reloads {self.reloads} are not positions inside it")

    @property
    def trips(self) -> tuple[tuple[str, ...], ...]:
        """The stops of each trip, in order."""
        bounds = (0, *self.reloads, len(self.stop_ids))
        return tuple(self.stop_ids[a:b] for a, b in itertools.pairwise(bounds))

    def __len__(self) -> int:
        return len(self.stop_ids)


@dataclass(frozen=True, slots=True)
class Unassigned:
    stop_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Solution:
    """Routes for every courier (possibly empty), unassigned stops with reasons, provenance."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...] = ()
    engine: str = ""
    objective: int = 0
    runtime_s: float = 0.0
    feasible: bool = True

    def route_of(self, courier_id: str) -> Route:
        for route in self.routes:
            if route.courier_id == courier_id:
                return route
        return Route(courier_id, ())

    @property
    def used_routes(self) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.stop_ids)

    @property
    def assigned_stop_ids(self) -> list[str]:
        return [s for r in self.routes for s in r.stop_ids]
