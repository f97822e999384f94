"""A cancel asked for anywhere (the app, another browser, `kling-lab cancel`) reaches the runner driving the job."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.cli import main
from kling_lab.config import load_settings
from kling_lab.domain.jobs import JobState
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import NewJob, Store
from kling_lab.waiting import wait_for_job, wait_until
from tests.emulator import Emulator

FAST = RunnerConfig(poll_schedule=(0.05, 0.1), claim_interval=0.05, create_backoff=0.05, lease_seconds=10)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "kling_lab.sqlite3")


def _one(store: Store, provider: str = "replicate") -> str:
    job = NewJob("take", provider, GenerationRequest(prompt="a slow tide"), Decimal("0.35"))
    batch_id = store.create_batch(template="t", provider=provider, jobs=[job])
    return store.jobs_for_batch(batch_id)[0].id


def test_a_queued_job_nobody_holds_is_canceled_at_once_and_costs_nothing(store):
    job = store.request_cancel(_one(store))
    assert job.state == JobState.CANCELED
    assert "nothing was charged" in job.error


def test_a_queued_job_a_runner_holds_is_only_flagged_for_that_runner(store):
    job_id = _one(store)
    assert store.claim_jobs("some-runner", lease_seconds=60) == [job_id]
    job = store.request_cancel(job_id)
    assert job.state == JobState.QUEUED
    assert store.cancel_requested(job_id)


def test_a_finished_job_is_left_as_it_is(store):
    job_id = _one(store)
    store.transition(job_id, JobState.DONE, owner=None)
    assert store.request_cancel(job_id).state == JobState.DONE
    assert not store.cancel_requested(job_id)


def test_retry_clears_an_old_cancel_request(store):
    job_id = _one(store)
    store.claim_jobs("r", lease_seconds=60)
    store.request_cancel(job_id)
    store.transition(job_id, JobState.CANCELED, owner=None)
    assert store.retry(job_id).cancel_requested_at is None


def test_a_cancel_written_by_another_process_stops_the_job_at_the_host(tmp_path, store):
    with Emulator(latency=60) as emu:
        settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(tmp_path / "data")}, secrets={})
        runner = JobRunner(store, MediaStore(settings.media_dir), settings, config=FAST).start()
        try:
            job_id = _one(store)
            wait_until(lambda: store.get_job(job_id).host_task_id, timeout=15, what="the create")
            # What `kling-lab cancel` or a second app server does: it only writes to the shared store.
            Store(store.path).request_cancel(job_id)
            job = wait_for_job(store, job_id, timeout=15)
        finally:
            runner.stop()
        assert job.state == JobState.CANCELED
        assert sum(emu.stats()["cancel_calls"].values()) == 1


def test_kling_lab_cancel_of_a_queued_clip_sends_nothing(tmp_path, monkeypatch, capsys, store):
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    job_id = _one(store)
    assert main(["cancel", job_id, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["job"]["state"] == "canceled"
    assert document["message"] == "Canceled."


def test_kling_lab_cancel_drives_a_job_no_app_holds_to_its_cancel_at_the_host(tmp_path, monkeypatch, capsys, store):
    with Emulator(latency=60) as emu:
        for name, value in emu.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.chdir(tmp_path)
        assert main(["generate", "a slow tide", "--provider", "replicate", "--detach", "--json"]) == 0
        job_id = json.loads(capsys.readouterr().out)["jobs"][0]["id"]
        settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(tmp_path / "data")}, secrets={})
        app = JobRunner(store, MediaStore(settings.media_dir), settings, config=FAST, batch_filter="x").start()
        app.stop()  # nobody is driving it now
        sent = JobRunner(store, MediaStore(settings.media_dir), settings, config=FAST,
                         batch_filter=store.get_job(job_id).batch_id).start()
        wait_until(lambda: store.get_job(job_id).host_task_id, timeout=15, what="the create")
        sent.stop()  # the app went away after sending: the job is submitted, its lease released
        assert main(["cancel", job_id, "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["job"]["state"] == "canceled", document
        assert sum(emu.stats()["cancel_calls"].values()) == 1


def test_kling_lab_cancel_of_an_unknown_or_finished_clip_exits_2(tmp_path, monkeypatch, capsys, store):
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert main(["cancel", "j_000000000000", "--json"]) == 2
    job_id = _one(store)
    store.transition(job_id, JobState.DONE, owner=None)
    assert main(["cancel", job_id, "--json"]) == 2
    capsys.readouterr()
