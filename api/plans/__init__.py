"""The live plan service, one module per job. Read top to bottom:

state      the plan's state, typed (`PlanState` and its parts), its one codec
           (`from_doc`/`to_doc`, the stored layout), and pure changes to it
runtime    what requests share: settings, store, executors, per-plan locks, caches
solving    a day queued, solved off the request path, stored with its first calls
changes    the one path every change takes: apply -> re-time -> (search) -> decide ->
           commit state, routes, calls and outbox in one transaction -> answer
events     courier reports: checked, folded in through `changes`, idempotent by id
calls      the call list and call outcomes (overrides amend the state, then `changes`)
improve    background improvement once a plan's reports pause
views      read views: the state as the API shows it (the one domain -> wire path)
service    `PlanService`, the entry points the routers call
"""
