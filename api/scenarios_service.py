"""What-if scenarios over HTTP (CONTRACTS.md 3): check, store, solve off the request path, answer.

`create` checks everything a client can get wrong before storing anything: the base (a
stored plan's day, with customer-service overrides, or a problem given inline), each
variant's changes against that base (422 naming `variants[i].changes[j].<key>`). The run
is stored `queued`, then solved in a background thread through `scenarios.compare` on the
same executor as plans (a local process pool or Ray), `running` meanwhile, and stored
`done` with one result per scenario, base first (`failed` when the base could not be
solved).

With several replicas on one database, a run is solved by one of them at a time: under the
store's claim on it (`Store.claim`), its status read again once claimed. Every replica looks
for unfinished runs on start-up and then every few seconds (`resume`, from `api.sweep`), so a
run whose replica died (its claim went with its connection) is taken up by another, or by the
same one started again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import CancelledError
from typing import Any

from api.auth import Principal
from api.errors import invalid
from api.plans.state import PlanState
from api.scenario_schemas import ScenarioCreateIn, ScenarioOut, ScenarioResultOut
from api.schemas import Accepted, ProblemIn
from api.settings import Settings
from api.store import Store, StoreUnavailable, repo
from api.store.records import ScenarioRecord
from optimizer.model import Problem
from optimizer.travel.matrix import TravelSource
from scenarios.compare import BASE_NAME, CompareParams, Comparison, compare, prepare
from scenarios.executors import Executor

log = logging.getLogger("ontime.scenarios")


class ScenarioService:
    def __init__(
        self, settings: Settings, store: Store, executor: Executor, source: TravelSource | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.executor = executor
        self.source = source
        """Base travel of every scenario (the plan service's maps); None: straight lines."""
        self._running: set[str] = set()
        """Runs this process is solving (or about to claim)."""
        self._guard = threading.Lock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """The process is stopping: runs its executor drops stay unfinished for another replica
        (or this one started again) to take up, rather than failed."""
        self._stopping.set()

    def create(self, body: ScenarioCreateIn, principal: Principal) -> Accepted:
        problem = self._base_problem(body)
        prepare(problem, [(v.name, v.changes) for v in body.variants])  # every mistake named, or nothing stored
        scenario_id = uuid.uuid4().hex
        request = body.model_dump(mode="json", exclude_none=True)
        request["requested_by"] = principal.actor
        with self.store.transaction() as s:
            repo.create_scenario(s, scenario_id, request)
            repo.add_audit(s, None, principal.actor, "scenario_created", {"scenario": scenario_id})
        self._start(scenario_id, (body, problem))
        return Accepted(id=scenario_id, status="queued")

    def get(self, scenario_id: str) -> ScenarioOut:
        with self.store.transaction(readonly=True) as s:
            record = repo.get_scenario(s, scenario_id)
        return _out(record)

    def resume(self) -> None:
        """Solve every run left queued or running that no process is solving (a restart, a
        replica that died): each is looked at again under its claim."""
        with self.store.transaction(readonly=True) as s:
            unfinished = list(repo.unfinished_scenarios(s))
        for scenario_id in unfinished:
            self._start(scenario_id, None)

    # -- running ------------------------------------------------------------------------

    def _base_problem(self, body: ScenarioCreateIn) -> Problem:
        if body.base.problem is not None:
            return body.base.problem.to_domain()
        if body.base.plan_id is None:
            raise invalid("base", "base", "give the base as a plan_id or a problem")
        with self.store.transaction(readonly=True) as s:
            plan = repo.get_plan(s, body.base.plan_id)
        wire = ProblemIn.model_validate(plan.problem)
        return PlanState.from_doc(plan.state or {}).problem(wire)

    def _params(self, body: ScenarioCreateIn) -> CompareParams:
        return CompareParams(
            time_limit_s=body.time_limit_s,
            seed=body.seed,
            iterations=body.iterations,
            detour_factor=self.settings.detour_factor,
            cost_model=body.cost.to_domain(),
            source=self.source,
        )

    def _start(self, scenario_id: str, given: tuple[ScenarioCreateIn, Problem] | None) -> None:
        """Solve the run in a thread of its own, under its claim; `given`: its request and base
        as just checked (None: read again from the store)."""
        with self._guard:
            if scenario_id in self._running:
                return
            self._running.add(scenario_id)
        thread = threading.Thread(target=self._run, args=(scenario_id, given), name=f"scenario-{scenario_id}")
        thread.daemon = True
        thread.start()

    def _run(self, scenario_id: str, given: tuple[ScenarioCreateIn, Problem] | None) -> None:
        try:
            with self.store.claim(f"scenario:{scenario_id}") as mine:
                if mine:
                    self._claimed(scenario_id, given)
        except Exception:
            log.exception("scenario run %s: claiming or solving it failed (looked at again later)", scenario_id)
        finally:
            with self._guard:
                self._running.discard(scenario_id)

    def _claimed(self, scenario_id: str, given: tuple[ScenarioCreateIn, Problem] | None) -> None:
        """Under the run's claim: solve it unless it is finished (another replica did it between
        a look for unfinished runs and the claim)."""
        with self.store.transaction(readonly=True) as s:
            record = repo.get_scenario(s, scenario_id)
        if record.status not in ("queued", "running"):
            return
        try:
            if given is None:
                body = ScenarioCreateIn.model_validate({k: v for k, v in record.request.items() if k != "requested_by"})
                problem = self._base_problem(body)
            else:
                body, problem = given
            params = self._params(body)
            runs = prepare(problem, [(v.name, v.changes) for v in body.variants])
        except StoreUnavailable:
            raise  # the database, not the run: looked at again at the next sweep
        except Exception as exc:  # the run itself cannot be solved (its base plan changed, say)
            self._finish(scenario_id, "failed", None, f"cannot solve: {type(exc).__name__}: {str(exc)[:200]}")
            return
        log.info("solving scenario run %s", scenario_id)
        try:
            with self.store.transaction() as s:
                repo.update_scenario(s, scenario_id, status="running")
            comparison = compare(problem, (), params, self.executor, prepared=runs)
        except (Exception, CancelledError) as exc:
            if self._stopping.is_set():
                log.info("scenario run %s left unfinished as the process stops", scenario_id)
                return
            log.warning("scenario run %s failed: %s", scenario_id, type(exc).__name__)
            self._finish(scenario_id, "failed", None, f"{type(exc).__name__}: {str(exc)[:300]}")
            return
        if self._stopping.is_set():  # its variants may have been dropped half-way
            log.info("scenario run %s left unfinished as the process stops", scenario_id)
            return
        base = comparison.base
        if base.kpis is None:
            self._finish(scenario_id, "failed", _stored(comparison), f"the base could not be solved: {base.error}")
        else:
            self._finish(scenario_id, "done", _stored(comparison), None)

    def _finish(self, scenario_id: str, status: str, results: dict[str, Any] | None, error: str | None) -> None:
        try:
            with self.store.transaction() as s:
                repo.update_scenario(s, scenario_id, status=status, results=results, error=error)
        except Exception:
            log.exception("could not store the outcome of scenario run %s", scenario_id)


def _stored(comparison: Comparison) -> dict[str, Any]:
    return {"iterations": comparison.iterations, "seed": comparison.seed, "results": comparison.to_wire()}


def _out(record: ScenarioRecord) -> ScenarioOut:
    stored = record.results if isinstance(record.results, dict) else {}
    results = [ScenarioResultOut.model_validate(r) for r in stored.get("results", [])]
    if results and results[0].name != BASE_NAME:  # the base leads; keep the contract's order
        results.sort(key=lambda r: r.name != BASE_NAME)
    return ScenarioOut(
        id=record.id,
        status=record.status,
        results=results,
        error=record.error,
        seed=int(stored.get("seed", record.request.get("seed", 0))),
        iterations=stored.get("iterations"),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
