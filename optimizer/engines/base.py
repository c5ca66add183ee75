"""The engine interface: `solve(problem, matrix, params) -> Solution`, features declared."""

from __future__ import annotations

from typing import Protocol

from optimizer.model import Problem
from optimizer.params import SolveParams
from optimizer.solution import Solution
from optimizer.travel.matrix import TravelMatrix

MULTIPLE_WINDOWS = "multiple_windows"
BREAKS = "breaks"
OPTIONAL_STOPS = "optional_stops"
START_POSITIONS = "start_positions"
FIXED_PREFIX = "fixed_prefix"
SOFT_WINDOWS = "soft_windows"
WARM_START = "warm_start"
LOADED_PARCELS = "loaded_parcels"
"""Stops whose parcel is on one courier's van: only that courier can serve them."""
PICKUPS = "pickups"
"""Stops that put their amounts on the van (capacity must hold at every point of a route)."""
SKILLS = "skills"
"""Stops that only couriers with the skills they need may serve."""
TRIPS = "trips"
"""Couriers who may go back to their depot to reload (`Courier.max_trips`)."""
LOADED_ONLY = "loaded_only"
"""Couriers out on a trip: no delivery from the hub before a reload (`Courier.loaded_only`)."""
RELOAD_STOPS = "reload_stops"
"""Reloads as stops of the live day (`optimizer.trips`): the load is set anew there."""


class Engine(Protocol):
    """A routing engine. `features` lists what it can model beyond hard-window VRPTW."""

    name: str
    features: frozenset[str]

    def solve(self, problem: Problem, matrix: TravelMatrix, params: SolveParams) -> Solution: ...


def required_features(problem: Problem, params: SolveParams) -> frozenset[str]:
    """Everything an engine must support to solve `problem` under `params` faithfully."""
    needed = set(problem.features)
    if params.soft_windows:
        needed.add(SOFT_WINDOWS)
    if params.warm_start:
        needed.add(WARM_START)
    return frozenset(needed)
