"""Decide, then do: which route updates and call tasks follow from a change of plan.

`decide_events(before, after, policy)` is pure. The service stores what it returns and an
outbox delivers the notifications. Rules (MISSION.md, CONTRACTS.md 3):
- a route gets a new version when the order of its stops not reported served changes (a stop
  the clock presumes served stays in it: presuming is not news to the courier);
- a stop whose ETA falls after its window end (or that was dropped from the plan) gets
  one open call; with a risk threshold (`CallPolicy.risk_open`), so does a stop whose chance
  of starting after its window ends (`p_late`, `optimizer.risk`) reaches it, before the median
  ETA is late; such a call stays open until the chance falls below `risk_close` (hysteresis:
  a customer is not called twice because the chance wavers around one threshold); the call
  always carries the current ETA, and is *notified* again only when the ETA has moved by more
  than `update_threshold_s` from the ETA last notified (so
  small moves that add up are notified too);
- the call closes when the stop is back on time, served, or no longer in the plan;
- a stop whose window has already ended at `now` gets an urgent call;
- a failed stop (recipient absent) gets one call of its own kind;
- stops the customer accepted late, or cancelled, are not called about again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

CallKind = Literal["late", "dropped", "failed"]
StopStatus = Literal["planned", "done", "failed", "dropped"]


@dataclass(frozen=True, slots=True)
class StopView:
    """One stop as a plan shows it."""

    stop_id: str
    courier_id: str | None
    status: StopStatus
    eta_s: int | None
    late_s: int
    window_start_s: int
    window_end_s: int
    p_late: float = 0.0
    eta_p90_s: int | None = None


@dataclass(frozen=True, slots=True)
class OpenCall:
    call_id: str
    stop_id: str
    kind: CallKind
    eta_s: int | None
    """The ETA the call shows now (it follows the plan)."""
    notified_eta_s: int | None = None
    """The ETA the customer was last told of (when the call was created or last notified);
    None: not known apart from `eta_s` (or notified without an ETA, while `eta_s` is None too)."""
    p_late: float = 0.0
    """The chance of a late start the call shows now."""

    @property
    def told_eta_s(self) -> int | None:
        """What a new ETA is compared with before notifying again."""
        return self.notified_eta_s if self.notified_eta_s is not None else self.eta_s


@dataclass(frozen=True, slots=True)
class PlanView:
    """What `decide_events` compares: free sequences, stops, calls already open."""

    now_s: int
    routes: Mapping[str, tuple[str, ...]]
    versions: Mapping[str, int]
    stops: Mapping[str, StopView]
    calls: Mapping[str, OpenCall] = field(default_factory=dict)
    failed_called: frozenset[str] = frozenset()
    quiet: frozenset[str] = frozenset()


RISK_STEP = 0.05
"""An open call's chance of a late start is rewritten when it moves by this much."""


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """`risk_open` None: calls open only when the ETA is late (or the stop dropped).
    `notice_s`: how long before the window ends a call is still useful (`call_by`)."""

    update_threshold_s: int = 600
    risk_open: float | None = None
    risk_close: float = 0.2
    notice_s: int = 1800

    def __post_init__(self) -> None:
        if self.risk_open is not None and not 0 < self.risk_close < self.risk_open <= 1:
            raise ValueError("risk thresholds need 0 < risk_close < risk_open <= 1")
        if self.update_threshold_s < 0 or self.notice_s < 0:
            raise ValueError("update_threshold_s and notice_s must not be negative")

    def call_by_s(self, view: StopView) -> int:
        """The latest time a call about `view` is still useful: `notice_s` before its window ends."""
        return view.window_end_s - self.notice_s


@dataclass(frozen=True, slots=True)
class RouteUpdate:
    courier_id: str
    version: int
    stop_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CreateCall:
    stop_id: str
    courier_id: str | None
    kind: CallKind
    eta_s: int | None
    late_s: int
    window_start_s: int
    window_end_s: int
    urgent: bool
    reason: str
    p_late: float = 0.0
    eta_p90_s: int | None = None
    call_by_s: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateCall:
    call_id: str
    stop_id: str
    kind: CallKind
    courier_id: str | None
    eta_s: int | None
    late_s: int
    urgent: bool
    reason: str
    notify: bool
    p_late: float = 0.0
    eta_p90_s: int | None = None


