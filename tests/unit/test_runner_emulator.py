"""The runner against the HTTP emulator of every host: real clients, real HTTP, injected faults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.config import load_settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import NewJob, Store
from kling_lab.waiting import wait_for_batch, wait_until
from tests.emulator import Emulator

FAST = RunnerConfig(poll_schedule=(0.05, 0.1), claim_interval=0.05, create_backoff=0.05, lease_seconds=10)


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0.2) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> None:
    emu.reset()
    emu.configure(latency=0.2)


def _setup(emu: Emulator, tmp_path: Path, **env: str) -> tuple[Store, JobRunner]:
    data = tmp_path / "data"
    settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(data), **env}, secrets={})
    store = Store(settings.database_path)
    runner = JobRunner(store, MediaStore(settings.media_dir), settings, config=FAST)
    return store, runner


def _batch(store: Store, provider: str, prompts: list[str], **fields) -> str:  # noqa: ANN003
    jobs = [NewJob(f"take {i}", provider, GenerationRequest(prompt=p, **fields), Decimal("0.35"))
            for i, p in enumerate(prompts)]
    return store.create_batch(template="t", provider=provider, jobs=jobs)


def _run_until_done(runner: JobRunner, store: Store, batch_id: str) -> list:
    """Start the runner, wait for the batch to finish, stop the runner; the batch's jobs."""
    runner.start()
    try:
        return _wait(store, batch_id)
    finally:
        runner.stop()


def _wait(store: Store, batch_id: str, timeout: float = 30) -> list:
    return wait_for_batch(store, batch_id, timeout)


def _sent(store: Store, batch_id: str) -> str:
    """The first job's host task id, once its create was accepted."""
    return wait_until(lambda: store.jobs_for_batch(batch_id)[0].host_task_id, timeout=10, what="the create")


