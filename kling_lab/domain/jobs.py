"""A job's states and the money rules that follow from them, in one place the store, the runner and the
screens share (none of them owns these rules, and none has to import the host clients to know them).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class JobState(enum.StrEnum):
    """Where a job is. Every transition is written to the store before the next step."""

    QUEUED = "queued"
    SENDING = "sending"
    SUBMITTED = "submitted"
    RUNNING = "running"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"
    UNKNOWN = "unknown"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_moving(self) -> bool:
        """True while the job can still change without a person acting."""
        return self not in FINAL_STATES


FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELED, JobState.UNKNOWN})

RETRY_FOLLOWS_THE_HOST_TASK = frozenset({"download", "storage", "internal"})
"""Error kinds after which the host has (or had) the paid task: a retry fetches or follows it, never re-creates."""


def charged_amount(
    state: str, *, host_task_id: str | None, actual: Decimal | None, estimated: Decimal | None
) -> Decimal:
    """What a job counts against budgets and spend.

    A failed job is not charged by the hosts (failed tasks are free), and a
    job canceled before the host ever saw it cost nothing. Everything else
    counts, at what the host said it charged when known, else our estimate,
    so a budget errs on the safe side.
    """
    if state == JobState.FAILED.value:
        return Decimal(0)
    if state == JobState.CANCELED.value and not host_task_id:
        return Decimal(0)
    value = actual if actual is not None else estimated
    return value if value is not None else Decimal(0)


def retry_sends_create(host_task_id: str | None, error_kind: str | None) -> bool:
    """True when retrying sends a new (paid) create; False when it fetches or follows the host's task again."""
    return not (host_task_id and error_kind in RETRY_FOLLOWS_THE_HOST_TASK)


class ChargeKind(enum.StrEnum):
    """How sure the amount a screen shows for a clip is (see `charge_shown`)."""

    REPORTED = "reported"
    """The host said what it charged."""
    NONE = "none"
    """The rules above say nothing was charged: a failed task, or a cancel before the host had it."""
    PRICE = "price"
    """A finished clip at its published price (the host reports no charge of its own)."""
    ESTIMATE = "estimate"
    """Not finished yet: what it will cost."""
    UNCONFIRMED = "unconfirmed"
    """Ended without a clip while the host may have had the task: at most the estimate, not known."""


def charge_shown(
    state: str, *, host_task_id: str | None, actual: Decimal | None, estimated: Decimal | None
) -> tuple[ChargeKind, Decimal | None]:
    """What a card, the CLI or an export says a clip cost, agreeing with `charged_amount`.

    A take that ended without a clip never shows its estimate as if it were charged: it shows the
    host's reported charge, $0 when nothing was charged, or the estimate marked as at most.
    """
    if state == JobState.FAILED.value or (state == JobState.CANCELED.value and not host_task_id):
        return ChargeKind.NONE, Decimal(0)
    if actual is not None:
        return ChargeKind.REPORTED, actual
    if state == JobState.DONE.value:
        return ChargeKind.PRICE, estimated
    if state in (JobState.CANCELED.value, JobState.UNKNOWN.value):
        return ChargeKind.UNCONFIRMED, estimated
    return ChargeKind.ESTIMATE, estimated


def canceled_before_the_host_sentence(refused_sends: int) -> str:
    """What a cancel says when the host never took the clip: after `refused_sends` creates it turned down
    (each refused create costs nothing), or before any was sent."""
    if refused_sends <= 0:
        return "Canceled before it was sent; nothing was charged."
    sends = "1 send" if refused_sends == 1 else f"{refused_sends} sends"
    return (f"Canceled after {sends} the host turned down; a refused send is not charged, "
            "so $0.00 was charged.")


def canceled_unsent_sentence(host_extra: Mapping[str, Any] | None, retry: int) -> str:
    """What a cancel of a job the host never took says, counting the creates it turned down this round."""
    return canceled_before_the_host_sentence(sends_this_round((host_extra or {}).get("create_key"), retry))


def sends_this_round(create_key: str | None, retry: int) -> int:
    """How many creates went out since the job was last (re)queued by a person: the attempt number in its
    last create key ("<job id>-<retry>-<attempt>", see `providers.base.make_create_key`), 0 when none did."""
    if not create_key:
        return 0
    parts = create_key.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or int(parts[1]) != retry:
        return 0
    return int(parts[2])
