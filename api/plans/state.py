"""The plan's state: what the store keeps of a live day, typed, with one codec.

`PlanState` is frozen; its parts mirror the stored JSON document (`plans.state`) one to one:
each courier's whole-day sequence and route version, their progress, where each re-planned
route begins (anchors), parcels on vans, planned hand-overs, stops left out, the
customer-service overrides (rebooked windows, cancelled stops, stops not to call about
again) and a snapshot of the last re-timed day, which `GET` answers from without
recomputing anything.

`PlanState.from_doc(doc)` / `.to_doc()` is the only place the document's layout is written
down. The layout is the one stored since the first release, so no migration is needed: an
anchor stored before anchors carried `presumed`, `seen_s` or the timing of the breaks taken
loads as it always did (`LEGACY_SEEN_S`, breaks by name only).

Changes are pure functions `(state, ...) -> state`: `next_state` after a re-timed day, the
`with_*` methods for customer-service outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from api.schemas import ProblemIn
from optimizer.events import OpenCall, PlanView, StopStatus, StopView
from optimizer.handover import Handover, is_handover, with_handovers
from optimizer.model import Location, Problem, TimeWindow
from optimizer.replan import Anchor, DayState, Hold, LivePlan, LiveVisit, Progress, VisitStatus
from optimizer.risk import NoiseModel, RouteAhead, VisitRisk, learn_pace, route_risk
from optimizer.schedule import BreakTiming
from optimizer.solution import Route, Unassigned
from optimizer.trips import inline_reloads, is_reload, with_reloads

Doc = dict[str, Any]
"""A JSON document as the store keeps it."""
Row = list[Any]
"""A positional JSON row of a document (an anchor, a snapshot visit)."""

LEGACY_SEEN_S = 2**31
"""An anchor stored before anchors said which reports they had seen: it stands, as it did."""


# --- the parts -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A courier's whole-day sequence (served stops included) and its route version."""

    version: int
    stops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overrides:
    """What customer service said: new windows, cancelled stops, stops not to call about."""

    windows: Mapping[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    cancelled: tuple[str, ...] = ()
    quiet: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TakenBreak:
    """A break an anchor holds taken. `start_s`/`end_s` None: stored by name only (before
    anchors kept the timing); it is held to have ended by the anchor's time."""

    break_id: str
    start_s: int | None = None
    end_s: int | None = None


@dataclass(frozen=True, slots=True)
class StoredAnchor:
    """An `Anchor` as stored. Turned into one with the problem at hand (`anchor`), which
    knows the break durations a legacy anchor's breaks are timed by."""

    locked: int
    position: Location | None
    at_s: int
    heading: bool
    presumed: tuple[tuple[str, int, int], ...] = ()
    seen_s: int = LEGACY_SEEN_S
    breaks_taken: tuple[TakenBreak, ...] = ()

    @classmethod
    def of(cls, anchor: Anchor) -> StoredAnchor:
        breaks = tuple(TakenBreak(b.break_id, b.start_s, b.end_s) for b in anchor.breaks_taken)
        return cls(anchor.locked, anchor.position, anchor.at_s, anchor.heading, anchor.presumed, anchor.seen_s, breaks)

    def anchor(self, problem: Problem, courier_id: str) -> Anchor:
        durations = {b.id: b.duration_s for c in problem.couriers if c.id == courier_id for b in c.breaks}
        taken = tuple(
            BreakTiming(b.break_id, b.start_s, b.end_s)
            if b.start_s is not None and b.end_s is not None
            else BreakTiming(b.break_id, self.at_s - durations.get(b.break_id, 0), self.at_s)
            for b in self.breaks_taken
        )
        return Anchor(self.locked, self.position, self.at_s, self.heading, self.presumed, self.seen_s, taken)


@dataclass(frozen=True, slots=True)
class Parcels:
    """Parcels on a van (stop -> courier) and the couriers who have left the hub."""

    loaded: Mapping[str, str] = field(default_factory=dict)
    departed: tuple[str, ...] = ()


class SnapshotVisit(NamedTuple):
    """One visit of the last re-timed day: the stored row, field by field."""

    stop_id: str
    status: VisitStatus
    eta_s: int
    late_s: int
    window_start_s: int
    window_end_s: int
    wait_s: int
    departure_s: int
    eta_p90_s: int | None = None
    """The 90th percentile of the start (`optimizer.risk`); None: stored before risk was kept."""
    p_late: float = 0.0
    """How likely the start falls after the window's end (0-1); served visits: 0 or 1."""


@dataclass(frozen=True, slots=True)
class CourierSnapshot:
    """One courier's last re-timed day, as `GET` shows it."""

    start_s: int
    end_s: int
    distance_m: int
    breaks: tuple[tuple[int, int], ...]
    visits: tuple[SnapshotVisit, ...]
    pace: float = 1.0
    """The courier's pace learned from their reports (1.2: 20% slower than planned)."""


@dataclass(frozen=True, slots=True)
class PlanState:
    """A live day as stored. See the module docstring."""

    engine: str | None = None
    now_s: int = 0
    routes: Mapping[str, RouteEntry] = field(default_factory=dict)
    progress: Mapping[str, Progress] = field(default_factory=dict)
    unassigned: tuple[Unassigned, ...] = ()
    overrides: Overrides = field(default_factory=Overrides)
    failed_called: tuple[str, ...] = ()
    snapshot: Mapping[str, CourierSnapshot] = field(default_factory=dict)
    seq: int = 0
    anchors: Mapping[str, StoredAnchor] = field(default_factory=dict)
    parcels: Parcels = field(default_factory=Parcels)
    handovers: tuple[Handover, ...] = ()

    # -- the codec -----------------------------------------------------------------------

    @classmethod
    def from_doc(cls, doc: Doc) -> PlanState:
        """The stored document, typed. Missing parts (a document written before they were
        kept, or an empty one) are empty."""
        overrides = doc.get("overrides", {})
        parcels = doc.get("parcels", {})
        return cls(
            engine=doc.get("engine"),
            now_s=int(doc.get("now_s", 0)),
            routes={
                cid: RouteEntry(int(r["version"]), tuple(str(s) for s in r.get("stops", [])))
                for cid, r in doc.get("routes", {}).items()
            },
            progress={cid: _progress_from(p) for cid, p in doc.get("progress", {}).items()},
            unassigned=tuple(Unassigned(str(sid), str(reason)) for sid, reason in doc.get("unassigned", [])),
            overrides=Overrides(
                windows={
                    str(sid): tuple((int(a), int(b)) for a, b in windows)
                    for sid, windows in overrides.get("windows", {}).items()
                },
                cancelled=tuple(overrides.get("cancelled", [])),
                quiet=tuple(overrides.get("quiet", [])),
            ),
            failed_called=tuple(doc.get("failed_called", [])),
            snapshot={cid: _courier_snapshot_from(c) for cid, c in doc.get("snapshot", {}).get("couriers", {}).items()},
            seq=int(doc.get("seq", 0)),
            anchors={cid: _anchor_from(a) for cid, a in doc.get("anchors", {}).items()},
            parcels=Parcels(
                {str(s): str(c) for s, c in parcels.get("loaded", {}).items()},
                tuple(str(c) for c in parcels.get("departed", [])),
            ),
            handovers=tuple(
                Handover(str(g), str(t), tuple(str(s) for s in stops), Location(lat, lon), int(meet))
                for g, t, stops, lat, lon, meet in doc.get("handovers", [])
            ),
        )

    def to_doc(self) -> Doc:
        """The document to store: the layout `from_doc` reads."""
        return {
            "engine": self.engine,
            "now_s": self.now_s,
            "routes": {cid: {"version": r.version, "stops": list(r.stops)} for cid, r in self.routes.items()},
            "progress": {cid: _progress_doc(p) for cid, p in self.progress.items()},
            "unassigned": [[u.stop_id, u.reason] for u in self.unassigned],
            "overrides": {
                "windows": {sid: [list(w) for w in windows] for sid, windows in self.overrides.windows.items()},
                "cancelled": list(self.overrides.cancelled),
                "quiet": list(self.overrides.quiet),
            },
            "failed_called": list(self.failed_called),
            "snapshot": {"couriers": {cid: _courier_snapshot_doc(c) for cid, c in self.snapshot.items()}},
            "seq": self.seq,
            "anchors": {cid: _anchor_doc(a) for cid, a in self.anchors.items()},
            "parcels": {"loaded": dict(self.parcels.loaded), "departed": list(self.parcels.departed)},
            "handovers": [
                [h.giver, h.taker, list(h.stop_ids), h.where.lat, h.where.lon, h.meet_s] for h in self.handovers
            ],
        }

    # -- reading -------------------------------------------------------------------------

    def version_of(self, courier_id: str) -> int:
        entry = self.routes.get(courier_id)
        return entry.version if entry is not None else 1

    @property
    def versions(self) -> dict[str, int]:
        return {cid: r.version for cid, r in self.routes.items()}

    def cancelled_stops(self) -> set[str]:
        """Stops customer service cancelled that no courier has attempted: they leave the day.
        A stop already served or attempted stays, as the fact it is (the attempt took its
        courier's time, and the parcel is still on their van)."""
        attempted = {sid for p in self.progress.values() for served in (p.done, p.failed) for sid in served}
        return set(self.overrides.cancelled) - attempted

    def problem(self, wire: ProblemIn) -> Problem:
        """The day's problem with its hand-overs, the reloads its routes make and the
        customer-service overrides applied."""
        problem = with_reloads(
            with_handovers(wire.to_domain(), self.handovers), (s for r in self.routes.values() for s in r.stops)
        )
        windows = self.overrides.windows
        cancelled = self.cancelled_stops()
        if not windows and not cancelled:
            return problem
        stops = tuple(
            replace(s, windows=tuple(TimeWindow(a, b) for a, b in windows[s.id])) if s.id in windows else s
            for s in problem.stops
            if s.id not in cancelled
        )
        return replace(problem, stops=stops)

    def live_plan(self, problem: Problem) -> LivePlan:
        """The live day this state stands for, over `problem` (from `problem(wire)`)."""
        routes = tuple(
            Route(c.id, tuple(s for s in self.routes[c.id].stops if problem.has_stop(s)) if c.id in self.routes else ())
            for c in problem.couriers
        )
        return LivePlan(
            problem,
            routes,
            dict(self.progress),
            tuple(u for u in self.unassigned if problem.has_stop(u.stop_id)),
            self.now_s,
            {cid: a.anchor(problem, cid) for cid, a in self.anchors.items()},
            {sid: cid for sid, cid in self.parcels.loaded.items() if problem.has_stop(sid)},
            frozenset(self.parcels.departed),
            self.handovers,
        )

    # -- customer-service outcomes (pure) ------------------------------------------------

    def with_quiet(self, stop_id: str) -> PlanState:
        """Not to be called about again (the customer accepted it late)."""
        quiet = tuple(sorted({*self.overrides.quiet, stop_id}))
        return replace(self, overrides=replace(self.overrides, quiet=quiet))

    def with_cancelled(self, stop_id: str) -> PlanState:
        cancelled = tuple(sorted({*self.overrides.cancelled, stop_id}))
        return replace(self, overrides=replace(self.overrides, cancelled=cancelled))

    def with_rebooked(self, stop_id: str, window: tuple[int, int], *, failed: bool) -> PlanState:
        """A new window for the stop, to be called about again should it be late. `failed`: a
        new appointment for a failed delivery; should it fail again, that is a new failure."""
        windows = {**self.overrides.windows, stop_id: (window,)}
        quiet = tuple(q for q in self.overrides.quiet if q != stop_id)
        state = replace(self, overrides=replace(self.overrides, windows=windows, quiet=quiet))
        if failed:
            state = replace(state, failed_called=tuple(x for x in state.failed_called if x != stop_id))
        return state


# --- building states -------------------------------------------------------------------


def initial_state(routes: tuple[Route, ...], unassigned: tuple[Unassigned, ...], engine: str) -> PlanState:
    """A day just solved, before it is re-timed."""
    return PlanState(
        engine=engine,
        routes={r.courier_id: RouteEntry(1, inline_reloads(r).stop_ids) for r in routes},
        unassigned=unassigned,
    )


def next_state(
    previous: PlanState,
    live: LivePlan,
    day: DayState,
    versions: Mapping[str, int],
    previous_day: DayState | None = None,
    noise: NoiseModel | None = None,
) -> PlanState:
    """The state after a change: new sequences, versions, progress and snapshot, the sequence
    number one on. `previous_day`, the day `previous`'s snapshot was taken of, lets the
    snapshot keep the entries of couriers whose timing is the very same object (not re-timed
    since)."""
    return replace(
        previous,
        now_s=live.now_s,
        routes={r.courier_id: RouteEntry(versions.get(r.courier_id, 1), r.stop_ids) for r in live.routes},
        progress=dict(live.progress),
        anchors={cid: StoredAnchor.of(a) for cid, a in live.anchors.items()},
        parcels=Parcels(dict(live.loaded), tuple(sorted(live.departed))),
        handovers=live.handovers,
        unassigned=day.unassigned,
        snapshot=snapshot(day, previous_day, previous.snapshot, noise),
        seq=previous.seq + 1,
    )


def snapshot(
    day: DayState,
    previous_day: DayState | None = None,
    previous: Mapping[str, CourierSnapshot] | None = None,
    noise: NoiseModel | None = None,
) -> dict[str, CourierSnapshot]:
    """Each courier's re-timed day, with the risk of each visit ahead; the entry of a courier
    whose timing in `day` is the very same object as in `previous_day` is `previous`'s, not
    rebuilt (nor its risk drawn again)."""
    model = noise or NoiseModel()
    was = {id(c) for c in previous_day.couriers} if previous_day is not None and previous is not None else set()
    kept = previous or {}
    couriers: dict[str, CourierSnapshot] = {}
    fresh = []
    for c in day.couriers:
        entry = kept.get(c.courier_id) if id(c) in was else None
        if entry is not None:
            couriers[c.courier_id] = entry
        else:
            fresh.append(c)
    paces = [learn_pace(model, c.pace_readings) for c in fresh]
    ahead = [RouteAhead(c.timed, len(c.ahead), pace) for c, pace in zip(fresh, paces, strict=True)]
    risks = route_risk(ahead, model)
    for c, pace, risk in zip(fresh, paces, risks, strict=True):
        timed = c.timed
        drawn = {r.stop_id: r for r in risk}
        couriers[c.courier_id] = CourierSnapshot(
            # the day began at the first visit when part of the route is already behind
            start_s=min([timed.start_s] + [v.eta_s for v in c.visits if v.status in ("done", "failed", "presumed")]),
            end_s=timed.end_s,
            distance_m=timed.distance_m,
            breaks=tuple((b.start_s, b.end_s) for b in timed.breaks),
            visits=tuple(_snapshot_visit(v, drawn.get(v.stop_id)) for v in c.visits),
            pace=round(pace.factor, 3),
        )
    return {c.courier_id: couriers[c.courier_id] for c in day.couriers}


def _snapshot_visit(v: LiveVisit, risk: VisitRisk | None) -> SnapshotVisit:
    return SnapshotVisit(
        v.stop_id,
        v.status,
        v.eta_s,
        v.late_s,
        v.window.start_s,
        v.window.end_s,
        v.timing.wait_s if v.timing else 0,
        v.timing.departure_s if v.timing else v.eta_s,
        risk.eta_p90_s if risk is not None else v.eta_s,
        risk.p_late if risk is not None else float(v.late_s > 0 and v.status != "failed"),
    )


def plan_view(
    state: PlanState,
    problem: Problem,
    calls: Mapping[str, OpenCall],
    since: tuple[PlanState, PlanView] | None = None,
) -> PlanView:
    """What `decide_events` needs of a state.

    `since`: an earlier state of the plan and its view. The couriers whose snapshot entry is
    the very same object in both (not re-timed in between) are taken from that view instead of
    being rebuilt, unless the overrides (cancelled stops, new windows) changed in between."""
    routes: dict[str, tuple[str, ...]] = {}
    stops: dict[str, StopView] = {}
    kept: set[str] = set()
    if since is not None and since[0].overrides == state.overrides:
        earlier, view = since
        was = earlier.snapshot
        kept = {cid for cid, entry in state.snapshot.items() if was.get(cid) is entry and cid in view.routes}
        stops = {sid: stop for sid, stop in view.stops.items() if stop.courier_id in kept}
        routes = {cid: view.routes[cid] for cid in kept}
    for courier_id, entry in state.snapshot.items():
        if courier_id in kept:
            continue
        free = []
        for v in entry.visits:
            if not problem.has_stop(v.stop_id):
                continue
            # not reported served: a stop the clock presumes behind the courier stays in their
            # route, so a report that shows it is not yet done does not version the route again
            ahead = v.status in ("presumed", "next", "ahead")
            if is_handover(v.stop_id) or is_reload(v.stop_id):  # in the route, but nobody's booking: no call
                if ahead:
                    free.append(v.stop_id)
                continue
            kind: StopStatus = "done" if v.status == "done" else "failed" if v.status == "failed" else "planned"
            stops[v.stop_id] = StopView(
                v.stop_id,
                courier_id,
                kind,
                v.eta_s,
                v.late_s,
                v.window_start_s,
                v.window_end_s,
                v.p_late,
                v.eta_p90_s,
            )
            if ahead:
                free.append(v.stop_id)
        routes[courier_id] = tuple(free)
    for u in state.unassigned:
        if problem.has_stop(u.stop_id) and u.stop_id not in stops:
            stop = problem.stop_by_id(u.stop_id)
            stops[u.stop_id] = StopView(u.stop_id, None, "dropped", None, 0, stop.earliest_s, stop.latest_s)
    return PlanView(
        state.now_s,
        routes,
        state.versions,
        stops,
        calls,
        frozenset(state.failed_called),
        frozenset(state.overrides.quiet),
    )


# --- the codec's parts -----------------------------------------------------------------


def _progress_from(doc: Doc) -> Progress:
    position = doc.get("position")
    hold = doc.get("hold")
    return Progress(
        done={k: int(v) for k, v in doc.get("done", {}).items()},
        failed={k: int(v) for k, v in doc.get("failed", {}).items()},
        position=(Location(position[0], position[1]), int(position[2])) if position else None,
        hold=Hold(int(hold[0]), int(hold[1]), Location(hold[2], hold[3]) if hold[2] is not None else None)
        if hold
        else None,
        last_report_s=int(doc.get("last", -1)),
    )


def _progress_doc(progress: Progress) -> Doc:
    hold = progress.hold
    return {
        "done": dict(progress.done),
        "failed": dict(progress.failed),
        "position": [progress.position[0].lat, progress.position[0].lon, progress.position[1]]
        if progress.position
        else None,
        "hold": [
            hold.at_s,
            hold.until_s,
            hold.position.lat if hold.position else None,
            hold.position.lon if hold.position else None,
        ]
        if hold
        else None,
        "last": progress.last_report_s,
    }


def _anchor_from(doc: Row) -> StoredAnchor:
    """[locked, lat, lon, at_s, heading, presumed, seen_s, breaks taken]; the last three may be
    missing (stored before they were kept), and a break taken may be its name only."""
    return StoredAnchor(
        int(doc[0]),
        Location(doc[1], doc[2]) if doc[1] is not None else None,
        int(doc[3]),
        bool(doc[4]),
        tuple((str(x[0]), int(x[1]), int(x[2])) for x in (doc[5] if len(doc) > 5 else [])),
        int(doc[6]) if len(doc) > 6 else LEGACY_SEEN_S,
        tuple(
            TakenBreak(str(b[0]), int(b[1]), int(b[2])) if isinstance(b, list) else TakenBreak(str(b))
            for b in (doc[7] if len(doc) > 7 else [])
        ),
    )


def _anchor_doc(anchor: StoredAnchor) -> Row:
    where = anchor.position
    return [
        anchor.locked,
        where.lat if where else None,
        where.lon if where else None,
        anchor.at_s,
        anchor.heading,
        [list(item) for item in anchor.presumed],
        anchor.seen_s,
        [b.break_id if b.start_s is None else [b.break_id, b.start_s, b.end_s] for b in anchor.breaks_taken],
    ]


def _courier_snapshot_from(doc: Doc) -> CourierSnapshot:
    return CourierSnapshot(
        int(doc["start_s"]),
        int(doc["end_s"]),
        int(doc["distance_m"]),
        tuple((int(a), int(b)) for a, b in doc["breaks"]),
        tuple(SnapshotVisit(*row) for row in doc["visits"]),
        float(doc.get("pace", 1.0)),
    )


def _courier_snapshot_doc(entry: CourierSnapshot) -> Doc:
    return {
        "start_s": entry.start_s,
        "end_s": entry.end_s,
        "distance_m": entry.distance_m,
        "breaks": [list(b) for b in entry.breaks],
        "visits": [list(v) for v in entry.visits],
        "pace": entry.pace,
    }
