"""OnTime's persistence: SQLAlchemy 2 models, Alembic migrations, a `Store` (engine,
transactions, locking) and repository functions in `api.store.repo`.

    store = Store("sqlite:///var/ontime.db")   # or postgresql+psycopg://...
    store.migrate()
    with store.plan_transaction(plan_id) as s:  # the plan's write lock until commit
        plan = repo.get_plan(s, plan_id)
        repo.update_plan(s, plan_id, version=plan.version + 1)
"""

from api.store import repo
from api.store.errors import Conflict, NotFound, StoreError, StoreUnavailable
from api.store.records import (
    AuditRecord,
    CallRecord,
    EventRecord,
    OutboxRecord,
    PlanRecord,
    PlanSummary,
    RouteVersionRecord,
    ScenarioRecord,
)
from api.store.store import Store, alembic_config, create_store_engine

__all__ = [
    "AuditRecord",
    "CallRecord",
    "Conflict",
    "EventRecord",
    "NotFound",
    "OutboxRecord",
    "PlanRecord",
    "PlanSummary",
    "RouteVersionRecord",
    "ScenarioRecord",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "alembic_config",
    "create_store_engine",
    "repo",
]
