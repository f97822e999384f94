"""What the command prints: exactly one JSON document on stdout with --json, human notes on stderr, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kling_lab.domain.jobs import charge_shown
from kling_lab.store import JobRecord

EXIT_OK, EXIT_JOB_FAILED, EXIT_INVALID = 0, 1, 2


class InvalidInput(Exception):
    """Bad input: reported as errors with exit code 2."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


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


def _charge(job: JobRecord) -> tuple[str, Decimal | None]:
    kind, amount = charge_shown(job.state.value, host_task_id=job.host_task_id, actual=job.actual_cost,
                                estimated=job.estimated_cost)
    return kind.value, amount


def _job_json(job: JobRecord) -> dict[str, Any]:
    """One clip: `price` is what it cost as the cards say (0 for a failed take, not its estimate) and
    `charge` how sure that is: reported, none, price, estimate (not finished) or unconfirmed (at most)."""
    kind, amount = _charge(job)
    return {
        "id": job.id,
        "label": job.label,
        "state": job.state.value,
        "video_path": job.video_path,
        "price": _money(amount),
        "charge": kind,
        "provider": job.provider,
        "error": job.error,
    }


def _cost_text(job: JobRecord) -> str:
    from kling_lab.pricing import format_charge

    return format_charge(*_charge(job))
