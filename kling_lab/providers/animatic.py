"""The offline "animatic" host: renders a free draft MP4 locally, in a process pool.

It speaks the same `HostClient` protocol as the paid hosts so the runner
treats it like any other: `create` submits a render and returns at once,
`status` reports progress and finally a `file://` URL. A job's request and
frames are kept next to its video (`<job_id>.request.json`, `.start.bin`,
`.end.bin`), so after a restart a job the pool never heard of is simply
rendered again: the render is free and deterministic, so the result is the
same file.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import re
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from kling_lab.animatic.plan import AnimaticPlan, plan_animatic
from kling_lab.animatic.render import AnimaticRenderError, read_progress, render_animatic
from kling_lab.atomic import atomic_write_bytes
from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import FrameReader, HostError, Submission, TaskStatus, job_id_of
from kling_lab.request import GenerationRequest

LOST_MESSAGE = "The draft render was lost; press Retry."
CRASHED_MESSAGE = "The draft renderer stopped unexpectedly; press Retry."
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class _JobFiles:
    video: Path
    request: Path
    start: Path
    end: Path
    progress: Path


def _render_job(request_path: str, video_path: str, start_path: str, end_path: str, progress_path: str) -> AnimaticPlan:
    """Runs in a pool worker: everything it needs is read from the job's files, so only paths cross processes."""
    request = GenerationRequest.from_dict(json.loads(Path(request_path).read_text(encoding="utf-8")))
    start = Path(start_path).read_bytes() if os.path.exists(start_path) else None
    end = Path(end_path).read_bytes() if start is not None and os.path.exists(end_path) else None
    return render_animatic(request, Path(video_path), start_frame=start, end_frame=end,
                           progress_path=Path(progress_path))


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, AnimaticRenderError):
        return str(exc)
    if isinstance(exc, BrokenProcessPool):
        return CRASHED_MESSAGE
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        return f"The draft could not be written to disk ({reason}); free some space or check the data folder, " \
               "then press Retry."
    return f"The draft could not be rendered ({type(exc).__name__}: {exc}); press Retry."


_MAIN_SWAP = threading.Lock()


@contextmanager
def _plain_main() -> Iterator[None]:
    """Show spawned workers a blank `__main__` while they start.

    A spawned worker re-runs the parent's `__main__` file before it can take a
    task. Inside Streamlit that is the app script itself (Streamlit runs each
    page as a fake `__main__`), which a render worker must never execute. The
    pool starts workers inside `submit`, so a blank module for that moment is
    enough; the real one is put back at once.
    """
    with _MAIN_SWAP:
        original = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if original is not None:
                sys.modules["__main__"] = original


