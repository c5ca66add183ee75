"""Hand-overs: a loaded parcel changes van only where two couriers meet.

A hand-over is planned by re-optimization when the plan allows it (`Problem.handover_s`):
the *giver*, whose van holds parcels they cannot deliver in time, waits where they are; the
*taker* drives there, both spend `handover_s`, and the parcels are on the taker's van from
then on. In the live day it is two stops of its own, so timing, progress and re-planning
treat it like any visit: `give` (on the giver's route, opening when the taker is due) and
`take` (on the taker's route, before the parcels it brings). Neither can be late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from optimizer.model import HORIZON_S, Location, Problem, Stop, TimeWindow

PREFIX = "handover:"


@dataclass(frozen=True, slots=True)
class Handover:
    """`stop_ids`' parcels go from `giver`'s van to `taker`'s at `where`, the taker due at `meet_s`."""

    giver: str
    taker: str
    stop_ids: tuple[str, ...]
    where: Location
    meet_s: int

    @property
    def id(self) -> str:
        return f"{PREFIX}{self.giver}>{self.taker}@{self.meet_s}"

    @property
    def give_id(self) -> str:
        return f"{self.id}:give"

    @property
    def take_id(self) -> str:
        return f"{self.id}:take"

    def stops(self, handover_s: int, dimensions: int) -> tuple[Stop, Stop]:
        """The two visits of the meeting: the giver waits from `meet_s`, the taker just comes."""
        none = (0,) * dimensions
        give = Stop(self.give_id, self.where, (TimeWindow(self.meet_s, HORIZON_S),), handover_s, none)
        take = Stop(self.take_id, self.where, (TimeWindow(0, HORIZON_S),), handover_s, none)
        return replace(give, parcel_on=self.giver), replace(take, parcel_on=self.taker)


def is_handover(stop_id: str) -> bool:
    """A meeting's visit, not a customer's stop."""
    return stop_id.startswith(PREFIX)


def with_handovers(problem: Problem, handovers: tuple[Handover, ...]) -> Problem:
    """`problem` with the meeting visits of `handovers` among its stops."""
    if not handovers or problem.handover_s is None:
        return problem
    known = {s.id for s in problem.stops}
    extra = [
        stop for h in handovers for stop in h.stops(problem.handover_s, len(problem.dimensions)) if stop.id not in known
    ]
    return replace(problem, stops=(*problem.stops, *extra)) if extra else problem
