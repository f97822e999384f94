"""`generate`: submit a batch through the door (checked against the budgets) and wait for it unless --detach."""

from __future__ import annotations

import argparse
from decimal import Decimal

from kling_lab.capabilities import missing_key_sentence
from kling_lab.cli.output import EXIT_JOB_FAILED, EXIT_OK, InvalidInput, Output, _job_json, _money
from kling_lab.cli.planning import _plan
from kling_lab.cli.running import _drive_here, _lab, _open, _wait_for_batch
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState, charged_amount
from kling_lab.lab import Actor, Lab, ShotTarget
from kling_lab.user_settings import parse_budget


def cmd_generate(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    from kling_lab.store import BudgetExceeded

    store, media = _open(settings)
    plan = _plan(args, settings, media)
    budget, budget_error = parse_budget(args.budget)
    if budget_error:
        raise InvalidInput([budget_error])
    missing = [missing_key_sentence(p, "Or use --provider animatic (free).", context="cli")
               for p in sorted({t.variation.provider for t in plan.takes}) if not settings.has_key(p)]
    if plan.errors or missing:
        raise InvalidInput(plan.errors + missing)
    lab = _lab(store, media, settings)
    shot = _shot_target(lab, args)
    try:
        batch_id = lab.submit(Actor.cli(), plan, source="cli", budget_per_batch=budget, shot=shot)
    except BudgetExceeded as exc:
        raise InvalidInput([str(exc)]) from exc
    except ValueError as exc:
        raise InvalidInput(str(exc).split("\n")) from exc
    out.note(f"Batch {batch_id}: {len(plan.takes)} take(s) queued.")
    if not args.detach:
        _drive_here(store, media, settings, batch_id, lambda: _wait_for_batch(store, batch_id, out))
    jobs = store.jobs_for_batch(batch_id)
    # What the batch counts against the budgets: failed takes are free, not their estimate.
    total = sum((charged_amount(j.state.value, host_task_id=j.host_task_id, actual=j.actual_cost,
                                estimated=j.estimated_cost) for j in jobs), Decimal(0))
    document = {"batch_id": batch_id, "jobs": [_job_json(j) for j in jobs], "total": _money(total)}
    human = "\n".join(f"{j.state.value}\t{j.label}\t{j.video_path or j.error or ''}" for j in jobs)
    out.emit(document, human)
    if args.detach:
        return EXIT_OK
    return EXIT_OK if all(j.state == JobState.DONE for j in jobs) else EXIT_JOB_FAILED


def _shot_target(lab: Lab, args: argparse.Namespace) -> ShotTarget | None:
    """--sequence SEQ --shot SH010: the shot the batch is filed under (made when new); both or neither."""
    from kling_lab.cli.sequence import find_sequence
    from kling_lab.lab import parse_shot_code

    if args.sequence is None and args.shot is None:
        return None
    if args.sequence is None:
        raise InvalidInput(["--shot needs --sequence: name the sequence (its id or name) the shot belongs to."])
    sequence = find_sequence(lab, args.sequence)
    if args.shot is None:
        return ShotTarget(sequence.id)
    try:
        parse_shot_code(args.shot)
    except ValueError as exc:
        raise InvalidInput([str(exc)]) from exc
    return ShotTarget(sequence.id, args.shot)
