"""The runner service on its real thread: claims, restarts, the start-up sweep, callbacks, cancel and stop.

The per-job rules (poll schedule, retries, lost creates, cancel, budgets,
charges, downloads) are stepped with a FakeClock in test_runner_driver.py and
test_runner_following.py; this file keeps what needs the thread and the loop.
Waiting is `kling_lab.waiting`, the helper the CLI uses too.
"""

from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.config import Settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import JobState
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import Store
from kling_lab.waiting import wait_for_batch, wait_until
from tests.unit.runner_fakes import BASE, FAST, ScriptedHost, make_batch, settings_for

__all__ = ["FAST", "ScriptedHost", "_batch", "_run_until_done", "_runner", "_settings"]  # test_budget, test_runner_keys

_settings = settings_for
_batch = make_batch


def _runner(store: Store, data_dir: Path, host: ScriptedHost, **kwargs) -> JobRunner:  # noqa: ANN003
    config = kwargs.pop("config", FAST)
    return JobRunner(store, MediaStore(data_dir / "media"), _settings(data_dir), config=config,
                     client_factory=lambda provider, settings, media: host, transport=host.transport(), **kwargs)


def _run_until_done(runner: JobRunner, store: Store, batch_id: str) -> list:
    """Start the runner, wait for the batch to finish, stop the runner; the batch's jobs."""
    runner.start()
    try:
        return wait_for_batch(store, batch_id, timeout=15)
    finally:
        runner.stop()


def _submitted(store: Store, batch_id: str) -> str:
    return wait_until(lambda: store.jobs_for_batch(batch_id)[0].host_task_id, timeout=10, what="the create")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "db.sqlite3")


def test_ten_jobs_run_at_once_and_each_is_created_once_and_downloaded(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=2)
    batch_id = _batch(store, 10)
    jobs = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert [j.state for j in jobs] == [JobState.DONE] * 10
    assert sorted(host.creates) == sorted(j.id for j in jobs)
    for job in jobs:
        assert Path(job.video_path).read_bytes() == tiny_mp4
        assert job.thumb_path and Path(job.thumb_path).exists()
        assert job.actual_cost == Decimal("0.35")
        assert job.video_width == 160 and job.has_audio is False


def test_restart_resumes_submitted_jobs_without_sending_creates_again(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    batch_id = _batch(store, 3)
    first = _runner(store, tmp_path / "data", host).start()
    try:
        wait_until(lambda: all(j.state == JobState.RUNNING for j in store.jobs_for_batch(batch_id)), timeout=10,
                   what="every job running")
    finally:
        first.stop()
    assert len(host.creates) == 3
    host.polls_until_done = 0
    jobs = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert [j.state for j in jobs] == [JobState.DONE] * 3
    assert len(host.creates) == 3


def test_stop_releases_the_leases_so_another_runner_takes_over_at_once(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    batch_id = _batch(store, 2)
    runner = _runner(store, tmp_path / "data", host).start()
    try:
        wait_until(lambda: all(j.host_task_id for j in store.jobs_for_batch(batch_id)), timeout=10, what="creates")
    finally:
        runner.stop()
    taken = store.claim_jobs("worker-2", lease_seconds=60)
    assert sorted(taken) == sorted(j.id for j in store.jobs_for_batch(batch_id))


def test_start_removes_a_partial_download_a_killed_process_left_and_finishes_the_job(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / "data" / "media" / "tmp" / f"{store.jobs_for_batch(batch_id)[0].id}.{dead.pid}.ab12.part"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a clip")
    jobs = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert [j.state for j in jobs] == [JobState.DONE]
    assert list(orphan.parent.iterdir()) == []


def test_job_caught_in_sending_after_a_crash_is_resolved_not_resent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    an_hour_ago = time.time() - 3600  # the crashed runner's lease ran out long ago
    (job_id,) = store.claim_jobs("crashed-runner", lease_seconds=60, now=an_hour_ago)
    store.transition(job_id, JobState.SENDING, owner="crashed-runner")
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.UNKNOWN
    assert host.creates == []


def test_signed_webhook_finishes_the_job_without_waiting_for_a_poll(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(600.0,), claim_interval=0.02, lease_seconds=5)
    batch_id = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host, config=config).start()
    try:
        task_id = _submitted(store, batch_id)
        assert runner.accept_webhook("fal", f"signed:{task_id}".encode(), {}) == "applied"
        assert runner.accept_webhook("fal", f"signed:{task_id}".encode(), {}) == "applied"  # hosts deliver twice
        (job,) = wait_for_batch(store, batch_id, timeout=10)
    finally:
        runner.stop()
    assert job.state == JobState.DONE
    assert host.status_calls == {} and host.downloads == 1


def test_forged_and_unmatched_webhooks_change_no_job(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(600.0,), claim_interval=0.02, lease_seconds=5)
    batch_id = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host, config=config).start()
    try:
        task_id = _submitted(store, batch_id)
        outcomes = [runner.accept_webhook("fal", f"forged:{task_id}".encode(), {}) for _ in range(20)]
        unmatched = runner.accept_webhook("fal", b"signed:task-nobody", {})
    finally:
        runner.stop()
    assert outcomes == ["refused"] * 20 and unmatched == "unmatched"
    assert store.jobs_for_batch(batch_id)[0].state == JobState.SUBMITTED
    assert host.status_calls == {} and host.downloads == 0


def test_unsigned_webhooks_wake_the_job_on_the_loop_to_ask_the_host_once(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(600.0,), claim_interval=0.02, lease_seconds=5, webhook_wake_interval=600)
    batch_id = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host, config=config).start()
    try:
        task_id = _submitted(store, batch_id)
        outcomes = [runner.accept_webhook("fal", task_id.encode(), {}) for _ in range(50)]
        wait_until(lambda: host.status_calls.get(task_id), timeout=10, what="the early status request")
        wait_until(lambda: store.jobs_for_batch(batch_id)[0].state == JobState.RUNNING, timeout=10, what="running")
    finally:
        runner.stop()
    assert outcomes == ["woke"] * 50
    assert host.status_calls == {task_id: 1}
    assert host.downloads == 0