def test_ten_jobs_on_four_hosts_finish_with_exactly_one_create_each(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    batches = [
        _batch(store, "kie", [f"kie shot {i}" for i in range(3)]),
        _batch(store, "replicate", [f"replicate shot {i}" for i in range(3)]),
        _batch(store, "fal", [f"fal shot {i}" for i in range(2)]),
        _batch(store, "kling", [f"kling shot {i}" for i in range(2)], mode="std"),
    ]
    runner.start()
    try:
        jobs = [job for batch in batches for job in _wait(store, batch)]
    finally:
        runner.stop()
    assert [j.state for j in jobs] == [JobState.DONE] * 10
    accepted = emu.stats()["accepted_creates"]
    assert {k: v for k, v in accepted.items() if v} == {"kie": 3, "replicate": 3, "fal": 2, "kling": 2}
    for job in jobs:
        assert Path(job.video_path).stat().st_size == job.video_bytes
        assert (job.video_width, job.video_height) == (320, 180)


def test_kling_create_whose_answer_is_lost_is_found_by_external_task_id(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.add_fault("reset_after", host="kling", op="create")
    batch_id = _batch(store, "kling", ["a lost answer"], mode="std")
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.DONE
    assert emu.stats()["accepted_creates"]["kling"] == 1


def test_fal_create_whose_answer_is_lost_ends_unknown_with_one_create(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.add_fault("reset_after", host="fal", op="create")
    batch_id = _batch(store, "fal", ["a lost answer"])
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.UNKNOWN
    assert emu.stats()["accepted_creates"]["fal"] == 1
    assert "fal.ai dashboard" in job.error


def test_rate_limited_create_then_success_pays_once(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.add_fault("http", host="kie", op="create", status=429, retry_after="0.2", count=2)
    batch_id = _batch(store, "kie", ["a busy host"])
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.DONE
    assert emu.stats()["accepted_creates"]["kie"] == 1


def test_download_cut_midway_is_retried_and_only_the_whole_clip_is_kept(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.add_fault("truncated", host="replicate", op="download")
    batch_id = _batch(store, "replicate", ["a cut download"])
    (job,) = _run_until_done(runner, store, batch_id)
    assert job.state == JobState.DONE
    assert Path(job.video_path).stat().st_size == job.video_bytes
    assert list((tmp_path / "data" / "media" / "tmp").iterdir()) == []


def test_host_failure_and_content_policy_reach_the_user_as_sentences(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    batch_id = _batch(store, "fal", ["[emu:fail=GPU lost] a", "[emu:policy] b"])
    failed, refused = _run_until_done(runner, store, batch_id)
    assert failed.state == JobState.FAILED and "GPU lost" in failed.error
    assert refused.state == JobState.FAILED and "content policy" in refused.error.lower()


def test_new_runner_over_the_same_store_resumes_without_resending_creates(emu, tmp_path) -> None:
    store, first = _setup(emu, tmp_path)
    emu.configure(latency=3)
    batch_id = _batch(store, "replicate", [f"long shot {i}" for i in range(4)])
    first.start()
    try:
        wait_until(lambda: all(j.host_task_id for j in store.jobs_for_batch(batch_id)), timeout=10, what="creates")
    finally:
        first.stop()
    assert emu.stats()["accepted_creates"]["replicate"] == 4
    _, second = _setup(emu, tmp_path)
    second.start()
    try:
        jobs = _wait(store, batch_id)
    finally:
        second.stop()
    assert [j.state for j in jobs] == [JobState.DONE] * 4
    assert emu.stats()["accepted_creates"]["replicate"] == 4


def test_webhook_then_poll_downloads_the_clip_once(emu, tmp_path) -> None:
    # The app's public URL points at an emulator sink, so callbacks land where the test can hand them on.
    store, runner = _setup(emu, tmp_path, KLING_LAB_PUBLIC_URL=emu.sink_url("app"))
    emu.configure(latency=0.5)
    batch_id = _batch(store, "replicate", ["a webhook"])
    runner.config = RunnerConfig(poll_schedule=(1.0, 1.0), claim_interval=0.05, lease_seconds=10)
    runner.start()
    try:
        assert emu.wait_until(lambda: len(emu.sink("app/webhook/replicate")) >= 1, timeout=10)
        for delivery in emu.sink("app/webhook/replicate"):
            body = delivery["body"].encode() if isinstance(delivery["body"], str) else delivery["body"]
            runner.accept_webhook("replicate", body, delivery.get("headers", {}))
            runner.accept_webhook("replicate", body, delivery.get("headers", {}))
        (job,) = _wait(store, batch_id)
    finally:
        runner.stop()  # joins the loop: a second download, had one started, has been counted by now
    assert job.state == JobState.DONE
    assert sum(emu.stats()["downloads"].values()) == 1


def test_cancel_of_a_running_job_reaches_a_host_that_can_cancel(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.configure(latency=30)
    batch_id = _batch(store, "replicate", ["a long take to cancel"])
    runner.start()
    try:
        _sent(store, batch_id)
        job_id = store.jobs_for_batch(batch_id)[0].id
        assert runner.request_cancel(job_id) == "Asked Replicate to cancel."
        (job,) = _wait(store, batch_id)
    finally:
        runner.stop()
    assert job.state == JobState.CANCELED
    assert sum(emu.stats()["cancel_calls"].values()) == 1


def test_cancel_on_a_host_without_a_cancel_call_says_it_will_finish(emu, tmp_path) -> None:
    store, runner = _setup(emu, tmp_path)
    emu.configure(latency=1)
    batch_id = _batch(store, "kie", ["a take kie cannot cancel"])
    runner.start()
    try:
        _sent(store, batch_id)
        message = runner.request_cancel(store.jobs_for_batch(batch_id)[0].id)
        (job,) = _wait(store, batch_id)
    finally:
        runner.stop()
    assert "has no cancel call" in message
    assert job.state == JobState.DONE
