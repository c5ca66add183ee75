"""Reports and call outcomes that correct the live day, through the service on its store.

Small hand-made days (couriers on a line of stops east of the hub) planned with fixed routes,
so each test knows what the plan says; the service runs in-process, its solver work in the
calling thread. Days lie in the past of the server clock unless a test says otherwise.
Issue 10, findings 7 (service part), 8, 9, 10, 11, 13 and 14.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from api.auth import Principal
from api.errors import ApiError
from api.plans.service import PlanService
from api.schemas import CallOut, EventIn, OutcomeIn
from api.settings import Settings
from api.store import Store, repo
from api.store.models import OutboxRow
from api.tasks import SolvedDay
from optimizer.solution import Route
from tests.pgdb import temporary_pg_database

T = TypeVar("T")
BOSS = Principal(role="dispatcher", key_id="test")
SERVICE = Principal(role="service", key_id="test")
HUB = (31.22, 121.50)
PAST = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()


class InlineExecutor:
    """Solver work in the calling thread: the answers do not wait on a process pool."""

    name = "inline"

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def stop(self, future: Future[Any]) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            folder: Path = tmp_path_factory.mktemp("corrections")
            yield f"sqlite:///{folder / 'ontime.sqlite'}"
        else:
            url = stack.enter_context(temporary_pg_database("ontime_corrections"))
            yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def service(store_url: str) -> Iterator[PlanService]:
    settings = Settings(
        database_url=store_url,
        api_keys="",
        polish_time_limit_s=0,
        replan_time_limit_s=0.5,
        webhook_url=None,
        check_invariants=True,  # every change these tests make is checked before it is committed
    )
    store = Store(settings.database_url)
    store.migrate()
    executor = InlineExecutor()
    try:
        yield PlanService(settings, store, executor, lambda: None, replan_executor=executor)
    finally:
        store.dispose()


def at(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00+08:00"


def seconds(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(at(day, hhmm))


def stop(stop_id: str, k: int, day: str, window: tuple[str, str] = ("08:00", "18:00")) -> dict[str, Any]:
    """The k-th stop east of the hub (about 4 min apart at 18 km/h), 5 min of service."""
    return {
        "id": stop_id,
        "lat": HUB[0],
        "lon": round(HUB[1] + 0.01 * k, 4),
        "service_min": 5,
        "windows": [{"start": at(day, window[0]), "end": at(day, window[1])}],
        "demand": {"parcels": 1},
        "customer": {"name": f"customer {stop_id}", "phone": "+8613800001234"},
    }


def courier(courier_id: str, day: str) -> dict[str, Any]:
    return {
        "id": courier_id,
        "depot": "hub",
        "shift_start": at(day, "08:00"),
        "shift_end": at(day, "20:00"),
        "capacity": {"parcels": 20},
        "speed_kmh": 18,
    }


def planned(
    service: PlanService,
    stops: list[dict[str, Any]],
    routes: dict[str, list[str]],
    day: str = PAST,
    **more: Any,
) -> str:
    """A solved plan with exactly these routes (the solver is not asked); `more`: problem fields."""
    problem = {
        "name": f"corrections-{uuid.uuid4().hex[:6]}",
        "depots": [{"id": "hub", "lat": HUB[0], "lon": HUB[1]}],
        "couriers": [courier(c, day) for c in routes],
        "stops": stops,
        **more,
    }
    plan_id = uuid.uuid4().hex
    with service.store.transaction() as s:
        repo.create_plan(s, plan_id, problem["name"], problem, {"time_limit_s": 1})
    service._store_solution(plan_id, SolvedDay(tuple(Route(c, tuple(r)) for c, r in routes.items()), (), "test", 0.0))
    return plan_id


def report(
    service: PlanService, plan_id: str, courier_id: str, kind: str, hhmm: str, day: str = PAST, **more: Any
) -> Any:
    body = {
        "event_id": f"{courier_id}-{kind}-{hhmm}-{uuid.uuid4().hex[:4]}",
        "courier_id": courier_id,
        "type": kind,
        "at": at(day, hhmm),
        **more,
    }
    return service.post_event(plan_id, EventIn.model_validate(body), BOSS)


def open_calls(service: PlanService, plan_id: str) -> dict[str, CallOut]:
    return {c.stop_id: c for c in service.list_calls(plan_id, SERVICE, "open")}


def outcome(
    service: PlanService, call_id: str, what: str, window: tuple[str, str] | None = None, day: str = PAST
) -> CallOut:
    body: dict[str, Any] = {"outcome": what}
    if window is not None:
        body["new_window"] = {"start": at(day, window[0]), "end": at(day, window[1])}
    return service.record_outcome(call_id, OutcomeIn.model_validate(body), SERVICE)


def visits(service: PlanService, plan_id: str) -> dict[str, tuple[str, Any]]:
    """stop -> (courier, visit) as the plan shows it."""
    plan = service.get_plan(plan_id, BOSS)
    return {v.stop_id: (r.courier_id, v) for r in plan.routes for v in r.visits}


def statuses(service: PlanService, plan_id: str) -> dict[str, str]:
    """stop -> status in the committed day (done, failed, presumed, next, ahead)."""
    with service.store.transaction(readonly=True) as s:
        state = repo.get_plan(s, plan_id).state or {}
    return {v[0]: v[1] for doc in state["snapshot"]["couriers"].values() for v in doc["visits"]}


def seq_of(service: PlanService, plan_id: str) -> int:
    with service.store.transaction(readonly=True) as s:
        return int((repo.get_plan(s, plan_id).state or {}).get("seq", 0))


# -- finding 9 -----------------------------------------------------------------------------


def test_a_second_failed_attempt_opens_a_new_failed_call(service: PlanService) -> None:
    plan_id = planned(service, [stop(f"s{k}", k, PAST) for k in range(1, 4)], {"c1": ["s1", "s2", "s3"]})
    report(service, plan_id, "c1", "stop_failed", "08:10", stop_id="s1")
    first = open_calls(service, plan_id)["s1"]
    assert first.kind == "failed"
    outcome(service, first.id, "rebooked", ("09:00", "12:00"))
    assert "s1" not in open_calls(service, plan_id)
    report(service, plan_id, "c1", "stop_failed", "09:30", stop_id="s1")
    second = open_calls(service, plan_id).get("s1")
    assert second is not None, "the second failed attempt got no call"
    assert second.kind == "failed" and second.id != first.id


# -- finding 10 (the service keeps the notified ETA) ------------------------------------------


def test_small_eta_moves_that_add_up_send_a_call_update(service: PlanService) -> None:
    """Six delays that each move the late stop's ETA by 500 s (threshold 600 s)."""
    plan_id = planned(service, [stop("s1", 1, PAST, ("08:00", "08:10"))], {"c1": ["s1"]})
    report(service, plan_id, "c1", "delay", "08:00", delay_min=30)
    call = open_calls(service, plan_id)["s1"]
    etas = [call.eta]
    for k in range(1, 7):
        report(service, plan_id, "c1", "delay", "08:00", delay_min=30 + k * 500 / 60)
        etas.append(open_calls(service, plan_id)["s1"].eta)
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(etas) if a is not None and b is not None]
    assert steps == [500] * 6
    with service.store.transaction(readonly=True) as s:
        kinds = [
            (row.kind, row.payload["call"]["eta"])
            for row in s.scalars(select(OutboxRow).where(OutboxRow.plan_id == plan_id).order_by(OutboxRow.id))
            if row.payload.get("call", {}).get("id") == call.id
        ]
        stored = repo.get_call(s, call.id)
    updated = [datetime.fromisoformat(eta) for kind, eta in kinds if kind == "call_updated"]
    assert updated == [etas[2], etas[4], etas[6]]  # every time the moves add up past 600 s
    assert stored.eta == etas[6] and stored.notified_eta == etas[6]


