"""`history list` and `history export`: clips made so far, and a batch written to a zip."""

from __future__ import annotations

import argparse
import time

from kling_lab.cli.output import EXIT_OK, InvalidInput, Output, _cost_text, _job_json, _money
from kling_lab.cli.running import _open
from kling_lab.config import Settings

HEADER = "created\tbatch\tclip\tstate\tcost\tlabel"


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
    # The batch id is what `history export --batch` and `review-link` take; the cost is what was charged.
    human = "\n".join(
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(job.created_at))}\t{job.batch_id}\t{job.id}\t"
        f"{job.state.value}\t{_cost_text(job)}\t{job.label}"
        for job in jobs
    )
    out.emit({"clips": clips}, (HEADER + "\n" + human) if human else "No clips yet.")
    return EXIT_OK
