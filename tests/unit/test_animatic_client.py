"""AnimaticClient end to end: create, poll, succeed, fail, cancel, and re-render after a restart."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlparse

import av
import httpx
import pytest
from PIL import Image

from kling_lab.animatic import render_animatic
from kling_lab.config import Settings
from kling_lab.images import FrameRef, inspect_frame
from kling_lab.media import MediaStore
from kling_lab.providers.animatic import LOST_MESSAGE, AnimaticClient
from kling_lab.providers.base import HostError, JobState, Submission, TaskStatus
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import NewJob, Store

NO_HTTP = cast(httpx.AsyncClient, None)
"""The animatic never talks HTTP; the protocol still passes a client."""
REQUEST = GenerationRequest(prompt='a fox in the snow, orbit, it says "Cold."', audio=True)


def _no_frames(ref: FrameRef) -> bytes:
    raise AssertionError("a mood card needs no frames")


async def _poll(client: AnimaticClient, submission: Submission, timeout: float = 90.0) -> list[TaskStatus]:
    seen: list[TaskStatus] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await client.status(NO_HTTP, submission)
        seen.append(status)
        if status.phase in ("succeeded", "failed", "canceled"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {seen[-1].phase} after {timeout} s")


def _path_of(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    return Path(unquote(parsed.path))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnimaticClient]:
    client = AnimaticClient(tmp_path_factory.mktemp("animatic-client"), max_workers=2)
    yield client
    client.close()


def test_identity() -> None:
    client = AnimaticClient(Path("unused"))
    assert client.name == "animatic" and client.caps.offline
    assert client.parse_webhook(b"{}", {}) is None
    client.close()  # no pool was ever made: closing is still fine


def test_create_returns_at_once_then_status_reaches_succeeded(client: AnimaticClient) -> None:
    async def scenario() -> tuple[float, Submission, list[TaskStatus]]:
        started = time.perf_counter()
        submission = await client.create(NO_HTTP, REQUEST, job_id="job-1", frames=_no_frames)
        took = time.perf_counter() - started
        return took, submission, await _poll(client, submission)

    took, submission, seen = asyncio.run(scenario())
    assert submission.task_id == "job-1"
    # create only queues: the first status is not yet a finished video (a render takes about a second).
    assert seen[0].phase in ("queued", "running")
    assert took < 3.0
    progress = [s.progress for s in seen if s.phase in ("queued", "running")]
    assert all(p is not None and 0.0 <= p <= 1.0 for p in progress)
    assert progress == sorted(progress)
    final = seen[-1]
    assert final.phase == "succeeded", final.error
    assert final.actual_cost == 0 and final.progress == 1.0
    path = _path_of(final.video_url or "")
    assert path == client.video_path("job-1").resolve() and path.exists()
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert [a.codec_context.name for a in container.streams.audio] == ["aac"]
    sidecar = json.loads((client.work_dir / "job-1.request.json").read_text(encoding="utf-8"))
    assert GenerationRequest.from_dict(sidecar) == REQUEST
    # Asking again is harmless and gives the same answer.
    assert asyncio.run(client.status(NO_HTTP, submission)) == final


def test_release_removes_the_work_files_of_a_stored_draft(tmp_path: Path) -> None:
    client = AnimaticClient(tmp_path, max_workers=1)
    request = GenerationRequest(prompt="a quiet field, static")
    try:
        async def scenario() -> list[TaskStatus]:
            submission = await client.create(NO_HTTP, request, job_id="kept", frames=_no_frames)
            return await _poll(client, submission)

        assert asyncio.run(scenario())[-1].phase == "succeeded"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.mp4", "kept.progress", "kept.request.json"]
        client.release(Submission(task_id="kept"))
        assert list(tmp_path.iterdir()) == []
    finally:
        client.close()


def test_restart_re_renders_from_the_sidecar(tmp_path: Path) -> None:
    expected = tmp_path / "direct.mp4"
    render_animatic(REQUEST, expected)
    work = tmp_path / "work"
    work.mkdir()
    # What a previous process left behind: the request, but no video and no future.
    (work / "job-2.request.json").write_text(json.dumps(REQUEST.to_dict()), encoding="utf-8")
    fresh = AnimaticClient(work, max_workers=1)
    try:
        assert asyncio.run(fresh.lookup(NO_HTTP, "job-2")) == Submission(task_id="job-2")
        seen = asyncio.run(_poll(fresh, Submission(task_id="job-2")))
    finally:
        fresh.close()
    assert seen[0].phase == "queued"
    assert seen[-1].phase == "succeeded", seen[-1].error
    # Free and deterministic: the re-render in another process is the same file.
    assert _path_of(seen[-1].video_url or "").read_bytes() == expected.read_bytes()


def test_finished_video_is_reported_without_rendering_again(tmp_path: Path) -> None:
    (tmp_path / "job-3.mp4").write_bytes(b"already here")
    client = AnimaticClient(tmp_path)
    status = asyncio.run(client.status(NO_HTTP, Submission(task_id="job-3")))
    assert status.phase == "succeeded" and client._pool is None


def test_unknown_job_without_sidecar_is_lost(tmp_path: Path) -> None:
    client = AnimaticClient(tmp_path)
    status = asyncio.run(client.status(NO_HTTP, Submission(task_id="ghost")))
    assert status == TaskStatus("failed", error=LOST_MESSAGE)
    assert asyncio.run(client.lookup(NO_HTTP, "ghost")) is None
    assert asyncio.run(client.lookup(NO_HTTP, "../etc/passwd")) is None


def test_job_ids_that_are_not_file_names_are_refused(tmp_path: Path) -> None:
    client = AnimaticClient(tmp_path)
    with pytest.raises(HostError) as caught:
        asyncio.run(client.create(NO_HTTP, REQUEST, job_id="../escape", frames=_no_frames))
    assert caught.value.kind == "invalid"
    assert not list(tmp_path.iterdir())


def test_missing_frame_bytes_are_a_host_error(tmp_path: Path) -> None:
    ref = FrameRef("a" * 64, "image/png", 800, 600, 100)

    def missing(_: FrameRef) -> bytes:
        raise FileNotFoundError("gone")

    client = AnimaticClient(tmp_path)
    with pytest.raises(HostError, match="missing from the media store"):
        asyncio.run(client.create(NO_HTTP, REQUEST.with_changes(start_frame=ref), job_id="j",
                                  frames=missing))


def test_a_render_that_fails_reports_a_sentence(client: AnimaticClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (9, 9, 9)).save(buffer, "PNG")
    ref = inspect_frame(buffer.getvalue()).ref
    request = GenerationRequest(prompt="a pan left", start_frame=ref)

    async def scenario() -> list[TaskStatus]:
        # The store hands back bytes that are not the image it checked: the render must fail politely.
        submission = await client.create(NO_HTTP, request, job_id="bad-frame", frames=lambda _: b"garbage")
        return await _poll(client, submission)

    final = asyncio.run(scenario())[-1]
    assert final.phase == "failed"
    assert final.error == "The start frame could not be decoded as an image; upload it again."
    assert (client.work_dir / "bad-frame.start.bin").read_bytes() == b"garbage"
    assert not (client.work_dir / "bad-frame.mp4").exists()


def test_cancel_is_best_effort_and_reported(client: AnimaticClient) -> None:
    async def scenario() -> tuple[bool, TaskStatus]:
        submission = await client.create(NO_HTTP, REQUEST, job_id="to-cancel", frames=_no_frames)
        canceled = await client.cancel(NO_HTTP, submission)
        return canceled, await client.status(NO_HTTP, submission)

    canceled, status = asyncio.run(scenario())
    assert canceled is True
    assert status.phase == "canceled"


def test_the_runner_keeps_one_copy_of_a_finished_draft(tmp_path: Path) -> None:
    """The clip lands in media/clips; the renderer's own copy and sidecars are gone once it is recorded."""
    settings = Settings(data_dir=tmp_path)
    store = Store(settings.database_path)
    media = MediaStore(settings.media_dir)
    batch_id = store.create_batch(template="t", provider="animatic", jobs=[
        NewJob("field", "animatic", GenerationRequest(prompt="a quiet field, static"), Decimal("0")),
    ])
    runner = JobRunner(store, media, settings, config=RunnerConfig(poll_schedule=(0.05, 0.05), claim_interval=0.05))
    runner.start()
    try:
        deadline = time.monotonic() + 90
        while (job := store.jobs_for_batch(batch_id)[0]).state != JobState.DONE and time.monotonic() < deadline:
            assert job.state not in (JobState.FAILED, JobState.UNKNOWN), job.error
            time.sleep(0.05)
    finally:
        runner.stop()
    assert job.state == JobState.DONE
    assert Path(job.video_path) == media.clip_path(job.id) and Path(job.video_path).is_file()
    assert list(media.animatic_dir.iterdir()) == []


def test_runner_start_removes_draft_copies_an_earlier_version_kept_for_stored_clips(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = Store(settings.database_path)
    media = MediaStore(settings.media_dir)
    batch_id = store.create_batch(template="t", provider="animatic", jobs=[
        NewJob("field", "animatic", GenerationRequest(prompt="a quiet field"), Decimal("0")),
    ])
    job = store.jobs_for_batch(batch_id)[0]
    store.transition(job.id, JobState.DONE, owner=None, video_path=str(media.clip_path(job.id)))
    stored_copy = media.animatic_dir / f"{job.id}.mp4"
    stranger = media.animatic_dir / "j_notinthestore.request.json"  # not ours to judge: kept
    for path in (stored_copy, media.animatic_dir / f"{job.id}.request.json", stranger):
        path.write_bytes(b"x")
    JobRunner(store, media, settings).start().stop()
    assert [p.name for p in media.animatic_dir.iterdir()] == [stranger.name]
