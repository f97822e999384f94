"""One job's state machine, stepped with a FakeClock: every status request and every delay, no real waiting.

Each test runs a `JobDriver` over a real store and media folder against the
scripted host of `runner_fakes`. `FakeClock(auto_advance=True)` lets a whole run
finish at once and records the sleeps it asked for; a manual `FakeClock` holds
the job in a sleep until the test advances time or wakes it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kling_lab.providers.base import HostError, JobState
from kling_lab.runner import FakeClock, MissingKey, RunnerConfig
from kling_lab.user_settings import UserSettings, save_user_settings
from tests.unit import runner_fakes
from tests.unit.runner_fakes import DriverHarness, ScriptedHost, make_batch, raising

# A stepped test that waits on a step that never comes fails fast instead of hanging the suite.
pytestmark = pytest.mark.timeout(60)

store = runner_fakes.store
data_dir = runner_fakes.data_dir


# -- the poll schedule ------------------------------------------------------------------------------


def test_a_job_goes_from_queued_to_done_polling_at_2_3_4_5_seconds(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=4)
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert harness.clock.sleeps == [2.0, 3.0, 4.0, 5.0]
    assert host.status_calls == {"task-1": 4}
    assert host.creates == [job.id] and host.downloads == 1
    assert Path(job.video_path).read_bytes() == tiny_mp4
    assert job.thumb_path and Path(job.thumb_path).exists()
    assert job.video_width == 160 and job.has_audio is False
    states = [e.to_state for e in store.events_for_job(job.id)]
    assert states == ["queued", "sending", "submitted", "running", "downloading", "done"]


def test_a_long_job_backs_off_after_90_seconds_to_one_request_every_15(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=30)
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    growth = [6.25, 7.8125, 9.765625, 12.20703125, 15.0, 15.0]
    assert harness.clock.sleeps[:26] == [2.0, 3.0, 4.0] + [5.0] * 17 + growth
    assert max(harness.clock.sleeps) == 15.0
    assert host.status_calls["task-1"] == 30


def test_progress_the_host_reports_is_stored_while_running(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=100)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    job_id = harness.claim(make_batch(store, 1))[0]

    async def scenario() -> float | None:
        task = asyncio.create_task(harness.driver.run(job_id))
        for _ in range(4):
            await harness.clock.step(task)
            harness.clock.advance()
        await harness.clock.step(task)
        progress = store.get_job(job_id).progress
        harness.signals.stopping = True
        harness.signals.wake(job_id)
        await task
        return progress

    assert harness.run(scenario()) == pytest.approx(0.04)
    assert store.get_job(job_id).state == JobState.RUNNING


# -- creates: retries, lost answers, refusals --------------------------------------------------------


def test_a_rate_limited_create_waits_the_hosts_retry_after_then_is_sent_again(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(HostError("rate_limited", "fal.ai is rate limiting this key.",
                                           retry_safe=True, retry_after=7))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert harness.clock.sleeps[0] == 7.0
    assert len(host.creates) == 2 and len(host.accepted) == 1
    assert any("Retrying in 7 s" in e.detail for e in store.events_for_job(job.id))


def test_retry_after_is_capped_and_each_attempt_sends_its_own_key(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(HostError("rate_limited", "slow down", retry_safe=True, retry_after=5000))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert harness.clock.sleeps[0] == RunnerConfig().max_retry_after
    assert len(host.create_keys) == 2 and len(set(host.create_keys)) == 2
    assert all(key.startswith(job.id) for key in host.create_keys)
    assert job.host_extra["create_key"] == host.create_keys[-1]


def test_a_create_that_never_connected_is_retried_with_a_doubling_backoff(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(httpx.ConnectError("refused")), raising(httpx.ConnectTimeout("slow"))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert harness.clock.sleeps[:2] == [2.0, 4.0]
    assert len(host.creates) == 3


def test_a_host_that_can_never_be_reached_fails_saying_nothing_was_sent(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(httpx.ConnectError("refused")) for _ in range(6)]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error_kind == "unavailable"
    assert "Nothing was sent" in job.error
    assert harness.clock.sleeps == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert len(host.creates) == 6


def test_a_lost_create_answer_ends_unknown_with_one_create_sent(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def accepted_then_lost(job_id: str) -> None:
        host.accepted[f"task-lost-{job_id}"] = job_id
        raise httpx.ReadTimeout("timed out")

    host.create_script = [accepted_then_lost]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.UNKNOWN
    assert len(host.creates) == 1
    assert "did not send it again" in job.error and "fal.ai dashboard" in job.error
    assert host.lookups == [host.create_keys[0]]  # looked up by the key that attempt sent


def test_a_lost_create_answer_is_resolved_when_the_host_can_look_it_up(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.lookup_finds = True

    def accepted_then_lost(job_id: str) -> None:
        host.accepted["task-found"] = host.create_keys[-1]  # the host keeps the id this attempt sent
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    host.create_script = [accepted_then_lost]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert job.host_task_id == "task-found"
    assert len(host.creates) == 1
    assert host.lookups == [host.create_keys[0]]


def test_a_gateway_timeout_on_create_is_never_resent(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(HostError("server", "fal.ai had a gateway error.", status_code=504))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.UNKNOWN
    assert "gateway error (HTTP 504)" in job.error
    assert len(host.creates) == 1 and harness.clock.sleeps == []


def test_a_refused_create_fails_with_the_hosts_sentence_and_is_not_resent(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(HostError("credits", "fal.ai says the account is out of credits.",
                                           status_code=402))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED
    assert job.error == "fal.ai says the account is out of credits." and job.error_kind == "credits"
    assert len(host.creates) == 1


def test_a_job_caught_in_sending_is_resolved_not_resent(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    harness = DriverHarness(store, data_dir, host)
    batch_id = make_batch(store, 1)
    (job_id,) = harness.claim(batch_id)
    store.transition(job_id, JobState.SENDING, owner=harness.owner)  # the process died while sending
    job = harness.run_one(batch_id)
    assert job.state == JobState.UNKNOWN and "app stopped" in job.error
    assert host.creates == []


def test_a_job_with_a_host_task_is_resumed_by_polling_never_by_a_new_create(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=2)
    harness = DriverHarness(store, data_dir, host)
    batch_id = make_batch(store, 1)
    (job_id,) = harness.claim(batch_id)
    store.transition(job_id, JobState.RUNNING, owner=harness.owner, host_task_id="task-7")
    job = harness.run_one(batch_id)
    assert job.state == JobState.DONE and host.creates == []
    assert host.status_calls == {"task-7": 2}
    assert harness.clock.sleeps[0] == 0  # a running job is asked at once after a restart


def test_a_create_is_in_flight_from_sending_until_its_answer_is_recorded(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))
    in_flight = harness.driver.in_flight

    async def scenario() -> tuple[bool, bool, JobState]:
        host.create_gate = asyncio.Event()
        task = asyncio.create_task(harness.driver.run(job_id))
        while not host.creates:
            await asyncio.sleep(0)
        during = in_flight.busy(job_id)
        host.create_gate.set()
        await harness.clock.step(task)  # the first poll's sleep: the answer is recorded by then
        after = in_flight.busy(job_id) or in_flight.busy()
        state = store.get_job(job_id).state
        harness.signals.stopping = True
        harness.signals.wake(job_id)
        await task
        return during, after, state

    during, after, state = harness.run(scenario())
    assert during is True and after is False
    assert state == JobState.SUBMITTED


# -- budgets, keys and bugs before the create -----------------------------------------------------------


def test_the_budget_is_checked_before_each_create_and_a_job_past_it_sends_nothing(store, data_dir, tiny_mp4):
    save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("0.50")))
    host = ScriptedHost(tiny_mp4)
    harness = DriverHarness(store, data_dir, host)
    jobs = harness.run_batch(make_batch(store, 2))  # each counts the other as committed while it is queued
    (done,) = [job for job in jobs if job.state == JobState.DONE]
    (refused,) = [job for job in jobs if job.state == JobState.FAILED]
    assert refused.error_kind == "budget" and "Nothing was charged" in refused.error
    assert host.creates == [done.id]
    assert [e.detail for e in store.events_for_job(refused.id)][-1] == "refused by the budget before sending"


def test_a_budget_saved_while_a_create_waits_to_be_resent_stops_the_resend(store, data_dir, tiny_mp4):
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(HostError("rate_limited", "slow down", retry_safe=True, retry_after=30))]
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> None:
        task = asyncio.create_task(harness.driver.run(job_id))
        assert await harness.clock.step(task) == 30
        save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("0.10")))
        harness.clock.advance()
        await task

    harness.run(scenario())
    job = store.get_job(job_id)
    assert job.state == JobState.FAILED and job.error_kind == "budget"
    assert len(host.creates) == 1


def test_a_missing_key_fails_the_job_with_a_sentence_and_sends_nothing(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def no_key(provider: str, batch_id: str | None) -> ScriptedHost:
        raise MissingKey("No key is set for fal.ai: set FAL_KEY. Then press Retry.")

    harness = DriverHarness(store, data_dir, host, clients=no_key)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error_kind == "auth"
    assert "FAL_KEY" in job.error
    assert host.creates == []


def test_a_bug_in_a_client_fails_only_that_job_with_a_plain_sentence(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script = [raising(ZeroDivisionError())]
    harness = DriverHarness(store, data_dir, host)
    broken, fine = harness.run_batch(make_batch(store, 2))
    assert broken.state == JobState.FAILED and broken.error_kind == "internal"
    assert broken.error == "Kling Lab hit an internal error (ZeroDivisionError)."
    assert fine.state == JobState.DONE


def test_a_job_another_runner_took_over_is_left_to_it(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=100)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> object:
        task = asyncio.create_task(harness.driver.run(job_id))
        await harness.clock.step(task)
        store.release(harness.owner, job_id)
        store.claim_jobs("other-runner", lease_seconds=60)
        harness.clock.advance()
        await harness.clock.step(task)  # its next write is refused: it stops without a sound
        return await task

    last = harness.run(scenario())
    job = store.get_job(job_id)
    assert last is not None and job.state == JobState.SUBMITTED
    assert job.error is None
