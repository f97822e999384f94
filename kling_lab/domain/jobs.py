"""A job's states and the money rules that follow from them, in one place the store, the runner and the
screens share (none of them owns these rules, and none has to import the host clients to know them).
"""

from __future__ import annotations

import enum
from decimal import Decimal


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
