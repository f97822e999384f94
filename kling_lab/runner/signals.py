"""What the runner service and its per-job drivers share while jobs move.

`JobSignals` carries what reaches a job between its steps: a wake-up (a cancel,
an unsigned callback, a stop), the status a signed callback brought, a cancel
asked for in this process, and "the runner is stopping". `CreatesInFlight`
makes "don't abandon a job while its create is in flight" structural: a create
is sent inside `with in_flight.create(job_id):`, and the service neither
cancels that job when its lease is lost nor stops before the answer is written.
`HostLimits` holds one semaphore per host, so creates respect its concurrency.

All of it lives on the runner's event loop thread, except `ask_cancel`, which
any thread may call (the service then wakes the job on the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator, Mapping

from kling_lab.providers.base import TaskStatus


class JobSignals:
    """Wake-ups, webhook news, cancel requests and the stop flag, per job."""

    def __init__(self) -> None:
        self.stopping = False
        self._wakeups: dict[str, asyncio.Event] = {}
        self._news: dict[str, TaskStatus] = {}
        self._cancel: set[str] = set()

    def wakeup(self, job_id: str) -> asyncio.Event:
        """The event a sleeping job waits on; setting it ends the sleep early."""
        return self._wakeups.setdefault(job_id, asyncio.Event())

    def wake(self, job_id: str) -> None:
        event = self._wakeups.get(job_id)
        if event is not None:
            event.set()

    def wake_all(self) -> None:
        for event in self._wakeups.values():
            event.set()

    def push(self, job_id: str, status: TaskStatus) -> None:
        """A verified status from the host's callback: the job takes it instead of its next status request."""
        self._news[job_id] = status
        self.wake(job_id)

    def take_news(self, job_id: str) -> TaskStatus | None:
        return self._news.pop(job_id, None)

    def ask_cancel(self, job_id: str) -> None:
        """A person asked, in this process, to cancel the job (any thread)."""
        self._cancel.add(job_id)

    def cancel_asked(self, job_id: str) -> bool:
        return job_id in self._cancel

    def cancel_handled(self, job_id: str) -> None:
        self._cancel.discard(job_id)

    def forget(self, job_id: str) -> None:
        """The job's driver ended: drop everything kept for it."""
        self._wakeups.pop(job_id, None)
        self._news.pop(job_id, None)
        self._cancel.discard(job_id)


class CreatesInFlight:
    """The jobs whose create was sent and whose answer is not yet recorded."""

    def __init__(self) -> None:
        self._jobs: Counter[str] = Counter()
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def create(self, job_id: str) -> Iterator[None]:
        """Hold this around sending a create and recording its answer."""
        self._jobs[job_id] += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._jobs[job_id] -= 1
            if self._jobs[job_id] <= 0:
                del self._jobs[job_id]
            if not self._jobs:
                self._idle.set()

    def busy(self, job_id: str | None = None) -> bool:
        """True while a create of `job_id` (of any job, without one) is in flight."""
        return bool(self._jobs) if job_id is None else job_id in self._jobs

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no create is in flight, at most `timeout` seconds; True when none is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        return not self._jobs


class HostLimits:
    """One semaphore per host: how many creates may be in flight to it at once."""

    def __init__(self, concurrency: Mapping[str, int]) -> None:
        self._concurrency = concurrency
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def slot(self, provider: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(provider)
        if sem is None:
            sem = asyncio.Semaphore(max(1, int(self._concurrency.get(provider, 5))))
            self._semaphores[provider] = sem
        return sem

    def reset(self) -> None:
        """New limits were saved: creates from now on take fresh semaphores."""
        self._semaphores.clear()
