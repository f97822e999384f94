"""Opening the store and the door for a command, and driving a batch's jobs in this process while it waits."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

from kling_lab.cli.output import Output
from kling_lab.config import Settings
from kling_lab.domain.jobs import FINAL_STATES
from kling_lab.lab import Lab
from kling_lab.media import MediaStore
from kling_lab.store import Store
from kling_lab.user_settings import load_user_settings


def _open(settings: Settings) -> tuple[Store, MediaStore]:
    return Store.from_url(settings.database_url, settings.database_path), MediaStore(settings.media_dir)


def _lab(store: Store, media: MediaStore, settings: Settings) -> Lab:
    """The door, for a command: nothing drives jobs in this process until a command starts a runner."""
    return Lab(store, media, None, lambda: settings, lambda: load_user_settings(settings.data_dir))


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
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job is None or job.state.is_final:
            return
        time.sleep(0.3)
    out.note("Stopped waiting; the cancel request stays recorded and the runner making the clip will act on it.")


def _wait_for_batch(store: Store, batch_id: str, out: Output) -> None:
    stop = threading.Event()
    previous: dict[str, str] = {}

    def interrupt(signum: int, frame: object) -> None:
        stop.set()

    old = signal.signal(signal.SIGINT, interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        while not stop.is_set():
            jobs = store.jobs_for_batch(batch_id)
            for job in jobs:
                shown = job.state.value + (f" {job.progress:.0%}" if job.progress and not job.state.is_final else "")
                if previous.get(job.id) != shown:
                    previous[job.id] = shown
                    out.note(f"  {job.label}: {shown}" + (f" ({job.error})" if job.state.is_final and job.error
                                                           else ""))
            if all(j.state in FINAL_STATES for j in jobs):
                return
            stop.wait(0.5)
        out.note("Stopped waiting; the batch keeps its state and a worker or the app will finish it.")
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
