"""The same what-if sweep on a local Ray (`ray.init(num_cpus=2)`) and a local process pool:
identical figures for every scenario."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.schemas import ProblemIn
from scenarios.compare import CompareParams, compare
from scenarios.executors import LocalExecutor, RayExecutor
from scenarios.generate import generate_day

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]

ray = pytest.importorskip("ray")

DAY = ProblemIn.model_validate(generate_day(40, 4, seed=8)).to_domain()
PARAMS = CompareParams(time_limit_s=1, seed=2, iterations=80)
SWEEP = [
    ("two off", [{"kind": "remove_couriers", "count": 2}]),
    ("1-hour slots", [{"kind": "slot_width", "minutes": 60}]),
    ("rush", [{"kind": "traffic", "profile": [["07:30", "09:30", 1.4], ["17:00", "19:30", 1.4]]}]),
    ("more demand", [{"kind": "demand_scale", "factor": 1.2, "seed": 4}]),
]


@pytest.fixture(scope="module")
def on_ray() -> Iterator[RayExecutor]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    executor = RayExecutor()  # joins the Ray started above
    try:
        yield executor
    finally:
        executor.shutdown()


def test_ray_and_the_local_pool_give_identical_figures(on_ray: RayExecutor) -> None:
    pool = LocalExecutor(2)
    try:
        local = compare(DAY, SWEEP, PARAMS, pool)
    finally:
        pool.shutdown()
    remote = compare(DAY, SWEEP, PARAMS, on_ray)
    assert [r.name for r in remote.results] == ["base", "two off", "1-hour slots", "rush", "more demand"]
    assert all(r.error is None for r in remote.results)
    assert [r.kpis for r in remote.results] == [r.kpis for r in local.results]
    assert [r.delta for r in remote.results] == [r.delta for r in local.results]
