"""What the repository tests share: a fixed time and a small problem, and a plan to hang rows on."""

from __future__ import annotations

from datetime import UTC, datetime

from api.store import Store, repo

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PROBLEM = {"name": "pudong", "depots": [{"id": "hub", "lat": 31.22, "lon": 121.54}], "couriers": [], "stops": []}


def new_plan(store: Store, name: str = "pudong", created_at: datetime | None = None) -> str:
    """A committed plan (status queued); its id."""
    plan_id = repo.new_id()
    with store.transaction() as s:
        repo.create_plan(s, plan_id, name, PROBLEM, {"time_limit_s": 10}, created_at=created_at)
    return plan_id
