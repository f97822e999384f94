"""Helpers for the reliability suite: fast runner settings, waiting, and the invariants every test checks."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from kling_lab.media import probe_clip
from kling_lab.providers.base import JobState
from kling_lab.runner import RunnerConfig
from kling_lab.store import JobRecord, Store


def fast_config(**changes) -> RunnerConfig:  # noqa: ANN003
    """A runner that polls quickly, gives up on a silent host after 2 s, and retries creates at once."""
    base = {
        "poll_schedule": (0.05, 0.1),
        "claim_interval": 0.05,
        "create_backoff": 0.05,
        "lease_seconds": 10,
        "max_retry_after": 2.0,
        "http_timeout": httpx.Timeout(2.0, connect=2.0),
    }
    base.update(changes)
    return RunnerConfig(**base)


def wait_final(store: Store, batch_ids: Iterable[str], timeout: float = 60) -> list[JobRecord]:
    """Every job of the batches once all are final; AssertionError listing the stragglers after `timeout`."""
    batch_ids = list(batch_ids)
    deadline = time.time() + timeout
    while True:
        jobs = [job for batch_id in batch_ids for job in store.jobs_for_batch(batch_id)]
        if jobs and all(j.state.is_final for j in jobs):
            return jobs
        if time.time() > deadline:
            raise AssertionError([(j.label, j.state.value, j.error) for j in jobs if not j.state.is_final])
        time.sleep(0.05)


_EXCEPTION_ONLY = re.compile(r"^[\w.]*(Error|Exception|Timeout|Refused)(\(.*\))?:?\s*\S{0,40}$")
_EXCEPTION_HEAD = re.compile(r"^([a-z_]+\.)*[A-Z]\w*(Error|Exception|Timeout)\b\s*[:(]")


def is_human_reason(text: str | None) -> bool:
    """A sentence a person can read: several words, no traceback, not just an exception's name or repr."""
    if not text or len(text.split()) < 3:
        return False
    if "Traceback" in text or " object at 0x" in text or "httpx." in text or "File \"" in text or "[Errno" in text:
        return False
    if _EXCEPTION_HEAD.match(text.strip()):
        return False
    return not _EXCEPTION_ONLY.match(text.strip())


def assert_no_partial_clips(jobs: list[JobRecord], media_root: Path) -> None:
    """Only whole, playable clips are recorded; nothing half-written is left behind."""
    clips_dir = media_root / "clips"
    done_paths = set()
    for job in jobs:
        if job.state == JobState.DONE:
            path = Path(job.video_path or "")
            assert path.is_file(), (job.label, job.video_path)
            assert path.stat().st_size == job.video_bytes, (job.label, path.stat().st_size, job.video_bytes)
            probe = probe_clip(path)
            assert probe.width > 0 and probe.height > 0
            done_paths.add(path.resolve())
        else:
            assert job.video_path is None, (job.label, job.state, job.video_path)
            assert not (clips_dir / f"{job.id}.mp4").exists(), (job.label, job.state)
    leftovers = {p.resolve() for p in clips_dir.iterdir()} - done_paths
    assert not leftovers, f"files under media/clips that no finished job owns: {sorted(leftovers)}"
    assert list((media_root / "tmp").iterdir()) == [], "a partial download was left in media/tmp"
