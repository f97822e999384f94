"""The data dir fills up or turns read-only while a clip is being saved.

We run as root, so chmod can't make a folder read-only for us: the fault is
injected at the narrowest seams the download uses instead — `open()` of the
temp file (writes fail after some bytes), the temp file's creation
(`tempfile.mkstemp`), and the rename into clips/ or thumbs/ (`os.replace`) —
all looked up through `kling_lab.media`, so nothing else in the process is
touched. Each test then clears the fault and checks that the runner goes on:
a new job finishes, and Retry fetches the failed clip again from the same host
task without paying for a new one.
"""

from __future__ import annotations

import builtins
import errno
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kling_lab import atomic as atomic_module
from kling_lab import media as media_module
from kling_lab.config import load_settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner
from kling_lab.store import NewJob, Store
from tests.emulator import Emulator
from tests.reliability.backends import Backend
from tests.reliability.helpers import assert_no_partial_clips, fast_config, is_human_reason, wait_final

CLIP_SIZE = 700_000  # several 256 KiB chunks, so a write can fail part-way through the clip
FAIL_AFTER = 300_000
PROVIDER = "kie"


class DiskFault:
    """A disk that refuses (ENOSPC / EROFS) at one seam while `armed`."""

    def __init__(self, media_root: Path, seam: str, code: int) -> None:
        self.media_root = media_root
        self.seam = seam
        self.code = code
        self.armed = True
        self.fired = 0

    def error(self) -> OSError:
        self.fired += 1
        return OSError(self.code, os.strerror(self.code))

    # -- the seams, installed on kling_lab.media ------------------------------------------------

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = builtins.open(file, mode, *args, **kwargs)  # noqa: SIM115 - returned to the caller's `with`
        if self.armed and self.seam == "write" and "w" in mode and Path(file).parent == self.media_root / "tmp":
            return _FillingFile(handle, self)
        return handle

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        if self.armed and self.seam == "tempfile" and Path(kwargs.get("dir", "")) == self.media_root / "tmp":
            raise self.error()
        return tempfile.mkstemp(*args, **kwargs)

    def replace(self, src: Any, dst: Any) -> None:
        target = {"rename": "clips", "thumbnail": "thumbs"}.get(self.seam)
        if self.armed and target and Path(dst).parent == self.media_root / target:
            raise self.error()
        os.replace(src, dst)


class _FillingFile:
    """A file that takes `FAIL_AFTER` bytes and then fails the write, like a disk that just filled up."""

    def __init__(self, handle: Any, fault: DiskFault) -> None:
        self._handle = handle
        self._fault = fault
        self._written = 0

    def write(self, data: bytes) -> int:
        room = FAIL_AFTER - self._written
        if self._fault.armed and len(data) > room:
            self._handle.write(data[: max(room, 0)])
            self._written += max(room, 0)
            raise self._fault.error()
        self._written += len(data)
        return self._handle.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class _OsWithFault:
    """`os` as kling_lab.media sees it, with `replace` going through the fault."""

    def __init__(self, fault: DiskFault) -> None:
        self._fault = fault

    def replace(self, src: Any, dst: Any) -> None:
        self._fault.replace(src, dst)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


class _TempfileWithFault:
    def __init__(self, fault: DiskFault) -> None:
        self._fault = fault

    def mkstemp(self, *args: Any, **kwargs: Any) -> tuple[int, str]:
        return self._fault.mkstemp(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(tempfile, name)


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0.2) as emulator:
        yield emulator


@pytest.fixture
def lab(emu: Emulator, tmp_path: Path, backend: Backend):
    """A runner on the test's store (SQLite or PostgreSQL) whose media sit in the data dir the faults hit."""
    emu.reset()
    emu.configure(latency=0.2, video_size=CLIP_SIZE)
    settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(tmp_path / "data"), **backend.env},
                             secrets={})
    store = backend.store(settings.data_dir)
    runner = JobRunner(store, MediaStore(settings.media_dir), settings, config=fast_config())
    runner.start()
    yield store, runner, settings.media_dir
    runner.stop()


def _one_job(store: Store, runner: JobRunner, prompt: str) -> str:
    batch_id = store.create_batch(template="t", provider=PROVIDER, jobs=[
        NewJob(prompt, PROVIDER, GenerationRequest(prompt=prompt), Decimal("0.35"))])
    runner.wake()
    return batch_id


def _install(monkeypatch: pytest.MonkeyPatch, fault: DiskFault) -> None:
    monkeypatch.setattr(media_module, "open", fault.open, raising=False)
    monkeypatch.setattr(media_module, "os", _OsWithFault(fault))
    monkeypatch.setattr(atomic_module, "os", _OsWithFault(fault))
    monkeypatch.setattr(media_module, "tempfile", _TempfileWithFault(fault))


SEAMS = [
    ("write", errno.ENOSPC, "The disk is full"),
    ("write", errno.EROFS, "read-only"),
    ("rename", errno.EROFS, "read-only"),
    ("rename", errno.ENOSPC, "The disk is full"),
    ("tempfile", errno.ENOSPC, "The disk is full"),
    ("tempfile", errno.EACCES, "read-only"),
]


