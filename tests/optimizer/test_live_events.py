"""decide_events: hand-checkable before/after pairs; the rules of CONTRACTS.md 3 (calls)."""

from __future__ import annotations

import pytest

from optimizer.events import CallPolicy, OpenCall, PlanView, StopView, decide_events

POLICY = CallPolicy(update_threshold_s=600)


def view(
    now: int, stops: list[StopView], routes: dict[str, tuple[str, ...]] | None = None, **extra: object
) -> PlanView:
    return PlanView(
        now, routes or {"c1": tuple(s.stop_id for s in stops)}, {"c1": 1}, {s.stop_id: s for s in stops}, **extra
    )  # type: ignore[arg-type]


def stop(stop_id: str, eta: int, late: int = 0, status: str = "planned", end: int = 10_000) -> StopView:
    return StopView(stop_id, "c1", status, eta, late, 0, end)  # type: ignore[arg-type]


def test_a_stop_turning_late_gets_one_call_with_its_eta_and_lateness() -> None:
    before = view(100, [stop("a", 9_000)])
    after = view(200, [stop("a", 10_900, late=900)])
    decided = decide_events(before, after, POLICY)
    assert len(decided.create) == 1
    call = decided.create[0]
    assert (call.stop_id, call.kind, call.eta_s, call.late_s, call.urgent) == ("a", "late", 10_900, 900, False)
    assert "15 min" in call.reason


def test_an_open_call_is_not_raised_twice_and_is_notified_only_when_the_eta_moves_past_the_threshold() -> None:
    calls = {"a": OpenCall("k1", "a", "late", 10_900)}
    small = decide_events(view(1, [stop("a", 10_900)], calls=calls), view(2, [stop("a", 11_200, late=1_200)]), POLICY)
    assert not small.create and len(small.update) == 1 and small.update[0].notify is False
    assert small.update[0].eta_s == 11_200
    big = decide_events(view(1, [stop("a", 10_900)], calls=calls), view(2, [stop("a", 11_600, late=1_600)]), POLICY)
    assert big.update[0].notify is True


def test_a_call_closes_when_the_stop_is_back_on_time_or_delivered() -> None:
    calls = {"a": OpenCall("k1", "a", "late", 10_900), "b": OpenCall("k2", "b", "late", 10_500)}
    before = view(1, [stop("a", 10_900, late=900), stop("b", 10_500, late=500)], calls=calls)
    after = view(2, [stop("a", 9_000), stop("b", 10_500, late=500, status="done")])
    decided = decide_events(before, after, POLICY)
    assert {(c.call_id, c.reason) for c in decided.close} == {("k1", "back on time"), ("k2", "delivered")}


def test_a_dropped_stop_that_is_planned_again_late_turns_its_call_into_a_late_call() -> None:
    calls = {"a": OpenCall("k1", "a", "dropped", None)}
    decided = decide_events(view(1, [stop("a", 0)], calls=calls), view(2, [stop("a", 11_000, late=1_000)]), POLICY)
    assert not decided.create
    assert [(u.call_id, u.kind, u.notify) for u in decided.update] == [("k1", "late", True)]


def test_a_window_that_has_already_ended_makes_the_call_urgent() -> None:
    decided = decide_events(view(1, [stop("a", 9_000)]), view(10_500, [stop("a", 11_000, late=1_000)]), POLICY)
    assert decided.create[0].urgent is True and "already ended" in decided.create[0].reason


def test_a_failed_delivery_gets_one_call_of_its_own_kind_and_never_a_second() -> None:
    after = view(5, [stop("a", 9_000, status="failed")])
    first = decide_events(view(1, [stop("a", 9_000)]), after, POLICY)
    assert [c.kind for c in first.create] == ["failed"]
    again = decide_events(view(5, [stop("a", 9_000, status="failed")], failed_called=frozenset({"a"})), after, POLICY)
    assert not again.create


def test_accepted_late_stops_are_not_called_again() -> None:
    after = view(2, [stop("a", 11_000, late=1_000)], quiet=frozenset({"a"}))
    assert not decide_events(view(1, [stop("a", 9_000)]), after, POLICY).create


def test_a_dropped_stop_gets_a_call_and_a_cancelled_one_closes_its_call() -> None:
    dropped = StopView("a", None, "dropped", None, 0, 0, 10_000)
    decided = decide_events(view(1, [stop("a", 9_000)]), view(2, [dropped]), POLICY)
    assert [c.kind for c in decided.create] == ["dropped"]
    calls = {"b": OpenCall("k9", "b", "late", 12_000)}
    gone = decide_events(view(1, [stop("b", 12_000, late=2_000)], calls=calls), view(2, []), POLICY)
    assert [c.call_id for c in gone.close] == ["k9"]


def test_a_route_gets_a_new_version_only_when_the_order_of_its_free_stops_changes() -> None:
    def on(courier: str, *ids: str, status: str = "planned") -> dict[str, StopView]:
        return {i: StopView(i, courier, status, 100, 0, 0, 10_000) for i in ids}  # type: ignore[arg-type]

    everyone = {**on("c1", "a", "b", "c"), **on("c2", "d")}
    before = PlanView(1, {"c1": ("a", "b", "c"), "c2": ("d",)}, {"c1": 3, "c2": 1}, everyone)
    versions = {"c1": 3, "c2": 1}
    served = PlanView(2, {"c1": ("b", "c"), "c2": ("d",)}, versions, {**everyone, **on("c1", "a", status="done")})
    assert not decide_events(before, served, POLICY).route_updates
    moved = PlanView(2, {"c1": ("c", "b"), "c2": ("d", "a")}, {"c1": 3, "c2": 1}, {**everyone, **on("c2", "a")})
    updates = {u.courier_id: u.version for u in decide_events(before, moved, POLICY).route_updates}
    assert updates == {"c1": 4, "c2": 2}
    # served by a colleague, or cancelled: c1 must hear that "a" is no longer theirs
    by_c2 = PlanView(2, {"c1": ("b", "c"), "c2": ("d",)}, versions, {**everyone, **on("c2", "a", status="done")})
    cancelled = PlanView(2, {"c1": ("b", "c"), "c2": ("d",)}, versions, {**on("c1", "b", "c"), **on("c2", "d")})
    for after in (by_c2, cancelled):
        assert [(u.courier_id, u.stop_ids) for u in decide_events(before, after, POLICY).route_updates] == [
            ("c1", ("b", "c"))
        ]