@dataclass(frozen=True, slots=True)
class CloseCall:
    call_id: str
    stop_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decisions:
    route_updates: tuple[RouteUpdate, ...] = ()
    create: tuple[CreateCall, ...] = ()
    update: tuple[UpdateCall, ...] = ()
    close: tuple[CloseCall, ...] = ()


def decide_events(before: PlanView, after: PlanView, policy: CallPolicy) -> Decisions:
    """Route updates and call-task changes that take the world from `before` to `after`."""
    updates = []
    still_free = {s for sequence in after.routes.values() for s in sequence}
    for courier_id, sequence in after.routes.items():
        # stops this courier reported served meanwhile leave their route
        # without a new version; stops moved away, served by someone else or cancelled do not
        previous = tuple(
            s
            for s in before.routes.get(courier_id, ())
            if s in still_free or (after.stops[s].courier_id if s in after.stops else None) != courier_id
        )
        if previous != sequence:
            updates.append(RouteUpdate(courier_id, before.versions.get(courier_id, 0) + 1, sequence))

    create: list[CreateCall] = []
    update: list[UpdateCall] = []
    close: list[CloseCall] = []
    for stop_id, gone in before.calls.items():
        if stop_id not in after.stops:
            close.append(CloseCall(gone.call_id, stop_id, "the stop is no longer in the plan"))
    for stop_id, view in after.stops.items():
        call = before.calls.get(stop_id)
        if view.status == "failed":
            if call is not None and call.kind != "failed":
                close.append(CloseCall(call.call_id, stop_id, "superseded by the failed delivery"))
            if stop_id not in before.failed_called and (call is None or call.kind != "failed"):
                failed = "delivery failed: arrange a new time"
                create.append(_create(view, "failed", after.now_s, failed, policy))
            continue
        if view.status == "done":
            if call is not None:
                close.append(CloseCall(call.call_id, stop_id, "delivered"))
            continue
        held = call is not None and call.kind != "failed"
        at_risk = (view.status == "dropped" or view.late_s > 0 or _risky(view, policy, held)) and (
            stop_id not in after.quiet
        )
        if not at_risk:
            if call is not None and call.kind != "failed":
                close.append(CloseCall(call.call_id, stop_id, "back on time"))
            continue
        kind: CallKind = "dropped" if view.status == "dropped" else "late"
        reason = _reason(view, kind, after.now_s)
        if call is None or call.kind == "failed":
            create.append(_create(view, kind, after.now_s, reason, policy))
            continue
        told = call.told_eta_s  # moves below the threshold add up until they are notified
        moved = (
            call.kind != kind
            or (told is None) != (view.eta_s is None)
            or (told is not None and view.eta_s is not None and abs(view.eta_s - told) > policy.update_threshold_s)
        )
        if moved or call.eta_s != view.eta_s or abs(call.p_late - view.p_late) >= RISK_STEP:
            urgent = after.now_s > view.window_end_s
            update.append(
                UpdateCall(
                    call.call_id,
                    stop_id,
                    kind,
                    view.courier_id,
                    view.eta_s,
                    view.late_s,
                    urgent,
                    reason,
                    moved,
                    view.p_late,
                    view.eta_p90_s,
                )
            )
    return Decisions(tuple(updates), tuple(create), tuple(update), tuple(close))


def _risky(view: StopView, policy: CallPolicy, held: bool) -> bool:
    """The chance of a late start reaches the threshold (or, for a stop already called about,
    has not yet fallen below the lower one)."""
    if policy.risk_open is None:
        return False
    return view.p_late >= (policy.risk_close if held else policy.risk_open)


def _create(view: StopView, kind: CallKind, now_s: int, reason: str, policy: CallPolicy) -> CreateCall:
    return CreateCall(
        view.stop_id,
        view.courier_id,
        kind,
        view.eta_s,
        view.late_s,
        view.window_start_s,
        view.window_end_s,
        now_s > view.window_end_s,
        reason,
        view.p_late,
        view.eta_p90_s,
        policy.call_by_s(view),
    )


def _reason(view: StopView, kind: CallKind, now_s: int) -> str:
    if kind == "dropped":
        return "no courier can serve this stop today: agree a new time"
    minutes = round(view.late_s / 60)
    if view.late_s == 0:
        return f"likely late: {round(view.p_late * 100)}% chance of starting after the booked window ends"
    if now_s > view.window_end_s:
        return f"the booked window has already ended; expected {minutes} min after it"
    return f"expected {minutes} min after the booked window ends"
