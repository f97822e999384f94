"""Waiting for jobs to finish by reading the store: for the CLI, scripts and tests.

The store is the only thing shared by whoever drives a job (this process's
runner, the app, a worker) and whoever waits for it, so waiting is reading the
store every `poll` seconds until the jobs are final. A `stop` event (Ctrl+C in
the CLI) or a `timeout` ends the wait early with `StoppedWaiting`, which says
which jobs were still moving; the jobs themselves are not touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from kling_lab.store import JobRecord, Store

T = TypeVar("T")


class StoppedWaiting(Exception):
    """The wait ended (timeout or stop) before every job was final; `jobs` holds their last records."""

    def __init__(self, message: str, jobs: list[JobRecord] | None = None) -> None:
        super().__init__(message)
        self.jobs = jobs or []


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float | None = None,
    poll: float = 0.05,
    stop: threading.Event | None = None,
    what: str = "the condition",
) -> T:
    """Call `check` every `poll` seconds until it returns something truthy, and return that.

    StoppedWaiting after `timeout` seconds (None: no limit) or once `stop` is set.
    """
    stop = stop or threading.Event()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if stop.is_set():
            raise StoppedWaiting(f"Stopped waiting for {what}.")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise StoppedWaiting(f"Gave up waiting for {what} after {timeout:g} s.")
        stop.wait(poll if left is None else min(poll, left))


def wait_for_batch(
    store: Store,
    batch_id: str,
    timeout: float | None = None,
    *,
    poll: float = 0.05,
    stop: threading.Event | None = None,
    on_poll: Callable[[list[JobRecord]], None] | None = None,
) -> list[JobRecord]:
    """The batch's jobs once every one of them is final.

    `on_poll` sees the jobs at every read (the CLI prints what changed).
    StoppedWaiting, with the jobs' last records and which were still moving,
    after `timeout` seconds or once `stop` is set.
    """
    latest: list[JobRecord] = []

    def finished() -> list[JobRecord] | None:
        nonlocal latest
        latest = store.jobs_for_batch(batch_id)
        if on_poll is not None:
            on_poll(latest)
        return latest if latest and all(job.state.is_final for job in latest) else None

    try:
        return wait_until(finished, timeout=timeout, poll=poll, stop=stop, what=f"batch {batch_id}")
    except StoppedWaiting as exc:
        moving = ", ".join(f"{job.label} ({job.state.value})" for job in latest if not job.state.is_final)
        raise StoppedWaiting(f"{exc} Still moving: {moving or 'no jobs found'}.", latest) from None


def wait_for_job(
    store: Store,
    job_id: str,
    timeout: float | None = None,
    *,
    poll: float = 0.05,
    stop: threading.Event | None = None,
) -> JobRecord | None:
    """The job once it is final, or None when it no longer exists; StoppedWaiting after `timeout` or `stop`."""
    latest: list[JobRecord | None] = [None]

    def finished() -> tuple[JobRecord | None] | None:
        job = latest[0] = store.get_job(job_id)
        return (job,) if job is None or job.state.is_final else None

    try:
        (job,) = wait_until(finished, timeout=timeout, poll=poll, stop=stop, what=f"clip {job_id}")
    except StoppedWaiting as exc:
        last = latest[0]
        state = last.state.value if last is not None else "gone"
        raise StoppedWaiting(f"{exc} It is {state}.", [last] if last is not None else []) from None
    return job
