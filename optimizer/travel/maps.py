"""Travel on the map a problem names: one source per road network, and a default.

`MapSource` is the `TravelSource` a service holds when it knows road maps: a problem whose
`road_map` names one of them is timed on it, `straight` on the straight-line source, any other
on the default (the service's own map, or straight lines when it has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from optimizer.model import Problem
from optimizer.travel.matrix import TravelMatrix, TravelSource

STRAIGHT = "straight"
"""The map name that asks for straight-line travel even where the service has a road map."""


@dataclass(frozen=True)
class MapSource:
    """Routes each problem to the source of the map it names (see the module doc)."""

    default: TravelSource
    straight: TravelSource
    maps: Mapping[str, TravelSource] = field(default_factory=dict)

    def source_for(self, name: str | None) -> TravelSource:
        if name is None:
            return self.default
        if name == STRAIGHT:
            return self.straight
        try:
            return self.maps[name]
        except KeyError:
            known = ", ".join(sorted([*self.maps, STRAIGHT]))
            raise KeyError(f"no map named {name!r} here (known: {known})") from None

    def matrix(self, problem: Problem) -> TravelMatrix:
        return self.source_for(problem.road_map).matrix(problem)
