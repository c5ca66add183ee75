"""Repository functions, one module per aggregate. Each takes the `Session` of a
`Store.transaction()` / `Store.plan_transaction()` first, never commits (the context manager
does), and returns frozen records from `api.store.records`.

    plans       plans: problem, parameters, status, current state
    routes      route versions of each courier
    events      courier events, idempotent by event id
    calls       call tasks, one open call per stop
    outbox      webhooks to deliver, leased and retried
    scenarios   what-if runs
    audit       who did what
    cache       the process-wide cache of decoded plan documents
    base        what they share: get a row or NotFound, insert a row or Conflict, ...

Inserts that may break a uniqueness rule run inside a SAVEPOINT, so a `Conflict` leaves the
surrounding transaction usable (e.g. to read the row that won).

Wall-clock times (`created_at`, `updated_at`, `received_at`, ...) default to now (UTC) and may be
passed explicitly; all datetimes must be timezone-aware.

Callers use the package as one namespace: `from api.store import repo; repo.get_plan(s, id)`.
"""

from api.store.repo.audit import add_audit, list_audit
from api.store.repo.base import UNSET, new_id
from api.store.repo.calls import add_call, get_call, list_calls, open_calls, update_call
from api.store.repo.events import add_event, find_event, list_events
from api.store.repo.outbox import (
    due_messages,
    enqueue,
    lease_due_messages,
    mark_delivered,
    mark_failed,
    pending_count,
    release_leases,
)
from api.store.repo.plans import (
    claim_stale_plans,
    create_plan,
    get_plan,
    list_plan_summaries,
    list_plans,
    update_plan,
)
from api.store.repo.routes import add_route_version, latest_routes, route_history
from api.store.repo.scenarios import create_scenario, get_scenario, unfinished_scenarios, update_scenario

__all__ = [
    "UNSET",
    "add_audit",
    "add_call",
    "add_event",
    "add_route_version",
    "claim_stale_plans",
    "create_plan",
    "create_scenario",
    "due_messages",
    "enqueue",
    "find_event",
    "get_call",
    "get_plan",
    "get_scenario",
    "latest_routes",
    "lease_due_messages",
    "list_audit",
    "list_calls",
    "list_events",
    "list_plan_summaries",
    "list_plans",
    "mark_delivered",
    "mark_failed",
    "new_id",
    "open_calls",
    "pending_count",
    "release_leases",
    "route_history",
    "unfinished_scenarios",
    "update_call",
    "update_plan",
    "update_scenario",
]
