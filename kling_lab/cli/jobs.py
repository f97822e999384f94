"""`retry` and `cancel`: one clip, through the same door as the app's buttons."""

from __future__ import annotations

import argparse

from kling_lab.capabilities import missing_key_sentence
from kling_lab.cli.output import EXIT_JOB_FAILED, EXIT_OK, InvalidInput, Output, _job_json
from kling_lab.cli.running import _drive_here, _lab, _open, _wait_for_batch, _wait_for_job
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.lab import Actor


def cmd_retry(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    """Retry one clip through the same door as the app's Retry button; exit 2 with nothing sent when refused."""
    from kling_lab.store import BudgetExceeded

    store, media = _open(settings)
    stored = store.get_job(args.job)
    if stored is not None and stored.state.is_final and not settings.has_key(stored.provider):
        raise InvalidInput([missing_key_sentence(stored.provider, context="cli")])
    try:
        job = _lab(store, media, settings).retry(Actor.cli(), args.job)
    except KeyError as exc:
        raise _no_such_clip(args.job) from exc
    except (BudgetExceeded, ValueError) as exc:
        raise InvalidInput([str(exc)]) from exc
    out.note(f"Clip {job.id} ({job.label}): {job.state.value}.")
    if not args.detach:
        _drive_here(store, media, settings, job.batch_id, lambda: _wait_for_batch(store, job.batch_id, out))
    job = store.get_job(job.id) or job
    out.emit({"job": _job_json(job)}, f"{job.state.value}\t{job.label}\t{job.video_path or job.error or ''}")
    if args.detach:
        return EXIT_OK
    return EXIT_OK if job.state == JobState.DONE else EXIT_JOB_FAILED


def cmd_cancel(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    """Ask to cancel one clip; the runner that drives it (the app, a worker, or this command) acts on it."""
    store, media = _open(settings)
    job = store.get_job(args.job)
    if job is None:
        raise _no_such_clip(args.job)
    if job.state.is_final:
        raise InvalidInput([f"Clip {job.id} has already finished ({job.state.value}); there is nothing to cancel."])
    _lab(store, media, settings).cancel(Actor.cli(), job.id)
    job = store.get_job(job.id) or job
    if not args.detach and not job.state.is_final:
        _drive_here(store, media, settings, job.batch_id, lambda: _wait_for_job(store, job.id, out))
    job = store.get_job(job.id) or job
    message = {JobState.CANCELED: "Canceled.", JobState.DONE: "It finished before the cancel reached the host."}.get(
        job.state, "Cancel requested; the app or worker making it will stop it.")
    out.emit({"job": _job_json(job), "message": message}, f"{job.state.value}\t{job.label}\t{message}")
    return EXIT_OK


def _no_such_clip(job_id: str) -> InvalidInput:
    return InvalidInput([f"There is no clip with the id {job_id!r}. `kling-lab history list` shows them."])