# -- finding 13 ------------------------------------------------------------------------------


def test_a_completion_by_another_courier_after_a_failed_attempt_is_recorded(service: PlanService) -> None:
    stops = [stop(f"s{k}", k, PAST) for k in range(1, 5)]
    plan_id = planned(service, stops, {"c1": ["s1", "s2", "s3"], "c2": ["s4"]})
    report(service, plan_id, "c1", "stop_failed", "08:10", stop_id="s2")
    failed = open_calls(service, plan_id)["s2"]
    report(service, plan_id, "c2", "stop_completed", "09:00", stop_id="s2")
    where = visits(service, plan_id)
    assert where["s2"][0] == "c2" and where["s2"][1].status == "done"
    assert "s2" not in open_calls(service, plan_id)
    closed = next(c for c in service.list_calls(plan_id, SERVICE, None) if c.id == failed.id)
    assert closed.status == "done" and closed.reason == "delivered"
    # c1 stays where their failed attempt left them: their next stop is not before it
    assert where["s3"][0] == "c1" and where["s3"][1].eta >= seconds(PAST, "08:10")
    # a stop already delivered is a real conflict
    with pytest.raises(ApiError) as refused:
        report(service, plan_id, "c1", "stop_completed", "09:10", stop_id="s2")
    assert refused.value.status == 422 and refused.value.details[0]["id"] == "s2"


