"""The clock seam and the in-flight guard the driver relies on, on their own."""

from __future__ import annotations

import asyncio

import pytest

from kling_lab.runner import CreatesInFlight, FakeClock, SystemClock

# A stepped test that waits on a step that never comes fails fast instead of hanging the suite.
pytestmark = pytest.mark.timeout(60)


def test_a_fake_sleep_returns_only_once_time_is_advanced_past_it() -> None:
    async def scenario() -> list[object]:
        clock = FakeClock(start=1000.0)
        task = asyncio.create_task(clock.sleep(5))
        seen: list[object] = [await clock.step(task)]
        clock.advance(4)
        await asyncio.sleep(0)
        seen.append(task.done())
        clock.advance(1)
        await task
        seen += [clock.now(), clock.sleeps]
        return seen

    assert asyncio.run(scenario()) == [5.0, False, 1005.0, [5.0]]


def test_advance_without_an_amount_goes_to_the_next_deadline() -> None:
    async def scenario() -> tuple[float, bool, bool]:
        clock = FakeClock(start=0.0)
        short, long = asyncio.create_task(clock.sleep(3)), asyncio.create_task(clock.sleep(10))
        await clock.step(short)
        await clock.step(long)
        now = clock.advance()
        await short
        await asyncio.sleep(0)
        done = (short.done(), long.done())
        clock.advance()
        await long
        return now, *done

    assert asyncio.run(scenario()) == (3.0, True, False)


def test_a_wake_up_ends_a_fake_sleep_without_time_passing() -> None:
    async def scenario() -> tuple[float, int]:
        clock, wake = FakeClock(start=50.0), asyncio.Event()
        task = asyncio.create_task(clock.sleep(30, wake))
        await clock.step(task)
        wake.set()
        await task
        return clock.now(), clock.sleeping

    assert asyncio.run(scenario()) == (50.0, 0)


def test_step_says_none_when_the_task_ends_without_sleeping() -> None:
    async def scenario() -> float | None:
        clock = FakeClock()

        async def quick() -> None:
            await clock.sleep(0)

        return await clock.step(asyncio.create_task(quick()))

    assert asyncio.run(scenario()) is None


def test_auto_advance_runs_every_sleep_at_once_and_keeps_the_time() -> None:
    async def scenario() -> tuple[float, list[float]]:
        clock = FakeClock(start=0.0, auto_advance=True)
        for seconds in (2, 3, -1):
            await clock.sleep(seconds)
        return clock.now(), clock.sleeps

    assert asyncio.run(scenario()) == (5.0, [2.0, 3.0, 0.0])


def test_the_system_clock_sleep_ends_when_woken() -> None:
    async def scenario() -> None:
        wake = asyncio.Event()
        wake.set()
        await asyncio.wait_for(SystemClock().sleep(3600, wake), timeout=60)

    asyncio.run(scenario())


def test_creates_in_flight_are_counted_per_job_and_released_on_errors() -> None:
    async def scenario() -> list[bool]:
        guard = CreatesInFlight()
        seen = [guard.busy()]
        with guard.create("a"):
            seen += [guard.busy("a"), guard.busy("b"), await guard.wait_idle(0)]
        with pytest.raises(RuntimeError), guard.create("b"):
            raise RuntimeError("the create blew up")
        seen += [guard.busy(), await guard.wait_idle(0)]
        return seen

    assert asyncio.run(scenario()) == [False, True, False, False, False, True]
