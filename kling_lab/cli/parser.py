"""The command line's grammar: subcommands, request and template options, and text that must be UTF-8."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import NoReturn

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, MODES
from kling_lab.cli.output import InvalidInput, _is_utf8_text
from kling_lab.cli.sequence import add_sequence_parser
from kling_lab.cli.take_review import add_take_review_parsers


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidInput([message[0].upper() + message[1:] + "."])


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
    "text": "The comment",
    "name": "The name",
    "sequence": "The sequence",
    "shot": "The shot",
    "take": "The take",
    "project": "The project",
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
    p.add_argument("--compare", action="store_true",
                   help="also price the same batch on every other host, as the app's cost badge does")

    p = sub.add_parser("validate", help="check a prompt and options for a provider")
    p.add_argument("prompt")
    _add_request_options(p)

    p = sub.add_parser("generate", help="generate a batch and wait for it (or --detach)")
    p.add_argument("template")
    _add_request_options(p)
    _add_template_options(p)
    p.add_argument("--budget", default=None, help="refuse the batch if it would cost more (USD)")
    p.add_argument("--detach", action="store_true", help="only enqueue for a running app or worker")
    p.add_argument("--sequence", default=None, help="file the batch under a shot of this sequence (id or name)")
    p.add_argument("--shot", default=None, help="the shot's code, e.g. SH010 (made when new; needs --sequence)")

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

    p = sub.add_parser("review-link", help="print a link that opens one batch's review board only")
    p.add_argument("batch", help="the batch id (history list --json shows them)")
    p.add_argument("--expires", default="7d", help="how long it opens the board: 7d, 12h, 90m, 2w (at most 365d)")

    add_take_review_parsers(sub)
    sequence_parsers = add_sequence_parser(sub, _Parser)

    for name in ("expand", "estimate", "validate", "generate", "history", "worker", "retry", "cancel",
                 "review-link", "comment", "approve"):
        sub.choices[name].add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    hl.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    he.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    for sequence_parser in sequence_parsers:
        sequence_parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return parser
