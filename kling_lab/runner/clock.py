"""The runner's clock seam: what time it is, and a sleep a wake-up can cut short.

The per-job driver never calls `time.time` or `asyncio.sleep` itself; it asks a
`Clock`. `SystemClock` is the real one. `FakeClock` lets a test drive one job
step by step with no real waiting: each sleep the driver asks for is recorded,
and it returns as soon as the test advances time past it (or at once, with
`auto_advance=True`), or when the job is woken.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (the store's timestamps are on the same scale)."""
        ...

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Return after `seconds`, or as soon as `wake` is set."""
        ...


class SystemClock:
    """Wall time and asyncio's timers."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        seconds = max(0.0, seconds)
        if wake is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)


class _Sleeper:
    __slots__ = ("deadline", "due", "seconds", "task", "wake")

    def __init__(self, deadline: float, seconds: float, wake: asyncio.Event | None) -> None:
        self.deadline, self.seconds, self.wake = deadline, seconds, wake
        self.due: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.current_task()

    @property
    def waiting(self) -> bool:
        """Still asleep: neither due nor woken (the task may not have resumed yet)."""
        return not self.due.done() and not (self.wake is not None and self.wake.is_set())


class FakeClock:
    """A clock a test moves by hand. Single event loop only (the test's).

    `sleeps` lists every sleep asked for, in order. With `auto_advance` every
    sleep moves time forward by what it asked and returns at once, so
    `await driver.run(job_id)` runs a whole job with no real waiting. Without
    it, a sleeper waits until `advance()` moves time past its deadline or its
    wake event is set; `step(task)` runs `task` until it is asleep on this
    clock (returning the seconds it asked for) or has ended (None).

    It starts at the real time by default so that "seconds since the job was
    submitted", measured against the store's timestamps, is what the test
    advanced.
    """

    def __init__(self, start: float | None = None, *, auto_advance: bool = False) -> None:
        self._now = time.time() if start is None else start
        self.auto_advance = auto_advance
        self.sleeps: list[float] = []
        self._sleepers: list[_Sleeper] = []
        self._changed: asyncio.Event | None = None

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        if self.auto_advance:
            self._now += seconds
            await asyncio.sleep(0)
            return
        if seconds == 0 or (wake is not None and wake.is_set()):
            await asyncio.sleep(0)
            return
        sleeper = _Sleeper(self._now + seconds, seconds, wake)
        self._sleepers.append(sleeper)
        if self._changed is not None:
            self._changed.set()
        waits: set[asyncio.Future[object]] = {sleeper.due}
        woken = asyncio.ensure_future(wake.wait()) if wake is not None else None
        if woken is not None:
            waits.add(woken)
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if woken is not None:
                woken.cancel()
            with contextlib.suppress(ValueError):
                self._sleepers.remove(sleeper)

    @property
    def sleeping(self) -> int:
        """How many coroutines are asleep on this clock now."""
        return sum(1 for s in self._sleepers if s.waiting)

    def advance(self, seconds: float | None = None) -> float:
        """Move time forward (by default to the earliest sleeper's deadline) and release every sleeper now due."""
        if seconds is None:
            deadlines = [s.deadline for s in self._sleepers if s.waiting]
            seconds = max(0.0, min(deadlines, default=self._now) - self._now)
        self._now += seconds
        for sleeper in list(self._sleepers):
            if sleeper.deadline <= self._now and not sleeper.due.done():
                sleeper.due.set_result(None)
        return self._now

    async def step(self, task: asyncio.Future[object]) -> float | None:
        """Let `task` run until it is asleep on this clock (the seconds it asked for), or has ended (None)."""
        while True:
            if task.done():
                return None
            for sleeper in self._sleepers:
                if sleeper.task is task and sleeper.waiting:
                    return sleeper.seconds
            changed = self._changed = asyncio.Event()
            waiter = asyncio.ensure_future(changed.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
