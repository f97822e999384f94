"""`kling-lab comment` and `kling-lab approve`: timecoded comments and take statuses from the command line.

The same door as the review board's: a meeting's notes can be imported as
comments at their times, and a take approved, with the name of whoever said
so. Bad input (a time outside the take, an empty or too long comment, an
unknown take or status) exits 2 with one sentence, and nothing is stored.

    kling-lab comment JOB --at SECONDS [--until SECONDS] --text TEXT --name NAME [--json]
    kling-lab approve JOB --status approved|changes|rejected [--name NAME] [--json]
"""

from __future__ import annotations

import argparse
from typing import Any

from kling_lab.cli.output import EXIT_OK, InvalidInput, Output
from kling_lab.cli.running import _lab, _open
from kling_lab.config import Settings
from kling_lab.lab import (
    STATUS_WORDS,
    TAKE_STATUSES,
    Actor,
    NotAllowed,
    TakeCommentRecord,
    TakeStatusRecord,
    format_time,
)

COMMANDS = ("comment", "approve")
"""The subcommands this module adds (each takes --json)."""


def _seconds(text: str) -> float:
    # Kept as given: the door says in a sentence when it is not a time of the take.
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}” is not a number of seconds") from None


def add_take_review_parsers(sub: Any) -> None:
    """Add `comment` and `approve` to the command line's subparsers."""
    p = sub.add_parser("comment", help="comment on a take at a time (or a range) of its clip")
    p.add_argument("job", help="the take's job id (history list --json shows them)")
    p.add_argument("--at", required=True, type=_seconds, help="seconds from the start of the take's clip")
    p.add_argument("--until", type=_seconds, default=None, help="the end of a range, in seconds")
    p.add_argument("--text", required=True, help="what to say (at most 2,000 characters)")
    p.add_argument("--name", required=True, help="whose comment it is, as the team should see it")

    p = sub.add_parser("approve", help="set a take's review status: approved, changes requested or rejected")
    p.add_argument("job", help="the take's job id (history list --json shows them)")
    p.add_argument("--status", required=True, choices=[*TAKE_STATUSES, "none"],
                   help="approved, changes (requested), rejected, or none to clear it")
    p.add_argument("--name", default="", help="who set it (default: Lead)")


def comment_json(comment: TakeCommentRecord) -> dict[str, Any]:
    """A comment as stored, as one JSON object."""
    return {"id": comment.id, "job_id": comment.job_id, "batch_id": comment.batch_id, "at": comment.at,
            "until": comment.until, "text": comment.text, "author": comment.author_name,
            "author_kind": comment.author_kind, "created_at": comment.created_at, "updated_at": comment.updated_at}


def status_json(job_id: str, status: TakeStatusRecord | None) -> dict[str, Any]:
    """A take's status as stored (status null when cleared), as one JSON object."""
    if status is None:
        return {"job_id": job_id, "status": None, "set_by": None, "set_at": None}
    return {"job_id": status.job_id, "batch_id": status.batch_id, "status": status.status,
            "set_by": status.set_by, "set_at": status.set_at}


def cmd_comment(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    """Keep one comment on a take through the door; exit 2 with the sentence, nothing stored, when refused."""
    store, media = _open(settings)
    try:
        comment = _lab(store, media, settings).comment_on_take(Actor.cli(), args.job, at=args.at, until=args.until,
                                                               text=args.text, name=args.name)
    except (ValueError, NotAllowed) as exc:
        raise InvalidInput([str(exc)]) from exc
    finally:
        store.close()
    when = format_time(comment.at) + (f"–{format_time(comment.until)}" if comment.until is not None else "")
    out.note(f"Comment {comment.id} kept on take {comment.job_id} at {when}, by {comment.author_name}.")
    out.emit({"comment": comment_json(comment)}, f"{comment.id}\t{when}\t{comment.author_name}")
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, out: Output, settings: Settings) -> int:
    """Set (or with `none` clear) a take's status through the door; exit 2 with the sentence when refused."""
    store, media = _open(settings)
    wanted = None if args.status == "none" else args.status
    try:
        status = _lab(store, media, settings).set_take_status(Actor.cli(), args.job, wanted, name=args.name)
    except (ValueError, NotAllowed) as exc:
        raise InvalidInput([str(exc)]) from exc
    finally:
        store.close()
    words = STATUS_WORDS[status.status] if status is not None else "No status"
    out.note(f"Take {args.job}: {words}" + (f", by {status.set_by}." if status is not None else "."))
    out.emit({"status": status_json(args.job, status)}, words)
    return EXIT_OK