@pytest.mark.parametrize(("seam", "code", "words"), SEAMS, ids=[f"{s}-{errno.errorcode[c]}" for s, c, _ in SEAMS])
def test_a_storage_fault_fails_the_job_plainly_and_retry_fetches_it_again_without_a_new_create(
    lab, emu: Emulator, monkeypatch: pytest.MonkeyPatch, seam: str, code: int, words: str
) -> None:
    store, runner, media_root = lab
    fault = DiskFault(media_root, seam, code)
    _install(monkeypatch, fault)

    (broken,) = wait_final(store, [_one_job(store, runner, "a fox on a full disk")], timeout=30)
    assert fault.fired >= 1
    assert broken.state == JobState.FAILED, (broken.state, broken.error)
    assert broken.error_kind == "storage"
    assert words in broken.error and "Retry" in broken.error and is_human_reason(broken.error), broken.error
    assert broken.host_task_id  # the paid task is remembered, so Retry can fetch it again
    # The store stays consistent: the row reads back, its history is there, nothing half-written is kept.
    assert store.get_job(broken.id) == broken
    events = [e.to_state for e in store.events_for_job(broken.id)]
    assert "sending" in events and "downloading" in events and events[-1] == "failed", events
    assert_no_partial_clips([broken], media_root)

    fault.armed = False  # space freed / permissions fixed
    (fresh,) = wait_final(store, [_one_job(store, runner, "a fox after the disk was cleared")], timeout=30)
    assert fresh.state == JobState.DONE, (fresh.state, fresh.error)

    creates_before = emu.stats()["accepted_creates"][PROVIDER]
    store.retry(broken.id)
    runner.wake()
    (retried,) = wait_final(store, [broken.batch_id], timeout=30)
    assert retried.state == JobState.DONE, (retried.state, retried.error)
    assert retried.host_task_id == broken.host_task_id
    stats = emu.stats()
    assert stats["accepted_creates"][PROVIDER] == creates_before == 2
    assert stats["creates_by_prompt"]["a fox on a full disk"] == 1
    # The first try never reached the host when the temp file itself could not be made.
    assert stats["downloads"][broken.host_task_id] == (1 if seam == "tempfile" else 2)
    assert_no_partial_clips([retried, fresh], media_root)
    assert retried.video_bytes == CLIP_SIZE


def test_a_full_disk_when_writing_the_thumbnail_keeps_the_clip(lab, emu, monkeypatch) -> None:
    store, runner, media_root = lab
    fault = DiskFault(media_root, "thumbnail", errno.ENOSPC)
    _install(monkeypatch, fault)
    (job,) = wait_final(store, [_one_job(store, runner, "a fox with no room for a thumbnail")], timeout=30)
    assert fault.fired == 1
    assert job.state == JobState.DONE, (job.state, job.error)
    assert job.thumb_path is None
    assert_no_partial_clips([job], media_root)
    assert list((media_root / "thumbs").iterdir()) == []
    assert emu.stats()["accepted_creates"][PROVIDER] == 1


def test_the_store_stays_readable_while_the_disk_refuses_writes(lab, emu, monkeypatch) -> None:
    store, runner, media_root = lab
    fault = DiskFault(media_root, "write", errno.ENOSPC)
    _install(monkeypatch, fault)
    batch_id = store.create_batch(template="t", provider=PROVIDER, jobs=[
        NewJob(f"take {i}", PROVIDER, GenerationRequest(prompt=f"a crowded disk {i}"), Decimal("0.35"))
        for i in range(4)])
    runner.wake()
    jobs = wait_final(store, [batch_id], timeout=30)
    assert [j.state for j in jobs] == [JobState.FAILED] * 4
    assert all(j.error_kind == "storage" and j.host_task_id for j in jobs)
    assert not store.has_unfinished(batch_id)
    assert len(store.list_jobs()) == 4
    assert_no_partial_clips(jobs, media_root)
    assert emu.stats()["accepted_creates"][PROVIDER] == 4


def test_retry_after_an_internal_error_past_the_create_follows_the_same_host_task(lab, emu, monkeypatch) -> None:
    store, runner, media_root = lab

    def broken_thumbnail(clip: Path, dest: Path, **kwargs: Any) -> bool:
        raise RuntimeError("a bug after the clip was paid for")

    monkeypatch.setattr("kling_lab.runner.make_thumbnail", broken_thumbnail)
    (job,) = wait_final(store, [_one_job(store, runner, "a fox meets a bug")], timeout=30)
    assert job.state == JobState.FAILED and job.error_kind == "internal" and job.host_task_id, job
    monkeypatch.undo()

    store.retry(job.id)
    runner.wake()
    (retried,) = wait_final(store, [job.batch_id], timeout=30)
    assert retried.state == JobState.DONE, (retried.state, retried.error)
    assert retried.host_task_id == job.host_task_id
    assert emu.stats()["accepted_creates"][PROVIDER] == 1
    assert_no_partial_clips([retried], media_root)
