"""`worker`: claim and run queued jobs until Ctrl+C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading

from kling_lab.cli.output import EXIT_OK, Output
from kling_lab.cli.running import _open
from kling_lab.config import Settings


def cmd_worker(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    from kling_lab.runner import JobRunner, RunnerConfig

    store, media = _open(settings)
    runner = JobRunner(store, media, settings, config=RunnerConfig.with_saved_limits(settings.data_dir)).start()
    out.note(f"Worker {runner.owner} is running jobs from {settings.data_dir}. Press Ctrl+C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    runner.stop()
    out.emit({"stopped": True}, "Worker stopped.")
    return EXIT_OK
