"""The `kling-lab` command: the same core as the app, no browser needed.

With --json exactly one JSON document goes to stdout; human messages go to
stderr. Exit codes: 0 success, 2 invalid input (nothing sent, nothing charged),
1 when a job failed.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, MODES
from kling_lab.config import Settings
from kling_lab.domain.jobs import FINAL_STATES, JobState
from kling_lab.images import FrameRef, inspect_frame
from kling_lab.lab import Actor, Lab
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest, find_problems, validate
from kling_lab.store import JobRecord, Store
from kling_lab.user_settings import load_user_settings, parse_budget, resolve_settings
from kling_lab.variations import parse_sweep_values

EXIT_OK, EXIT_JOB_FAILED, EXIT_INVALID = 0, 1, 2


class InvalidInput(Exception):
    """Bad input: reported as errors with exit code 2."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidInput([message[0].upper() + message[1:] + "."])


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class Output:
    as_json: bool

    def emit(self, document: dict[str, Any], human: str) -> None:
        if self.as_json:
            text = json.dumps(document, ensure_ascii=False)
            if not _is_utf8_text(text):
                # A file name that is not UTF-8 (echoed in a message) must not break the one JSON document.
                text = json.dumps(document)
            sys.stdout.write(text + "\n")
        else:
            sys.stdout.write(human.rstrip("\n") + "\n")

    def note(self, message: str) -> None:
        sys.stderr.write(message.rstrip("\n") + "\n")
        sys.stderr.flush()


def _is_utf8_text(text: str) -> bool:
    # Bytes of argv that are not UTF-8 arrive as lone surrogates (surrogateescape); no host or store takes them.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_TEXT_ARGUMENTS = {
    "prompt": "The prompt",
    "template": "The template",
    "negative_prompt": "The negative prompt",
    "provider": "The provider",
    "voice_ids": "A voice id",
    "var": "A --var value",
    "sweep": "A --sweep value",
    "budget": "The budget",
    "batch": "The batch id",
}


def _check_text_arguments(args: argparse.Namespace) -> None:
    """InvalidInput when a text argument holds bytes that are not UTF-8 (file paths may; they are not sent)."""
    errors = []
    for name, label in _TEXT_ARGUMENTS.items():
        value = getattr(args, name, None)
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not _is_utf8_text(v) for v in values):
            errors.append(f"{label} contains bytes that are not UTF-8 text; write it in UTF-8 and try again.")
    if errors:
        raise InvalidInput(errors)


def _finite_float(text: str) -> float:
    # NaN/inf would print as bare NaN/Infinity, which is not JSON.
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"“{text}” is not a finite number")
    return value


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", default="animatic", help="one of: " + ", ".join(CAPABILITIES))
    parser.add_argument("--mode", choices=MODES, default=None)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--aspect-ratio", choices=ASPECT_RATIOS, default="16:9")
    audio = parser.add_mutually_exclusive_group()
    audio.add_argument("--audio", dest="audio", action="store_true", default=False)
    audio.add_argument("--no-audio", dest="audio", action="store_false")
    parser.add_argument("--cfg-scale", type=_finite_float, default=None)
    parser.add_argument("--negative-prompt", default="")
    parser.add_argument("--start-frame", type=Path, default=None)
    parser.add_argument("--end-frame", type=Path, default=None)
    parser.add_argument("--voice-id", action="append", default=[], dest="voice_ids")
    parser.add_argument("--seed", type=int, default=None)


def _add_template_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2",
                        help="vary cfg_scale, audio, duration, aspect_ratio, mode or provider")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=A|B",
                        help="values of a {NAME} variable in the template")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kling-lab", description="Prototype short Kling 2.6 videos from the command line.")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("expand", help="expand a template into its variations")
    p.add_argument("template")
    _add_request_options(p)
    _add_template_options(p)

    p = sub.add_parser("estimate", help="price a template's variations on a provider")
    p.add_argument("template")
    _add_request_options(p)
    _add_template_options(p)

    p = sub.add_parser("validate", help="check a prompt and options for a provider")
    p.add_argument("prompt")
    _add_request_options(p)

    p = sub.add_parser("generate", help="generate a batch and wait for it (or --detach)")
    p.add_argument("template")
    _add_request_options(p)
    _add_template_options(p)
    p.add_argument("--budget", default=None, help="refuse the batch if it would cost more (USD)")
    p.add_argument("--detach", action="store_true", help="only enqueue for a running app or worker")

    p = sub.add_parser("history", help="clips made so far")
    hsub = p.add_subparsers(dest="history_command", required=True, parser_class=_Parser)
    hl = hsub.add_parser("list", help="list clips, newest first")
    hl.add_argument("--limit", type=int, default=100)
    he = hsub.add_parser("export", help="write a batch's clips, manifest.json and clips.csv to a zip")
    he.add_argument("--batch", required=True)
    he.add_argument("--out", required=True, type=Path)

    sub.add_parser("worker", help="claim and run queued jobs until stopped")

    p = sub.add_parser("retry", help="send a failed, canceled or unknown clip again (checked against the budgets)")
    p.add_argument("job", help="the clip's job id (history list --json shows them)")
    p.add_argument("--detach", action="store_true", help="only re-queue it for a running app or worker")

    p = sub.add_parser("cancel", help="cancel a clip that is queued or being made")
    p.add_argument("job", help="the clip's job id (history list --json shows them)")
    p.add_argument("--detach", action="store_true",
                   help="only record the request for the app or worker that is making the clip")

    for name in ("expand", "estimate", "validate", "generate", "history", "worker", "retry", "cancel"):
        sub.choices[name].add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    hl.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    he.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return parser


