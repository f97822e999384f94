"""The `kling-lab` command: the same core as the app, no browser needed.

With --json exactly one JSON document goes to stdout; human messages go to
stderr. Exit codes: 0 success, 2 invalid input (nothing sent, nothing charged),
1 when a job failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from kling_lab.auth.secret_key import SecretKeyError
from kling_lab.cli.generate import cmd_generate
from kling_lab.cli.history import cmd_history
from kling_lab.cli.jobs import cmd_cancel, cmd_retry
from kling_lab.cli.output import EXIT_INVALID, EXIT_JOB_FAILED, EXIT_OK, InvalidInput, Output
from kling_lab.cli.parser import _check_text_arguments, build_parser
from kling_lab.cli.planning import cmd_estimate, cmd_expand, cmd_validate
from kling_lab.cli.review_link import cmd_review_link
from kling_lab.cli.sequence import cmd_sequence
from kling_lab.cli.take_review import cmd_approve, cmd_comment
from kling_lab.cli.worker import cmd_worker
from kling_lab.store import DatabaseUnavailable, NewerSchema, UnsupportedDatabase
from kling_lab.user_settings import resolve_settings

__all__ = ["COMMANDS", "EXIT_INVALID", "EXIT_JOB_FAILED", "EXIT_OK", "InvalidInput", "Output", "build_parser", "main"]


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
    "review-link": cmd_review_link,
    "comment": cmd_comment,
    "approve": cmd_approve,
    "sequence": cmd_sequence,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Output(as_json="--json" in argv)
    try:
        args = build_parser().parse_args(argv)
        _check_text_arguments(args)
        secrets = _project_secrets()
        settings = resolve_settings(secrets=secrets)
        if args.command == "review-link":
            return cmd_review_link(args, out, settings, secrets)
        return COMMANDS[args.command](args, out, settings)
    except InvalidInput as exc:
        if out.as_json:
            out.emit({"ok": False, "errors": exc.errors}, "")
        else:
            out.note("\n".join(exc.errors))
        return EXIT_INVALID
    except (UnsupportedDatabase, DatabaseUnavailable, NewerSchema, SecretKeyError) as exc:
        # A database URL, server or secret problem is the operator's to fix: one plain sentence, no traceback.
        if out.as_json:
            out.emit({"ok": False, "errors": [str(exc)]}, "")
        else:
            out.note(str(exc))
        return EXIT_INVALID

