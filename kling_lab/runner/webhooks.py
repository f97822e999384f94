"""Host callbacks: idempotent, and never trusted further than they can be verified.

A callback the host signed, with a valid signature, moves the job at once
("applied"): its status is handed to the job's driver. An unsigned one, or one
from a host that signs nothing, only wakes the job so that it asks the host
itself with our key ("woke"); wake-ups for one job are spaced out so a flood
of them cannot make us hammer the host. A forged one (bad signature, stale
timestamp, no signature although a secret is configured) changes nothing
("refused"). "unmatched" when no job of ours has that task.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal

from kling_lab.providers.base import FINAL_STATES, HostClient, TaskStatus
from kling_lab.store import Store

log = logging.getLogger("kling_lab.runner")

WebhookOutcome = Literal["applied", "woke", "refused", "unmatched"]


class WebhookInbox:
    """Turns one callback into news for a job, a wake-up, or nothing (any thread)."""

    def __init__(
        self,
        *,
        store: Store,
        client: Callable[[str], HostClient],
        deliver: Callable[[str, TaskStatus], None],
        wake: Callable[[str], None],
        wake_interval: Callable[[], float],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._client = client
        self._deliver = deliver
        self._wake = wake
        self._wake_interval = wake_interval
        self._now = now
        self._last_wakeup: dict[str, float] = {}
        self._lock = threading.Lock()

    def accept(self, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        try:
            news = self._client(provider).parse_webhook(body, headers)
        except Exception:  # noqa: BLE001 - a bad callback must never hurt the server
            log.warning("ignored an unreadable %s callback", provider)
            return "refused"
        if news is None:
            log.warning("refused a %s callback that did not prove it came from the host", provider)
            return "refused"
        job = self._store.find_job_by_task(provider, news.task_id)
        if job is None:
            return "unmatched"
        if job.state in FINAL_STATES:
            return "applied" if news.verified else "woke"
        if news.status is not None:
            self._deliver(job.id, news.status)
            return "applied"
        if self._may_wake(job.id):
            self._wake(job.id)
        return "woke"

    def _may_wake(self, job_id: str) -> bool:
        now = self._now()
        with self._lock:
            last = self._last_wakeup.get(job_id, float("-inf"))
            if now - last < self._wake_interval():
                return False
            self._last_wakeup[job_id] = now
            return True

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._last_wakeup.pop(job_id, None)