def _read_frame(path: Path | None, what: str, media: MediaStore) -> tuple[FrameRef | None, list[str]]:
    if path is None:
        return None, []
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [f"{what} “{path}” could not be read ({exc.strerror or type(exc).__name__})."]
    result = inspect_frame(data, what)
    if result.ref is None:
        return None, list(result.errors)
    media.save_frame(result.ref, data)
    return result.ref, []


def _base_request(args: argparse.Namespace, prompt: str, media: MediaStore) -> GenerationRequest:
    start, start_errors = _read_frame(args.start_frame, "The start frame", media)
    end, end_errors = _read_frame(args.end_frame, "The end frame", media)
    if start_errors or end_errors:
        raise InvalidInput(start_errors + end_errors)
    provider = args.provider
    caps = CAPABILITIES.get(provider)
    mode = args.mode or (caps.modes[-1] if caps else "pro")
    return GenerationRequest(
        prompt=prompt,
        negative_prompt=args.negative_prompt,
        mode=mode,
        duration=args.duration,
        aspect_ratio=args.aspect_ratio,
        cfg_scale=args.cfg_scale,
        audio=args.audio,
        start_frame=start,
        end_frame=end,
        voice_ids=tuple(args.voice_ids),
        seed=args.seed,
    )


def _template_inputs(args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, list[Any]]]:
    errors: list[str] = []
    variables: dict[str, list[str]] = {}
    for item in args.var:
        name, sep, values = item.partition("=")
        if not sep or not name.strip():
            errors.append(f"--var needs the form NAME=A|B, not “{item}”.")
            continue
        variables[name.strip()] = [v.strip() for v in values.split("|") if v.strip()]
    sweeps: dict[str, list[Any]] = {}
    for item in args.sweep:
        key, sep, values = item.partition("=")
        if not sep:
            errors.append(f"--sweep needs the form KEY=V1,V2, not “{item}”.")
            continue
        parsed, problems = parse_sweep_values(key.strip(), values)
        errors += problems
        sweeps[key.strip()] = parsed
    if errors:
        raise InvalidInput(errors)
    return variables, sweeps


def _open(settings: Settings) -> tuple[Store, MediaStore]:
    return Store.from_url(settings.database_url, settings.database_path), MediaStore(settings.media_dir)


def _plan(args: argparse.Namespace, settings: Settings, media: MediaStore):  # noqa: ANN202 - BatchPlan
    from kling_lab.batches import plan_batch
    from kling_lab.pricing import load_price_book

    if args.provider not in CAPABILITIES:
        raise InvalidInput([f"“{args.provider}” is not a provider; choose one of: {', '.join(CAPABILITIES)}."])
    variables, sweeps = _template_inputs(args)
    base = _base_request(args, "", media)
    book = load_price_book(settings.price_overrides_path)
    return plan_batch(args.template, base, args.provider, book, variables=variables, sweeps=sweeps, compare=False)