# -- finding 14 ------------------------------------------------------------------------------


def late_call(service: PlanService) -> tuple[str, CallOut]:
    """A plan with one late stop (s1) and its open call."""
    plan_id = planned(service, [stop("s1", 1, PAST, ("08:00", "08:10")), stop("s2", 2, PAST)], {"c1": ["s1", "s2"]})
    report(service, plan_id, "c1", "delay", "08:00", delay_min=60)
    return plan_id, open_calls(service, plan_id)["s1"]


@pytest.mark.parametrize(
    ("first", "second"),
    [("cancelled", "accepted_late"), ("accepted_late", "rebooked"), ("rebooked", "cancelled")],
)
def test_a_second_outcome_racing_the_first_gets_409_and_writes_nothing(
    service: PlanService, monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    """The second outcome has found the call open, then the first is applied before the second
    takes the plan's lock (as two requests racing would)."""
    plan_id, call = late_call(service)
    window = ("12:00", "14:00")
    lock = service._plan_lock
    raced = threading.Event()

    def first_gets_in(plan: str) -> threading.Lock:
        if not raced.is_set():
            raced.set()
            outcome(service, call.id, first, window if first == "rebooked" else None)
            written.append(seq_of(service, plan_id))
        return lock(plan)

    written: list[int] = []
    monkeypatch.setattr(service, "_plan_lock", first_gets_in)
    with service.store.transaction(readonly=True) as s:
        audit_before = len(repo.list_audit(s, plan_id))
    with pytest.raises(ApiError) as refused:
        outcome(service, call.id, second, window if second == "rebooked" else None)
    assert raced.is_set() and refused.value.status == 409 and refused.value.code == "conflict"
    with service.store.transaction(readonly=True) as s:
        stored = repo.get_call(s, call.id)
        state = repo.get_plan(s, plan_id).state or {}
        audit = repo.list_audit(s, plan_id)
    assert stored.outcome == first and stored.status == "done"
    assert int(state["seq"]) == written[0]  # nothing of the second outcome was written
    assert [a.action for a in audit[audit_before:]] == [f"call_{first}"]
    assert ("s1" in state["overrides"]["quiet"]) == (first == "accepted_late")
    assert ("s1" in state["overrides"]["windows"]) == (first == "rebooked")


# -- finding 7 (service part) ----------------------------------------------------------------


def test_an_event_far_ahead_of_the_plan_and_the_server_clock_is_refused_and_nothing_written(
    service: PlanService,
) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    plan_id = planned(service, [stop(f"s{k}", k, future) for k in range(1, 3)], {"c1": ["s1"], "c2": ["s2"]}, future)
    before = seq_of(service, plan_id)
    tomorrow = (datetime.fromisoformat(future) + timedelta(days=1)).date().isoformat()
    body = {"event_id": "c2-wrong-clock", "courier_id": "c2", "type": "position", "at": at(tomorrow, "09:00")}
    with pytest.raises(ApiError) as refused:
        service.post_event(plan_id, EventIn.model_validate({**body, "lat": HUB[0], "lon": HUB[1]}), BOSS)
    assert refused.value.status == 422 and refused.value.code == "invalid_input"
    assert refused.value.details[0]["field"] == "at" and refused.value.details[0]["id"] == "c2-wrong-clock"
    assert seq_of(service, plan_id) == before
    with service.store.transaction(readonly=True) as s:
        assert repo.find_event(s, plan_id, "c2-wrong-clock") is None
    # the day's own reports stand: the first near the shift start, then each near the last
    report(service, plan_id, "c1", "position", "08:30", future, lat=HUB[0], lon=HUB[1])
    report(service, plan_id, "c1", "delay", "10:00", future, delay_min=20)
    with pytest.raises(ApiError):
        report(service, plan_id, "c1", "position", "13:00", future, lat=HUB[0], lon=HUB[1])


def test_a_first_report_of_a_past_day_is_not_refused(service: PlanService) -> None:
    plan_id = planned(service, [stop("s1", 1, PAST)], {"c1": ["s1"]})
    report(service, plan_id, "c1", "position", "15:00", lat=HUB[0], lon=HUB[1])
    assert seq_of(service, plan_id) == 1


# -- finding 8 -------------------------------------------------------------------------------


def test_rebooking_a_failed_stop_does_not_send_the_courier_back_in_time(
    service: PlanService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c1 delivered s1 at 08:10, then failed s2 at 10:30: s3 and s4 (windows ending 09:30 and
    10:00) are late. Rebooking s2 must not put c1 back at s1 at 08:10, which would presume s3
    and s4 served on time and close their calls. No re-optimization anchors c1 meanwhile
    (searches that find nothing keep the plan as it was)."""
    monkeypatch.setattr(service, "_search", lambda plan, *_: plan)
    stops = [stop("s1", 1, PAST), stop("s2", 2, PAST), stop("s3", 3, PAST, ("08:00", "09:30"))]
    stops.append(stop("s4", 4, PAST, ("08:00", "10:00")))
    plan_id = planned(service, stops, {"c1": ["s1", "s2", "s3", "s4"]})
    report(service, plan_id, "c1", "stop_completed", "08:10", stop_id="s1")
    report(service, plan_id, "c1", "stop_failed", "10:30", stop_id="s2")
    calls = open_calls(service, plan_id)
    assert {"s2", "s3", "s4"} <= set(calls) and calls["s2"].kind == "failed"
    outcome(service, calls["s2"].id, "rebooked", ("14:00", "16:00"))
    after = open_calls(service, plan_id)
    assert {"s3", "s4"} <= set(after), "a late call closed as if the courier had gone back in time"
    assert after["s3"].id == calls["s3"].id and after["s4"].id == calls["s4"].id
    status = statuses(service, plan_id)
    assert status["s3"] != "presumed" and status["s4"] != "presumed"
    where = visits(service, plan_id)
    for stop_id in ("s2", "s3", "s4"):
        assert where[stop_id][1].eta >= seconds(PAST, "10:30"), stop_id
    assert seconds(PAST, "14:00") <= where["s2"][1].eta <= seconds(PAST, "16:00")


# -- found by the service state machine ------------------------------------------------------


def test_a_full_courier_who_serves_a_stop_left_out_is_recorded(service: PlanService) -> None:
    """c1's van (capacity 2) is full; s3 was left out for want of room. c1 reports serving it
    anyway: a fact, recorded, not refused as an overloaded van."""
    stops = [stop(f"s{k}", k, PAST) for k in range(1, 4)]
    plan_id = planned(
        service, stops, {"c1": ["s1", "s2"]}, couriers=[{**courier("c1", PAST), "capacity": {"parcels": 2}}]
    )
    with service.store.transaction() as s:
        record = repo.get_plan(s, plan_id)
        state = dict(record.state or {})
        state["unassigned"] = [["s3", "no van has room for it"]]
        repo.update_plan(s, plan_id, state=state)
    report(service, plan_id, "c1", "stop_completed", "08:05", stop_id="s3")
    where = visits(service, plan_id)
    assert where["s3"][0] == "c1" and where["s3"][1].status == "done"
    assert {"s1", "s2"} <= set(where) and not service.get_plan(plan_id, BOSS).unassigned


def test_cancelling_a_stop_left_out_takes_it_off_the_day(service: PlanService) -> None:
    stops = [stop(f"s{k}", k, PAST) for k in range(1, 3)]
    plan_id = planned(service, stops, {"c1": ["s1"]})
    with service.store.transaction() as s:
        state = dict(repo.get_plan(s, plan_id).state or {})
        state["unassigned"] = [["s2", "no courier has time for it"]]
        repo.update_plan(s, plan_id, state=state)
    report(service, plan_id, "c1", "delay", "08:00", delay_min=5)  # the day's first change: calls are decided
    dropped = open_calls(service, plan_id)["s2"]
    assert dropped.kind == "dropped"
    outcome(service, dropped.id, "cancelled")
    plan = service.get_plan(plan_id, BOSS)
    assert "s2" not in {u.stop_id for u in plan.unassigned} and "s2" not in visits(service, plan_id)
    assert "s2" not in open_calls(service, plan_id)


def test_cancelling_a_failed_stop_keeps_the_attempt_and_the_courier_s_clock(service: PlanService) -> None:
    """c1 failed s1 at 10:30; s2 (window to 10:00) is late. The customer of s1 cancels: the
    attempt happened (it took c1's time, the parcel is on the van), so c1 stays at 10:30."""
    stops = [stop("s1", 1, PAST), stop("s2", 2, PAST, ("08:00", "10:00"))]
    plan_id = planned(service, stops, {"c1": ["s1", "s2"]})
    report(service, plan_id, "c1", "stop_failed", "10:30", stop_id="s1")
    calls = open_calls(service, plan_id)
    assert calls["s1"].kind == "failed" and calls["s2"].kind == "late"
    outcome(service, calls["s1"].id, "cancelled")
    where = visits(service, plan_id)
    assert where["s1"][1].status == "failed"
    assert where["s2"][1].eta >= seconds(PAST, "10:30")
    after = open_calls(service, plan_id)
    assert "s1" not in after and after["s2"].id == calls["s2"].id
    assert service.get_plan(plan_id, BOSS).kpis.stops == 2  # type: ignore[union-attr]


def test_cancelling_a_stop_behind_a_courier_does_not_move_their_past(service: PlanService) -> None:
    """c1 has not reported; by c2's report at 12:00 the plan has c1 past s1 (late) and s2.
    s1's customer cancels: s2 stays where the plan had it (c1 did not go back in time to skip
    s1), and so does the rest of c1's day."""
    stops = [stop("s1", 1, PAST, ("08:00", "08:01")), stop("s2", 2, PAST), stop("s3", 3, PAST, ("13:00", "15:00"))]
    plan_id = planned(service, [*stops, stop("s4", 4, PAST)], {"c1": ["s1", "s2", "s3"], "c2": ["s4"]})
    report(service, plan_id, "c2", "position", "12:00", lat=HUB[0], lon=HUB[1])
    before = visits(service, plan_id)
    assert statuses(service, plan_id)["s2"] == "presumed"
    outcome(service, open_calls(service, plan_id)["s1"].id, "cancelled")
    after = visits(service, plan_id)
    assert "s1" not in after
    assert after["s2"][1].eta == before["s2"][1].eta and after["s3"][1].eta == before["s3"][1].eta


# -- finding 11 ------------------------------------------------------------------------------


def test_a_rebooked_stop_locked_by_an_earlier_re_optimization_is_re_timed_into_its_new_window(
    service: PlanService,
) -> None:
    """s1 is late from the start (a call opens with the plan). c1 reports being past it at
    08:20, and the re-optimization that follows locks it as served. Its customer then rebooks
    it to 10:00-12:00: it must be planned into that window, with no new late call."""
    stops = [stop("s1", 3, PAST, ("08:00", "08:05")), stop("s2", 4, PAST), stop("s3", 5, PAST)]
    plan_id = planned(service, stops, {"c1": ["s1", "s2", "s3"]})
    late = open_calls(service, plan_id)["s1"]
    report(service, plan_id, "c1", "position", "08:20", lat=HUB[0], lon=round(HUB[1] + 0.035, 4))
    assert statuses(service, plan_id)["s1"] == "presumed"
    service._advance(plan_id, lambda plan, _: plan, lambda s, _: None, reoptimize=True, actor="test")
    with service.store.transaction(readonly=True) as s:
        state = repo.get_plan(s, plan_id).state or {}
    assert state["routes"]["c1"]["stops"][0] == "s1" and state["anchors"]["c1"][0] >= 1, "s1 is not locked"
    assert "s1" in open_calls(service, plan_id)
    outcome(service, late.id, "rebooked", ("10:00", "12:00"))
    _, visit = visits(service, plan_id)["s1"]
    assert seconds(PAST, "10:00") <= visit.eta <= seconds(PAST, "12:00")
    assert visit.late_min == 0
    assert "s1" not in open_calls(service, plan_id), "the rebooked stop opened a new late call"
    assert statuses(service, plan_id)["s1"] in ("next", "ahead")


# -- parcels are physical: hand-overs -------------------------------------------------------


def _held_with_a_late_parcel(service: PlanService, **more: Any) -> str:
    """c1 left with s1-s3 and is held two hours at 08:05; s3 must start by 09:00; c2 is idle."""
    stops = [stop("s1", 1, PAST), stop("s2", 2, PAST), stop("s3", 3, PAST, ("08:00", "09:00"))]
    plan_id = planned(service, stops, {"c1": ["s1", "s2", "s3"], "c2": []}, **more)
    report(service, plan_id, "c1", "delay", "08:05", delay_min=120)
    return plan_id


def test_a_loaded_parcel_stays_on_its_van_when_hand_overs_are_not_allowed(service: PlanService) -> None:
    plan_id = _held_with_a_late_parcel(service)
    assert visits(service, plan_id)["s3"][0] == "c1"
    assert open_calls(service, plan_id)["s3"].kind == "late"


def test_a_late_parcel_is_handed_over_where_the_plan_allows_it_and_the_route_shows_the_meeting(
    service: PlanService,
) -> None:
    plan_id = _held_with_a_late_parcel(service, handover={"allowed": True, "minutes": 5})
    plan = service.get_plan(plan_id, BOSS)
    routes = {r.courier_id: r for r in plan.routes}
    taker = [v for v in routes["c2"].visits]
    assert [v.stop_id for v in taker][1:] == ["s3"]
    meeting = taker[0].handover
    assert meeting is not None and meeting.with_ == "c1" and meeting.takes == ["s3"]
    assert taker[0].model_dump(by_alias=True)["handover"]["with"] == "c1"
    give = next(v for v in routes["c1"].visits if v.handover is not None)
    assert give.handover is not None and give.handover.gives == ["s3"] and give.handover.with_ == "c2"
    assert "s3" not in [v.stop_id for v in routes["c1"].visits]
    assert "s3" not in open_calls(service, plan_id), "handed over in time: no call"
    assert plan.kpis is not None and plan.kpis.stops == 3  # a meeting is nobody's booking
