"""After the create: following the host, webhook news, cancel, charges and downloads, stepped with a FakeClock."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kling_lab.providers.base import HostCharge, HostError, JobState, TaskStatus
from kling_lab.runner import FakeClock
from tests.unit import runner_fakes
from tests.unit.runner_fakes import BASE, DriverHarness, ScriptedHost, make_batch, raising

# A stepped test that waits on a step that never comes fails fast instead of hanging the suite.
pytestmark = pytest.mark.timeout(60)

store = runner_fakes.store
data_dir = runner_fakes.data_dir


async def _stop(harness: DriverHarness, job_id: str, task: asyncio.Task) -> None:
    harness.signals.stopping = True
    harness.signals.wake(job_id)
    await task


# -- status answers ---------------------------------------------------------------------------------


def test_a_generation_that_failed_at_the_host_gives_its_reason_and_its_charge(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [lambda: TaskStatus("failed", error="The host's safety filter refused the prompt.",
                                             actual_cost=Decimal("0.10"))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error_kind == "generation_failed"
    assert "safety filter" in job.error
    assert job.actual_cost == Decimal("0.10")
    assert host.downloads == 0


def test_a_failure_without_a_reason_names_the_host(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [lambda: TaskStatus("failed")]
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.error == "fal.ai reported that the generation failed without a reason."


def test_a_done_clip_records_what_the_host_charged_in_dollars_and_in_its_own_unit(store, data_dir, tiny_mp4):
    host = ScriptedHost(tiny_mp4)
    host.host_charge = HostCharge(Decimal("2.5"), "units", "data.final_unit_deduction")
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert job.actual_cost == Decimal("0.35")
    assert job.details["host_charge"] == {"amount": "2.5", "unit": "units", "source": "data.final_unit_deduction"}


def test_status_requests_that_get_no_answer_back_off_and_then_recover(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [raising(httpx.ReadTimeout("slow")), raising(httpx.ConnectError("down"))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert harness.clock.sleeps == [2.0, 2.5, 3.0]  # the first poll, then 2 s x (1 + failures / 4)
    details = [e.detail for e in store.events_for_job(job.id)]
    assert "status check failed: the host took too long to answer" in details


def test_a_rate_limited_status_request_waits_the_hosts_retry_after(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [raising(HostError("rate_limited", "Too many requests.", retry_after=11))]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert harness.clock.sleeps == [2.0, 11.0]


def test_a_task_the_host_no_longer_knows_fails_at_once(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [raising(HostError("not_found", "fal.ai no longer has this task."))]
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error == "fal.ai no longer has this task."


def test_a_host_silent_for_too_long_leaves_the_job_unknown_not_failed(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [raising(httpx.ConnectError("down")) for _ in range(200)]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.UNKNOWN and "lost contact" in job.error
    assert max(harness.clock.sleeps) == 15.0


# -- webhook news and wake-ups ----------------------------------------------------------------------


def test_news_from_a_signed_callback_finishes_the_job_without_another_status_request(store, data_dir, tiny_mp4):
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> None:
        task = asyncio.create_task(harness.driver.run(job_id))
        assert await harness.clock.step(task) == 2.0
        harness.clock.advance()
        assert await harness.clock.step(task) == 3.0  # one status request made, now waiting for the next
        done = TaskStatus("succeeded", video_url=f"{BASE}/files/task-1.mp4")
        harness.signals.push(job_id, done)
        harness.signals.push(job_id, done)  # hosts deliver twice
        assert await harness.clock.step(task) is None  # woken, downloaded, done: no time passed
        harness.clock.advance(60)

    harness.run(scenario())
    assert store.get_job(job_id).state == JobState.DONE
    assert host.status_calls == {"task-1": 1}
    assert host.downloads == 1


def test_a_wake_up_makes_one_early_status_request_then_the_schedule_goes_on(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> list[float | None]:
        task = asyncio.create_task(harness.driver.run(job_id))
        delays = [await harness.clock.step(task)]
        harness.signals.wake(job_id)  # an unsigned callback: ask the host now
        delays.append(await harness.clock.step(task))
        await _stop(harness, job_id, task)
        return delays

    assert harness.run(scenario()) == [2.0, 3.0]
    assert host.status_calls == {"task-1": 1}
    assert store.get_job(job_id).state == JobState.RUNNING


def test_a_stop_ends_the_drive_without_another_request_and_leaves_the_job_to_resume(store, data_dir, tiny_mp4):
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> None:
        task = asyncio.create_task(harness.driver.run(job_id))
        await harness.clock.step(task)
        await _stop(harness, job_id, task)

    harness.run(scenario())
    assert host.status_calls == {}
    assert store.get_job(job_id).state == JobState.SUBMITTED


# -- cancel -----------------------------------------------------------------------------------------


def test_a_queued_job_canceled_before_sending_costs_nothing(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    harness = DriverHarness(store, data_dir, host)
    batch_id = make_batch(store, 1)
    (job_id,) = harness.claim(batch_id)
    harness.signals.ask_cancel(job_id)  # as request_cancel does, before the job is first driven
    job = harness.run_one(batch_id)
    assert job.state == JobState.CANCELED and "nothing was charged" in job.error
    assert host.creates == []
    assert store.spend_today() == Decimal(0)


def test_a_cancel_wakes_a_polling_job_and_reaches_the_host_at_once(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> None:
        task = asyncio.create_task(harness.driver.run(job_id))
        await harness.clock.step(task)
        harness.signals.ask_cancel(job_id)
        harness.signals.wake(job_id)
        assert await harness.clock.step(task) is None

    harness.run(scenario())
    job = store.get_job(job_id)
    assert job.state == JobState.CANCELED and "may still charge" in job.error
    assert host.cancels == ["task-1"] and host.status_calls == {}


def test_a_cancel_written_by_another_process_is_seen_at_the_next_poll(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    harness = DriverHarness(store, data_dir, host, clock=FakeClock())
    (job_id,) = harness.claim(make_batch(store, 1))

    async def scenario() -> None:
        task = asyncio.create_task(harness.driver.run(job_id))
        await harness.clock.step(task)
        store.request_cancel(job_id)  # `kling-lab cancel` or another app server: only the store changes
        harness.clock.advance()
        assert await harness.clock.step(task) is None

    harness.run(scenario())
    assert store.get_job(job_id).state == JobState.CANCELED
    assert host.cancels == ["task-1"]


def test_a_host_without_a_cancel_call_follows_the_clip_to_the_end(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=3)
    host.cancel_accepts = False
    harness = DriverHarness(store, data_dir, host)
    batch_id = make_batch(store, 1)
    (job_id,) = harness.claim(batch_id)
    store.request_cancel(job_id)
    store.transition(job_id, JobState.RUNNING, owner=harness.owner, host_task_id="task-1")
    job = harness.run_one(batch_id)
    assert job.state == JobState.DONE
    assert host.cancels == ["task-1"]
    assert not store.cancel_requested(job_id)
    assert "host has no cancel call; following to the end" in [e.detail for e in store.events_for_job(job_id)]


# -- downloads --------------------------------------------------------------------------------------


def test_a_cut_download_is_retried_and_only_the_whole_clip_is_recorded(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    half = tiny_mp4[: len(tiny_mp4) // 2]
    host.download_script = [lambda: httpx.Response(200, content=half, headers={"content-length": str(len(tiny_mp4))})]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.DONE
    assert Path(job.video_path).read_bytes() == tiny_mp4
    assert host.downloads == 2
    assert harness.clock.sleeps == [2.0, 2.0]  # the first poll, then the wait before the second download
    assert list((data_dir / "media" / "tmp").iterdir()) == []


def test_a_clip_that_never_downloads_fails_after_three_tries_saying_it_may_be_on_the_host(store, data_dir, tiny_mp4):
    host = ScriptedHost(tiny_mp4)
    host.download_script = [lambda: httpx.Response(503) for _ in range(3)]
    harness = DriverHarness(store, data_dir, host)
    job = harness.run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error_kind == "download"
    assert "after 3 tries (HTTP 503)" in job.error and "press Retry" in job.error
    assert harness.clock.sleeps == [2.0, 2.0, 4.0, 6.0]
    assert host.status_calls == {"task-1": 4}  # each retry asks for a fresh address first


def test_html_instead_of_a_video_is_refused_and_nothing_is_stored(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.download_script = [lambda: httpx.Response(200, content=b"<html>login</html>" * 10,
                                                   headers={"content-type": "text/html"})]
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and "web page" in job.error
    assert job.video_path is None
    assert not (data_dir / "media" / "clips" / f"{job.id}.mp4").exists()


def test_a_ready_clip_without_an_address_fails_with_a_sentence(store, data_dir, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.status_script = [lambda: TaskStatus("succeeded")]
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and "gave no address" in job.error


def test_an_online_host_may_not_hand_over_a_file_on_this_machine(store, data_dir, tiny_mp4, tmp_path) -> None:
    local = tmp_path / "elsewhere.mp4"
    local.write_bytes(tiny_mp4)
    host = ScriptedHost(tiny_mp4)
    host.status_script = [lambda: TaskStatus("succeeded", video_url=local.as_uri())]
    job = DriverHarness(store, data_dir, host).run_one(make_batch(store, 1))
    assert job.state == JobState.FAILED and job.error_kind == "download"
    assert "may not point Kling Lab at a file" in job.error
    assert list((data_dir / "media" / "clips").iterdir()) == []


def test_an_offline_hosts_file_is_copied_whole_or_not_at_all(tmp_path, tiny_mp4) -> None:
    from kling_lab.media import DownloadRefused
    from kling_lab.runner.downloads import take_local_file

    class Animatic:
        name = "animatic"

    clips = tmp_path / "clips"
    clips.mkdir()
    rendered, broken = tmp_path / "render.mp4", tmp_path / "broken.mp4"
    rendered.write_bytes(tiny_mp4)
    broken.write_bytes(b"not a video at all" * 10)
    assert take_local_file(Animatic(), rendered.as_uri(), clips / "a.mp4") == len(tiny_mp4)
    assert (clips / "a.mp4").read_bytes() == tiny_mp4
    with pytest.raises(DownloadRefused):
        take_local_file(Animatic(), broken.as_uri(), clips / "b.mp4")
    assert sorted(p.name for p in clips.iterdir()) == ["a.mp4"]  # no half copy, no temp file beside it