def cmd_expand(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    _, media = _open(settings)
    plan = _plan(args, settings, media)
    if plan.expansion.errors:
        raise InvalidInput(list(plan.expansion.errors))
    # Expand lists takes for any host, so host rules wait for estimate/generate; but a value no host
    # could take (duration 7, cfg_scale 3, aspect 4:3) is refused here already.
    impossible = [p.message for t in plan.takes for p in find_problems(t.variation.request, "animatic")
                  if p.field == "parameters"]
    if impossible:
        raise InvalidInput(list(dict.fromkeys(impossible)))
    variations = [{"prompt": t.variation.prompt, "label": t.variation.label, "params": t.variation.params}
                  for t in plan.takes]
    out.emit({"variations": variations}, "\n".join(f"{v['label']}\t{v['prompt']}" for v in variations))
    return EXIT_OK


def cmd_estimate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    from kling_lab.pricing import format_usd

    _, media = _open(settings)
    plan = _plan(args, settings, media)
    if plan.errors:
        raise InvalidInput(plan.errors)
    items = [{"label": t.variation.label, "prompt": t.variation.prompt, "provider": t.variation.provider,
              "price": _money(t.price)} for t in plan.takes]
    document = {"provider": args.provider, "currency": "USD", "items": items, "total": _money(plan.total)}
    human = "\n".join(f"{format_usd(t.price)}\t{t.variation.label}" for t in plan.takes)
    out.emit(document, human + f"\nTotal {format_usd(plan.total)}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    _, media = _open(settings)
    request = _base_request(args, args.prompt, media)
    errors = validate(request, args.provider)
    out.emit({"ok": not errors, "errors": errors}, "\n".join(errors) if errors else "OK")
    return EXIT_OK if not errors else EXIT_INVALID


def _job_json(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "label": job.label,
        "state": job.state.value,
        "video_path": job.video_path,
        "price": _money(job.cost),
        "provider": job.provider,
        "error": job.error,
    }


def cmd_generate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    from kling_lab.store import BudgetExceeded

    store, media = _open(settings)
    plan = _plan(args, settings, media)
    budget, budget_error = parse_budget(args.budget)
    if budget_error:
        raise InvalidInput([budget_error])
    try:
        batch_id = _lab(store, media, settings).submit(Actor.cli(), plan, source="cli", budget_per_batch=budget)
    except BudgetExceeded as exc:
        raise InvalidInput([str(exc)]) from exc
    except ValueError as exc:
        raise InvalidInput(str(exc).split("\n")) from exc
    out.note(f"Batch {batch_id}: {len(plan.takes)} take(s) queued.")
    if not args.detach:
        _drive_here(store, media, settings, batch_id, lambda: _wait_for_batch(store, batch_id, out))
    jobs = store.jobs_for_batch(batch_id)
    total = sum((j.cost or Decimal(0) for j in jobs), Decimal(0))
    document = {"batch_id": batch_id, "jobs": [_job_json(j) for j in jobs], "total": _money(total)}
    human = "\n".join(f"{j.state.value}\t{j.label}\t{j.video_path or j.error or ''}" for j in jobs)
    out.emit(document, human)
    if args.detach:
        return EXIT_OK
    return EXIT_OK if all(j.state == JobState.DONE for j in jobs) else EXIT_JOB_FAILED


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


def cmd_history(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    store, _ = _open(settings)
    if args.history_command == "export":
        from kling_lab.exports import export_batch

        if store.get_batch(args.batch) is None:
            raise InvalidInput([f"There is no batch “{args.batch}” in {settings.data_dir}."])
        try:
            result = export_batch(store, args.batch, args.out)
        except OSError as exc:
            raise InvalidInput([f"The export could not be written to {args.out}: {exc.strerror or exc}."]) from exc
        document = {"batch_id": args.batch, "path": str(result.path), "clips": result.clips,
                    "missing": result.missing}
        out.emit(document, f"Wrote {result.path} with {result.clips} clip(s).")
        return EXIT_OK
    jobs = store.list_jobs(limit=max(1, min(args.limit, 10_000)))
    clips = []
    for job in jobs:
        clips.append({
            **_job_json(job),
            "batch_id": job.batch_id,
            "prompt": job.prompt,
            "host_task_id": job.host_task_id,
            "estimated_cost": _money(job.estimated_cost),
            "actual_cost": _money(job.actual_cost),
            "created_at": job.created_at,
            "finished_at": job.finished_at,
            "request": job.request.to_dict(),
        })
    human = "\n".join(
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(c['created_at']))}\t{c['state']}\t{c['label']}"
        for c in clips
    )
    out.emit({"clips": clips}, human or "No clips yet.")
    return EXIT_OK


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


def cmd_retry(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    """Retry one clip through the same door as the app's Retry button; exit 2 with nothing sent when refused."""
    from kling_lab.store import BudgetExceeded

    store, media = _open(settings)
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


def _lab(store: Store, media: MediaStore, settings: Settings) -> Lab:
    """The door, for a command: nothing drives jobs in this process until a command starts a runner."""
    return Lab(store, media, None, lambda: settings, lambda: load_user_settings(settings.data_dir))


def _no_such_clip(job_id: str) -> InvalidInput:
    return InvalidInput([f"There is no clip with the id {job_id!r}. `kling-lab history list` shows them."])


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


def _project_secrets() -> dict[str, object]:
    """`.streamlit/secrets.toml` of the current directory, as the app reads it (environment variables win here)."""
    import tomllib

    path = Path(".streamlit") / "secrets.toml"
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)}


COMMANDS = {
    "expand": cmd_expand,
    "estimate": cmd_estimate,
    "validate": cmd_validate,
    "generate": cmd_generate,
    "history": cmd_history,
    "worker": cmd_worker,
    "retry": cmd_retry,
    "cancel": cmd_cancel,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Output(as_json="--json" in argv)
    try:
        args = build_parser().parse_args(argv)
        _check_text_arguments(args)
        settings = resolve_settings(secrets=_project_secrets())
        return COMMANDS[args.command](args, out, settings)
    except InvalidInput as exc:
        if out.as_json:
            out.emit({"ok": False, "errors": exc.errors}, "")
        else:
            out.note("\n".join(exc.errors))
        return EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
