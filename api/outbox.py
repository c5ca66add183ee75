"""Webhook delivery from the outbox: at least once, retried with backoff, in order per run.

Messages are committed together with the change that caused them; this worker only
delivers. Each POST carries `Idempotency-Key` (stable per message) so a receiver can drop
repeats, and `X-OnTime-Event` with the kind. A receiver that is down loses nothing: the
message waits in the store with its next attempt time.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx

from api.store import Store, StoreUnavailable, repo

log = logging.getLogger("ontime.outbox")

MAX_BACKOFF_S = 300.0


def backoff_s(attempts: int) -> float:
    """1, 2, 4, ... seconds, capped at five minutes."""
    return min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_S)


class OutboxWorker:
    def __init__(self, store: Store, url: str | None, timeout_s: float = 5.0, poll_s: float = 1.0) -> None:
        self.store = store
        self.url = url
        self.poll_s = poll_s
        self._client = httpx.Client(timeout=timeout_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ontime-outbox", daemon=True)

    def start(self) -> None:
        if self.url:
            with self.store.transaction() as s:
                repo.release_leases(s, datetime.now(UTC))
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.deliver_due()
            except StoreUnavailable:
                delivered = 0
            except Exception:
                log.exception("outbox delivery round failed")
                delivered = 0
            if not delivered:
                self._wake.wait(self.poll_s)
                self._wake.clear()

    def deliver_due(self, limit: int = 50) -> int:
        """Try every due message once; returns how many were delivered."""
        if not self.url:
            return 0
        now = datetime.now(UTC)
        with self.store.transaction() as s:
            due = repo.lease_due_messages(s, now, now + timedelta(seconds=60), limit)
        delivered = 0
        for message in due:
            headers = {"Idempotency-Key": message.idempotency_key, "X-OnTime-Event": message.kind}
            body = {"kind": message.kind, "id": message.idempotency_key, **message.payload}
            try:
                answer = self._client.post(self.url, json=body, headers=headers)
                ok = 200 <= answer.status_code < 300
                error = "" if ok else f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                ok, error = False, type(exc).__name__
            with self.store.transaction() as s:
                if ok:
                    repo.mark_delivered(s, message.id, datetime.now(UTC))
                    delivered += 1
                else:
                    retry_at = datetime.now(UTC) + timedelta(seconds=backoff_s(message.attempts + 1))
                    repo.mark_failed(s, message.id, error, retry_at)
        return delivered
