"""Webhook delivery from the outbox: at least once, retried with backoff, in order per plan.

Messages are committed together with the change that caused them; this worker only
delivers. Each POST carries `Idempotency-Key` (stable per message) so a receiver can drop
repeats, `X-OnTime-Event` with the kind, `X-OnTime-Replica` with the sending replica's name,
and a `sequence` in the body that grows with each message of a plan. A receiver that is down
loses nothing: the message waits in the store with its next attempt time, and the plan's later
messages wait behind it.

Every replica runs one worker; they share the outbox through leases (`repo.lease_due_messages`):
a message is sent by one replica at a time, and a second time only if the replica sending it
died first (it releases its leases when it starts again) or its lease ran out first (a lease
lasts as long as trying every leased message once, each until its timeout; a message whose
lease has run out is not sent by the one that leased it).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx

from api.store import Store, StoreUnavailable, repo

log = logging.getLogger("ontime.outbox")

MAX_BACKOFF_S = 300.0


def backoff_s(attempts: int) -> float:
    """1, 2, 4, ... seconds, capped at five minutes."""
    return min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_S)


BATCH = 20
"""Messages leased at a time (at most one per plan)."""


class OutboxWorker:
    def __init__(
        self, store: Store, url: str | None, timeout_s: float = 5.0, poll_s: float = 1.0, replica: str = ""
    ) -> None:
        self.store = store
        self.url = url
        self.poll_s = poll_s
        self.replica = replica
        self.lease_s = BATCH * timeout_s + 30
        """Long enough to try every leased message once, each until its timeout."""
        self._client = httpx.Client(timeout=timeout_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ontime-outbox", daemon=True)

    def start(self) -> None:
        if self.url:
            with self.store.transaction() as s:
                released = repo.release_leases(s, datetime.now(UTC), self.replica)
            if released:
                log.info("%d webhooks were in flight when replica %r stopped: sending again", released, self.replica)
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

    def deliver_due(self, limit: int = BATCH) -> int:
        """Lease the due messages (each plan's next) and try each once; returns how many
        were delivered."""
        if not self.url:
            return 0
        now = datetime.now(UTC)
        leased_until = time.monotonic() + self.lease_s
        with self.store.transaction() as s:
            due = repo.lease_due_messages(s, now, now + timedelta(seconds=self.lease_s), self.replica, limit)
        delivered = 0
        for message in due:
            if time.monotonic() > leased_until:
                break  # another replica may have them now
            headers = {
                "Idempotency-Key": message.idempotency_key,
                "X-OnTime-Event": message.kind,
                "X-OnTime-Replica": self.replica,
            }
            body = {"kind": message.kind, "id": message.idempotency_key, "sequence": message.id, **message.payload}
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
                    repo.mark_failed(s, message.id, error, retry_at, self.replica)
        return delivered
