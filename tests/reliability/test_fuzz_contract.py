"""Contract fuzzing, bounded: schemathesis draws requests from the live server's own OpenAPI
schema for every operation, every role and both generation modes (and real ids in the path),
and every answer must be no 5xx and match its schema (`benchmarks/fuzz.py`; the long run is
`ontime bench fuzz`)."""

from __future__ import annotations

import pytest

from benchmarks.fuzz import ROLES, fuzz
from tests.reliability.support import KEYS, SharedDay

pytestmark = [pytest.mark.xdist_group("reliability-shared")]

MAX_EXAMPLES = 4
"""Per (operation, role, mode, ids): about 600 requests in all, about a minute. Requests without a
key or with a wrong one are walked route by route in test_security.py, so no auth probes here."""


def test_fuzzed_requests_get_no_5xx_and_answers_that_match_the_schema(shared: SharedDay) -> None:
    keys = {role: KEYS[shared.own if role == "courier" else role] for role in ROLES}
    real = {"plan_id": shared.fuzz_plan_id, "courier_id": shared.own, "call_id": shared.fuzz_call_id}
    report = fuzz(
        shared.managed.url, keys, real, max_examples=MAX_EXAMPLES, max_seconds=150, seed=20261126, auth_probes=False
    )
    findings = "\n".join(
        f"{f.operation} as {f.role} ({f.mode}): {f.check}, HTTP {f.status}\n{f.detail}\n{f.curl}"
        for f in report.unique_findings()
    )
    assert not report.findings, findings
    assert not report.stopped_early, f"only {report.requests} requests in the time bound"
    assert not [s for s in report.statuses if s >= 500]
    assert len(report.per_operation) >= 12, sorted(report.per_operation)
    assert report.statuses[200] and report.statuses[422] and report.statuses[403]
