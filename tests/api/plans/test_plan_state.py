"""The plan state's one codec: stored documents load typed and are written back as they were
read, legacy anchors included, and a change never touches the state it is given."""

from __future__ import annotations

import copy
from typing import Any

from api.plans.state import LEGACY_SEEN_S, PlanState, TakenBreak
from optimizer.model import Break, Courier, Depot, Location, Problem, Stop, TimeWindow


def _doc(anchor: list[Any]) -> dict[str, Any]:
    return {
        "engine": "test",
        "now_s": 33000,
        "routes": {"c1": {"version": 2, "stops": ["s1", "s2"]}},
        "progress": {
            "c1": {"done": {"s1": 32000}, "failed": {}, "position": [31.2, 121.5, 32500], "hold": None, "last": 32500}
        },
        "unassigned": [["s3", "no courier can reach it inside its window"]],
        "overrides": {"windows": {"s2": [[36000, 39600]]}, "cancelled": [], "quiet": ["s2"]},
        "failed_called": [],
        "snapshot": {
            "couriers": {
                "c1": {
                    "start_s": 30000,
                    "end_s": 40000,
                    "distance_m": 5000,
                    "breaks": [[34000, 35800]],
                    "visits": [["s1", "done", 32000, 0, 30000, 36000, 0, 32300, 32000, 0.0]],
                    "pace": 1.08,
                }
            }
        },
        "seq": 7,
        "anchors": {"c1": anchor},
        "parcels": {"loaded": {"s2": "c1"}, "departed": ["c1"]},
        "handovers": [],
    }


def _problem() -> Problem:
    hub = Depot("hub", Location(31.2, 121.5))
    courier = Courier("c1", "hub", 28800, 64800, (), breaks=(Break("break1", 39600, 45000, 1800),))
    stops = tuple(Stop(f"s{k}", Location(31.2 + k / 100, 121.5), (TimeWindow(30000, 40000),), 300) for k in (1, 2, 3))
    return Problem("day", (hub,), (courier,), stops)


def test_a_current_document_round_trips_unchanged() -> None:
    doc = _doc([1, 31.21, 121.5, 32300, True, [["s1", 32000, 0]], 32500, [["break1", 34000, 35800]]])
    assert PlanState.from_doc(copy.deepcopy(doc)).to_doc() == doc


def test_a_snapshot_stored_before_risk_loads_without_it_and_is_written_with_it() -> None:
    """Visits of eight fields and no pace (before risk-aware ETAs): no p90, no risk, pace 1."""
    doc = _doc([1, 31.21, 121.5, 32300, True, [["s1", 32000, 0]], 32500, [["break1", 34000, 35800]]])
    entry = doc["snapshot"]["couriers"]["c1"]
    entry["visits"] = [row[:8] for row in entry["visits"]]
    del entry["pace"]
    loaded = PlanState.from_doc(copy.deepcopy(doc)).snapshot["c1"]
    assert loaded.pace == 1.0
    assert (loaded.visits[0].eta_p90_s, loaded.visits[0].p_late) == (None, 0.0)
    written = PlanState.from_doc(copy.deepcopy(doc)).to_doc()["snapshot"]["couriers"]["c1"]
    assert written["visits"][0][8:] == [None, 0.0] and written["pace"] == 1.0


def test_a_legacy_anchor_loads_as_it_always_did() -> None:
    """Five fields, or eight with a break named only: seen by no report, the break ended by the anchor."""
    short = PlanState.from_doc(_doc([1, None, None, 32300, False])).anchors["c1"]
    assert short.seen_s == LEGACY_SEEN_S and short.presumed == () and short.breaks_taken == ()
    named = PlanState.from_doc(_doc([1, None, None, 32300, False, [], 32000, ["break1"]]))
    assert named.anchors["c1"].breaks_taken == (TakenBreak("break1"),)
    anchor = named.live_plan(_problem()).anchors["c1"]
    assert [(b.break_id, b.start_s, b.end_s) for b in anchor.breaks_taken] == [("break1", 30500, 32300)]
    assert named.to_doc()["anchors"]["c1"][7] == ["break1"]  # written back as it was read


def test_an_outcome_makes_a_new_state_and_leaves_the_old_one_alone() -> None:
    state = PlanState.from_doc(_doc([1, None, None, 32300, False]))
    before = state.to_doc()
    rebooked = state.with_rebooked("s2", (40000, 43600), failed=True).with_cancelled("s3").with_quiet("s1")
    assert state.to_doc() == before
    assert rebooked.overrides.windows["s2"] == ((40000, 43600),)
    assert rebooked.overrides.quiet == ("s1",) and rebooked.overrides.cancelled == ("s3",)