class AnimaticClient:
    """The offline draft host. Renders run in a process pool created on first use; call `close()` when done."""

    name = "animatic"
    caps = CAPABILITIES["animatic"]

    def __init__(self, work_dir: Path, max_workers: int | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.max_workers = max_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[str, Future[AnimaticPlan]] = {}
        self._canceled: set[str] = set()
        self._lock = threading.Lock()

    # --- files ---------------------------------------------------------------------------------------------------

    def _files(self, job_id: str) -> _JobFiles:
        # The job id becomes a file name: refuse anything that could leave the work dir.
        if not isinstance(job_id, str) or not _SAFE_ID.match(job_id):
            raise HostError("invalid", f"“{job_id}” is not a job id the animatic can use as a file name.")
        base = self.work_dir / job_id
        return _JobFiles(
            video=base.with_name(f"{job_id}.mp4"),
            request=base.with_name(f"{job_id}.request.json"),
            start=base.with_name(f"{job_id}.start.bin"),
            end=base.with_name(f"{job_id}.end.bin"),
            progress=base.with_name(f"{job_id}.progress"),
        )

    def video_path(self, job_id: str) -> Path:
        """Where the draft for `job_id` is (or will be) written."""
        return self._files(job_id).video

    # --- pool ----------------------------------------------------------------------------------------------------

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawn, not fork: the app has threads (event loop, Streamlit), and forking a threaded
            # process can copy a lock another thread holds.
            self._pool = ProcessPoolExecutor(max_workers=self.max_workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, job_id: str, files: _JobFiles) -> Future[AnimaticPlan]:
        """Start a render from the job's files (called with the lock held)."""
        args = (str(files.request), str(files.video), str(files.start), str(files.end), str(files.progress))
        files.progress.unlink(missing_ok=True)
        with _plain_main():
            try:
                future = self._ensure_pool().submit(_render_job, *args)
            except (BrokenProcessPool, RuntimeError):
                # A worker died earlier (or the pool was shut down): a fresh pool, once.
                self._discard_pool()
                future = self._ensure_pool().submit(_render_job, *args)
        self._futures[job_id] = future
        self._canceled.discard(job_id)
        return future

    def _prepare_and_submit(
        self, request: GenerationRequest, job_id: str, files: _JobFiles, start: bytes | None, end: bytes | None
    ) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        data = json.dumps(request.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8")
        for path, content in ((files.start, start), (files.end, end)):
            if content is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write_bytes(path, content, fsync=False)
        # The request goes last: its presence means "everything needed to re-render is here".
        atomic_write_bytes(files.request, data, fsync=False)
        with self._lock:
            previous = self._futures.get(job_id)
            if previous is not None:
                previous.cancel()
            self._submit(job_id, files)

    # --- HostClient ----------------------------------------------------------------------------------------------

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Queue the render and return at once; the task id is the job id. Never charges anything."""
        files = self._files(job_id)
        start = end = None
        try:
            if request.start_frame is not None:
                start = frames(request.start_frame)
                if request.end_frame is not None:
                    end = frames(request.end_frame)
        except (OSError, LookupError) as exc:
            raise HostError("invalid", "A frame for this clip is missing from the media store; upload it again.") \
                from exc
        try:
            await asyncio.to_thread(self._prepare_and_submit, request, job_id, files, start, end)
        except OSError as exc:
            raise HostError("unavailable", _failure_message(exc)) from exc
        return Submission(task_id=job_id)

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """Progress while rendering, then a file:// URL; re-renders from the sidecar if this process lost the task."""
        job_id = submission.task_id
        try:
            files = self._files(job_id)
        except HostError as exc:
            return TaskStatus("failed", error=exc.message)
        if job_id in self._canceled:
            return TaskStatus("canceled")
        future = self._futures.get(job_id)
        if future is None:
            return await asyncio.to_thread(self._recover, job_id, files)
        if not future.done():
            progress = read_progress(files.progress)
            phase = "running" if progress is not None or future.running() else "queued"
            return TaskStatus(phase, progress=progress if progress is not None else 0.0)
        try:
            future.result()
        except CancelledError:
            return TaskStatus("canceled")
        except Exception as exc:  # noqa: BLE001 - any render failure becomes a sentence on the job
            return TaskStatus("failed", error=_failure_message(exc))
        if not files.video.exists():
            # Rendered, then deleted (a cleanup, a user): render it again rather than fail.
            with self._lock:
                self._futures.pop(job_id, None)
            return await asyncio.to_thread(self._recover, job_id, files)
        return self._succeeded(files)

    def _recover(self, job_id: str, files: _JobFiles) -> TaskStatus:
        with self._lock:
            if job_id in self._futures:  # another status call got here first
                return TaskStatus("queued", progress=0.0)
            if files.video.exists():
                return self._succeeded(files)
            if not files.request.exists():
                return TaskStatus("failed", error=LOST_MESSAGE)
            self._submit(job_id, files)
        return TaskStatus("queued", progress=0.0)

    @staticmethod
    def _succeeded(files: _JobFiles) -> TaskStatus:
        return TaskStatus("succeeded", video_url=files.video.resolve().as_uri(), actual_cost=Decimal("0"),
                          progress=1.0)

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Drop the render: a queued one never starts; a running one finishes but is reported canceled."""
        with self._lock:
            future = self._futures.get(submission.task_id)
            if future is not None:
                future.cancel()
            self._canceled.add(submission.task_id)
        return True

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """The job's submission when its request sidecar exists (a create that got that far); else None."""
        job_id = job_id_of(create_key)
        try:
            files = self._files(job_id)
        except HostError:
            return None
        return Submission(task_id=job_id) if files.request.exists() else None

    def release(self, submission: Submission) -> None:
        """The runner stored the clip: remove this job's work files so the draft is not kept twice."""
        files = self._files(submission.task_id)
        with self._lock:
            self._futures.pop(submission.task_id, None)
            self._canceled.discard(submission.task_id)
        for path in (files.video, files.request, files.start, files.end, files.progress):
            path.unlink(missing_ok=True)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> None:
        """The animatic never calls back."""
        return None

    def details_for(self, request: GenerationRequest) -> dict[str, object]:
        """What the draft will show (camera move, mood, subtitles, sound), for the job's details."""
        return {"animatic": plan_animatic(request).to_dict()}

    def close(self) -> None:
        """Stop the pool without waiting: queued renders are dropped, running ones finish in the background."""
        with self._lock:
            self._discard_pool()