def test_a_cancel_asked_from_another_thread_reaches_a_job_asleep_between_polls(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(600.0,), claim_interval=0.02, lease_seconds=5)
    batch_id = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host, config=config).start()
    try:
        _submitted(store, batch_id)
        assert runner.request_cancel(store.jobs_for_batch(batch_id)[0].id) == "Asked fal.ai to cancel."
        (job,) = wait_for_batch(store, batch_id, timeout=10)
    finally:
        runner.stop()
    assert job.state == JobState.CANCELED
    assert host.cancels == ["task-1"] and host.status_calls == {}


def test_a_queued_job_canceled_before_any_runner_holds_it_is_never_sent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host)
    assert runner.request_cancel(store.jobs_for_batch(batch_id)[0].id) == (
        "Canceled before it was sent; nothing was charged.")
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.CANCELED
    assert host.creates == []


def test_missing_key_fails_the_job_with_a_sentence_and_sends_nothing(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    runner = JobRunner(store, MediaStore(tmp_path / "data" / "media"),
                       Settings(data_dir=tmp_path / "data", base_urls={"fal": BASE}), config=FAST,
                       client_factory=lambda *a: host, transport=host.transport())
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.FAILED
    assert "FAL_KEY" in job.error and "test-key" not in job.error
    assert host.creates == []


def test_batch_filtered_runner_leaves_other_batches_alone(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    other = _batch(store, 1)
    mine = _batch(store, 1)
    _run_until_done(_runner(store, tmp_path / "data", host, batch_filter=mine), store, mine)
    assert store.jobs_for_batch(other)[0].state == JobState.QUEUED
    assert len(host.creates) == 1
    assert store.claim_jobs("someone-else", lease_seconds=60) == [store.jobs_for_batch(other)[0].id]


def test_poll_schedule_makes_at_most_15_requests_for_a_60_second_job() -> None:
    config = RunnerConfig()
    elapsed, delay, attempt, requests = 0.0, config.poll_schedule[0], 0, 0
    while True:
        elapsed += delay
        requests += 1
        if elapsed >= 60:
            break
        attempt += 1
        delay = config.poll_delay(attempt, elapsed, delay)
    assert requests <= 15
    assert elapsed - 60 <= 5


def test_poll_delay_grows_to_15_seconds_for_long_jobs() -> None:
    config = RunnerConfig()
    delay = 5.0
    for attempt in range(40):
        delay = config.poll_delay(attempt, 100 + attempt * 10, delay)
    assert delay == 15.0


def test_runner_loop_survives_a_client_that_raises_unexpectedly(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def bug(job_id: str) -> None:
        raise ZeroDivisionError

    host.create_script = [bug]
    first, second = _batch(store, 1), _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host).start()
    try:
        (broken,) = wait_for_batch(store, first, timeout=15)
        (fine,) = wait_for_batch(store, second, timeout=15)
    finally:
        runner.stop()
    assert broken.state == JobState.FAILED and "internal error" in broken.error
    assert fine.state == JobState.DONE