def test_a_courier_who_only_loses_stops_is_told_so() -> None:
    before = PlanView(1, {"c1": ("a", "b"), "c2": ()}, {"c1": 1, "c2": 1}, {})
    after = PlanView(2, {"c1": (), "c2": ("a", "b")}, {"c1": 1, "c2": 1}, {})
    updates = {u.courier_id: (u.version, u.stop_ids) for u in decide_events(before, after, POLICY).route_updates}
    assert updates == {"c1": (2, ()), "c2": (2, ("a", "b"))}


def test_small_eta_moves_that_add_up_past_the_threshold_are_notified() -> None:
    """Six moves of +500 s (threshold 600 s): each is compared with the ETA the customer was
    last told of, not with the call's current ETA, so the moves are notified once they add up."""
    call = OpenCall("k1", "a", "late", 10_900, notified_eta_s=10_900)
    eta, notified = 10_900, []
    for step in range(6):
        eta += 500
        before = view(step, [stop("a", call.eta_s or 0, late=(call.eta_s or 0) - 10_000)], calls={"a": call})
        decided = decide_events(before, view(step + 1, [stop("a", eta, late=eta - 10_000)]), POLICY)
        assert not decided.create and len(decided.update) == 1
        update = decided.update[0]
        assert update.eta_s == eta  # the call always shows the current plan
        if update.notify:
            notified.append(eta)
        # what the service stores: the current ETA always, the notified one when notified
        call = OpenCall("k1", "a", "late", eta, eta if update.notify else call.notified_eta_s)
    assert notified == [11_900, 12_900, 13_900]
    assert abs(eta - (call.notified_eta_s or 0)) <= POLICY.update_threshold_s


def test_a_call_stored_without_a_notified_eta_compares_with_its_current_eta() -> None:
    calls = {"a": OpenCall("k1", "a", "late", 10_900)}
    small = decide_events(view(1, [stop("a", 10_900)], calls=calls), view(2, [stop("a", 11_400, late=1_400)]), POLICY)
    assert small.update[0].notify is False


RISKY = CallPolicy(update_threshold_s=600, risk_open=0.5, risk_close=0.2, notice_s=1800)


def risky(stop_id: str, p_late: float, eta: int = 9_000, end: int = 10_000) -> StopView:
    return StopView(stop_id, "c1", "planned", eta, 0, 0, end, p_late, eta + 1_200)


def test_a_call_opens_on_risk_before_the_eta_is_late_with_its_chance_p90_and_call_by() -> None:
    decided = decide_events(view(1, [risky("a", 0.1)]), view(2, [risky("a", 0.6)]), RISKY)
    [call] = decided.create
    assert (call.kind, call.late_s, call.p_late, call.eta_p90_s, call.call_by_s) == ("late", 0, 0.6, 10_200, 8_200)
    assert "60% chance" in call.reason


def test_risk_opens_no_call_without_a_threshold_nor_below_it() -> None:
    assert not decide_events(view(1, [risky("a", 0.1)]), view(2, [risky("a", 0.9)]), POLICY).create
    assert not decide_events(view(1, [risky("a", 0.1)]), view(2, [risky("a", 0.49)]), RISKY).create


def test_a_risk_call_stays_open_until_the_chance_falls_below_the_lower_threshold() -> None:
    """Hysteresis: wavering around the opening threshold neither closes nor reopens the call."""
    calls = {"a": OpenCall("k1", "a", "late", 9_000, p_late=0.55)}
    wavering = decide_events(view(1, [risky("a", 0.55)], calls=calls), view(2, [risky("a", 0.3)]), RISKY)
    assert not wavering.close and not wavering.create
    assert [(u.call_id, u.p_late, u.notify) for u in wavering.update] == [("k1", 0.3, False)]
    calmer = decide_events(view(1, [risky("a", 0.3)], calls=calls), view(2, [risky("a", 0.1)]), RISKY)
    assert [(c.call_id, c.reason) for c in calmer.close] == [("k1", "back on time")]


def test_a_small_move_of_the_chance_does_not_rewrite_the_call() -> None:
    calls = {"a": OpenCall("k1", "a", "late", 9_000, p_late=0.55)}
    decided = decide_events(view(1, [risky("a", 0.55)], calls=calls), view(2, [risky("a", 0.57)]), RISKY)
    assert decided == type(decided)()


def test_a_customer_who_accepted_late_is_not_called_on_risk() -> None:
    decided = decide_events(view(1, [risky("a", 0.1)]), view(2, [risky("a", 0.9)], quiet=frozenset({"a"})), RISKY)
    assert not decided.create


def test_risk_thresholds_must_leave_room_for_hysteresis() -> None:
    with pytest.raises(ValueError, match="risk_close < risk_open"):
        CallPolicy(risk_open=0.3, risk_close=0.3)
