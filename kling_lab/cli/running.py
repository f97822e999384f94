"""Opening the store and the door for a command, and driving a batch's jobs in this process while it waits."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from kling_lab.cli.output import Output
from kling_lab.config import Settings
from kling_lab.lab import Lab, LabRoot
from kling_lab.media import MediaStore
from kling_lab.store import JobRecord, Store
from kling_lab.waiting import StoppedWaiting, wait_for_batch, wait_for_job


def _open(settings: Settings) -> tuple[Store, MediaStore]:
    return Store.from_url(settings.database_url, settings.database_path), MediaStore(settings.media_dir)


def _lab(store: Store, media: MediaStore, settings: Settings) -> Lab:
    """The door, for a command, from the same composition root as the app's; nothing drives jobs in this
    process until a command starts a runner."""
    return LabRoot(settings, store, media, None).lab


def _drive_here(store: Store, media: MediaStore, settings: Settings, batch_id: str, wait: Callable[[], None]) -> None:
    """Run a batch's jobs that nobody holds in this process until `wait` returns; a live app or worker keeps its own."""
    from kling_lab.runner import JobRunner, RunnerConfig

    runner = JobRunner(store, media, settings, batch_filter=batch_id,
                       config=RunnerConfig.with_saved_limits(settings.data_dir)).start()
    try:
        wait()
    finally:
        runner.stop()


def _wait_for_job(store: Store, job_id: str, out: Output, timeout: float = 120) -> None:
    try:
        wait_for_job(store, job_id, timeout, poll=0.3)
    except StoppedWaiting:
        out.note("Stopped waiting; the cancel request stays recorded and the runner making the clip will act on it.")


def _wait_for_batch(store: Store, batch_id: str, out: Output) -> None:
    """Print each clip's state as it changes until the batch is final; Ctrl+C stops the wait, not the jobs."""
    stop = threading.Event()
    previous: dict[str, str] = {}

    def interrupt(signum: int, frame: object) -> None:
        stop.set()

    def show(jobs: list[JobRecord]) -> None:
        for job in jobs:
            shown = job.state.value + (f" {job.progress:.0%}" if job.progress and not job.state.is_final else "")
            if previous.get(job.id) != shown:
                previous[job.id] = shown
                out.note(f"  {job.label}: {shown}" + (f" ({job.error})" if job.state.is_final and job.error else ""))

    old = signal.signal(signal.SIGINT, interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        wait_for_batch(store, batch_id, poll=0.5, stop=stop, on_poll=show)
    except StoppedWaiting:
        out.note("Stopped waiting; the batch keeps its state and a worker or the app will finish it.")
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
