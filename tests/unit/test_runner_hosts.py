"""Every host, end to end through the runner: create, status, download, with its base URL written either way.

The emulator answers as the hosts' SDKs and references say (tests/oracle checks
that); here the whole path a clip takes is run through the real clients, the
runner and the store, as the app runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import JobState
from tests.emulator import Emulator
from tests.emulator.core import BASE_URL_ENV
from tests.unit import test_runner_emulator as runner_emulator

# The runner tests' own module emulator (latency 0.2 s, reset before each test) and helpers, not copies of them.
emu = runner_emulator.emu
_clean = runner_emulator._clean
_setup, _batch, _run = runner_emulator._setup, runner_emulator._batch, runner_emulator._run_until_done

HOSTS = ("kie", "replicate", "aimlapi", "fal", "kling", "inference")


def _versioned(emu: Emulator, host: str) -> str:
    """The host's base URL as its docs write it with their version segment (fal's has none: a trailing slash)."""
    segments = CAPABILITIES[host].version_segments
    return emu.base_url(host) + (segments[0] if segments else "/")


@pytest.mark.parametrize("written", ["root", "versioned"])
@pytest.mark.parametrize("host", HOSTS)
def test_a_clip_is_created_polled_and_downloaded_with_the_base_url_written_either_way(emu, tmp_path, host, written):
    base = emu.base_url(host) if written == "root" else _versioned(emu, host)
    store, runner = _setup(emu, tmp_path, **{BASE_URL_ENV[host]: base})
    (job,) = _run(runner, store, _batch(store, host, [f"a lighthouse on {host}"]))
    assert job.state == JobState.DONE, job.error
    assert emu.stats()["accepted_creates"] == {host: 1}
    assert Path(job.video_path).stat().st_size == job.video_bytes > 0
    (create,) = emu.creates(host)
    assert "/v1/v1" not in create.path and "/v2/v2" not in create.path and "/api/v1/api" not in create.path


def test_a_rejected_inference_task_ends_failed_with_the_hosts_reason_on_the_first_poll(emu, tmp_path):
    store, runner = _setup(emu, tmp_path)
    (job,) = _run(runner, store, _batch(store, "inference", ["a fox [emu:reject=no balance left]"]))
    assert job.state == JobState.FAILED
    assert "no balance left" in job.error
    assert sum(emu.stats()["status_calls"].values()) <= 1


def test_a_kling_retry_after_a_host_side_failure_is_accepted_with_a_new_external_id(emu, tmp_path):
    store, runner = _setup(emu, tmp_path)
    emu.add_outcome("fail", reason="GPU lost", count=1)
    batch_id = _batch(store, "kling", ["a harbour at night"], mode="std")
    (failed,) = _run(runner, store, batch_id)
    assert failed.state == JobState.FAILED and "GPU lost" in failed.error
    store.retry(failed.id)
    _, runner = _setup(emu, tmp_path)
    (retried,) = _run(runner, store, batch_id)
    assert retried.state == JobState.DONE, retried.error
    external_ids = [c.body["external_task_id"] for c in emu.creates("kling")]
    assert len(external_ids) == 2 and len(set(external_ids)) == 2
    assert all(e.startswith(failed.id) for e in external_ids)


def test_a_fal_result_500_ends_the_job_failed_with_fals_reason_within_one_poll(emu, tmp_path):
    store, runner = _setup(emu, tmp_path)
    emu.add_fault("http", host="fal", op="result", status=500, message="the GPU worker crashed")
    (job,) = _run(runner, store, _batch(store, "fal", ["a fox in the snow"]))
    assert job.state == JobState.FAILED
    assert "the GPU worker crashed" in job.error
    (rule,) = emu.faults()
    assert rule["fired"] == 1  # one result request: the 500 is final, as fal_client treats it
