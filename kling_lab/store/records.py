"""What the store hands out: one frozen record per stored row, and the ids it makes.

Rows become records here and nowhere else, so the column layout (decimals as
text, JSON as text, booleans as 0/1, times as epoch floats) is decoded in one
place for both backends.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kling_lab.domain.jobs import JobState, charged_amount
from kling_lab.domain.jobs import retry_sends_create as _retry_sends_create
from kling_lab.request import GenerationRequest

MAX_TEXT_CHARS = 4000  # a clip's notes and a review's comment keep their first 4,000 characters


@dataclass(frozen=True)
class JobRecord:
    """One job as stored."""

    id: str
    batch_id: str
    position: int
    label: str
    provider: str
    prompt: str
    request: GenerationRequest
    state: JobState
    host_task_id: str | None
    host_extra: dict[str, str]
    error: str | None
    error_kind: str | None
    estimated_cost: Decimal | None
    actual_cost: Decimal | None
    progress: float | None
    video_path: str | None
    thumb_path: str | None
    video_bytes: int | None
    video_duration: float | None
    video_width: int | None
    video_height: int | None
    has_audio: bool | None
    details: dict[str, Any]
    attempts: int
    created_at: float
    updated_at: float
    submitted_at: float | None
    finished_at: float | None
    starred: bool
    rating: int | None
    notes: str
    deleted_at: float | None
    cancel_requested_at: float | None = None
    """When someone asked to cancel it (any process: the app, the CLI); the runner driving it acts on it."""
    shot_id: str | None = None
    """The shot this take was made for (schema 7), or None for a batch made outside any sequence."""
    take_number: int | None = None
    """Its number within the shot (T001 is 1), counted across every batch of the shot."""
    parent_job_id: str | None = None
    """The take it was loaded or re-run from, if any."""
    lineage: str = ""
    """What changed from the parent, in words: "cfg 0.5 → 0.7, 'rain' → 'fog'" ("" without a parent)."""

    @property
    def cost(self) -> Decimal | None:
        """What the clip cost: the host's reported charge when known, else the estimate."""
        return self.actual_cost if self.actual_cost is not None else self.estimated_cost

    @property
    def elapsed(self) -> float:
        end = self.finished_at or time.time()
        return max(0.0, end - self.created_at)


@dataclass(frozen=True)
class BatchRecord:
    """One batch as stored."""

    id: str
    created_at: float
    template: str
    provider: str
    source: str
    estimated_total: Decimal
    settings: dict[str, Any]
    winner_job_id: str | None
    notes: str
    shot_id: str | None = None
    """The shot the batch was made for (schema 7), or None."""


@dataclass(frozen=True)
class SequenceRecord:
    """A sequence as stored (schema 7): a named, ordered list of shots in a project ("" is the default one)."""

    id: str
    name: str
    project: str
    created_by: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class ShotRecord:
    """A shot of a sequence: its code number (10 → SH010), its place, its one pick and the pick's trims."""

    id: str
    sequence_id: str
    number: int
    position: int
    name: str
    pick_job_id: str | None
    pick_by: str
    pick_at: float | None
    trim_in: int | None
    """First frame used at 24 fps (None: the clip's first)."""
    trim_out: int | None
    """One past the last frame used (None: the clip's end)."""
    start_frame: dict[str, Any] | None
    """A FrameRef's fields (as `FrameRef.to_dict()`) for this shot's next batch, e.g. the previous shot's last frame."""
    created_at: float
    updated_at: float

    @property
    def code(self) -> str:
        return f"SH{self.number:03d}"


@dataclass(frozen=True)
class TakeCommentRecord:
    """A comment at a time (or a range) of a take (schema 8), with its author."""

    id: int
    job_id: str
    batch_id: str
    at: float
    until: float | None
    text: str
    author_name: str
    author_kind: str
    author_key: str
    link_id: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TakeStatusRecord:
    """A take's review status (schema 8): approved, changes or rejected, who set it and when."""

    job_id: str
    batch_id: str
    status: str
    set_by: str
    set_at: float


@dataclass(frozen=True)
class NewJob:
    """A job to be written with its batch."""

    label: str
    provider: str
    request: GenerationRequest
    estimated_cost: Decimal | None


@dataclass(frozen=True)
class EventRecord:
    job_id: str
    at: float
    from_state: str | None
    to_state: str
    detail: str


@dataclass(frozen=True)
class SpendRecord:
    """What one job cost or may cost: `charged` is what counts toward budgets."""

    job_id: str
    batch_id: str
    provider: str
    created_at: float
    estimated: Decimal | None
    actual: Decimal | None
    charged: Decimal


@dataclass(frozen=True)
class ReviewRecord:
    """A reviewer's pick or comment on a batch."""

    batch_id: str
    job_id: str | None
    name: str
    kind: str
    text: str
    at: float


@dataclass(frozen=True)
class LinkRecord:
    """A review link as stored: what it opens and until when; the token itself is never stored."""

    id: str
    kind: str
    target: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    created_by: str
    label: str

    def live(self, now: float) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class DraftRecord:
    """A Compose draft as stored: the whole Compose state (plain JSON values), whose it is, and when."""

    id: str
    owner_kind: str
    owner_name: str
    state: dict[str, Any]
    origin: str
    created_at: float
    updated_at: float


def draft_from_row(row: Mapping[str, Any]) -> DraftRecord:
    try:
        state = json.loads(row["state_json"] or "{}")
    except ValueError:
        state = {}
    return DraftRecord(row["id"], row["owner_kind"], row["owner_name"], state if isinstance(state, dict) else {},
                       row["origin"], row["created_at"], row["updated_at"])


def reviewer_key(link_id: str, name: str) -> str:
    """Who a pick belongs to: the link it came through and the name typed (case and spaces do not matter)."""
    return f"{link_id}:{' '.join(name.split()).casefold()}"


def new_id(prefix: str) -> str:
    """A short, sortable-enough unique id (prefix + 12 hex chars)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def new_batch_id() -> str:
    """A fresh batch id, for a batch about to be written."""
    return new_id("b")


def retry_sends_create(job: JobRecord) -> bool:
    """True when retrying `job` sends a new (paid) create; False when it fetches or follows the host's task again.

    The rule lives in `kling_lab.domain.jobs`; this reads it off a stored job.
    """
    return _retry_sends_create(job.host_task_id, job.error_kind)


def decimal_or_none(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def decimal_text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def charged(row: Mapping[str, Any]) -> Decimal:
    """What a job row (estimated_cost, actual_cost, state, host_task_id) counts toward budgets."""
    return charged_amount(row["state"], host_task_id=row["host_task_id"], actual=decimal_or_none(row["actual_cost"]),
                          estimated=decimal_or_none(row["estimated_cost"]))


def batch_from_row(row: Mapping[str, Any]) -> BatchRecord:
    return BatchRecord(
        id=row["id"],
        created_at=row["created_at"],
        template=row["template"],
        provider=row["provider"],
        source=row["source"],
        estimated_total=Decimal(row["estimated_total"] or "0"),
        settings=json.loads(row["settings_json"] or "{}"),
        winner_job_id=row["winner_job_id"],
        notes=row["notes"],
        shot_id=row.get("shot_id"),
    )


def job_from_row(row: Mapping[str, Any]) -> JobRecord:
    return JobRecord(
        id=row["id"],
        batch_id=row["batch_id"],
        position=row["position"],
        label=row["label"],
        provider=row["provider"],
        prompt=row["prompt"],
        request=GenerationRequest.from_dict(json.loads(row["request_json"])),
        state=JobState(row["state"]),
        host_task_id=row["host_task_id"],
        host_extra=json.loads(row["host_extra_json"] or "{}"),
        error=row["error"],
        error_kind=row["error_kind"],
        estimated_cost=decimal_or_none(row["estimated_cost"]),
        actual_cost=decimal_or_none(row["actual_cost"]),
        progress=row["progress"],
        video_path=row["video_path"],
        thumb_path=row["thumb_path"],
        video_bytes=row["video_bytes"],
        video_duration=row["video_duration"],
        video_width=row["video_width"],
        video_height=row["video_height"],
        has_audio=None if row["has_audio"] is None else bool(row["has_audio"]),
        details=json.loads(row["details_json"] or "{}"),
        attempts=row["attempts"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        submitted_at=row["submitted_at"],
        finished_at=row["finished_at"],
        starred=bool(row["starred"]),
        rating=row["rating"],
        notes=row["notes"],
        cancel_requested_at=row["cancel_requested_at"],
        deleted_at=row["deleted_at"],
        shot_id=row.get("shot_id"),
        take_number=row.get("take_number"),
        parent_job_id=row.get("parent_job_id"),
        lineage=row.get("lineage") or "",
    )


def review_from_row(row: Mapping[str, Any]) -> ReviewRecord:
    return ReviewRecord(row["batch_id"], row["job_id"], row["name"], row["kind"], row["text"], row["at"])


def link_from_row(row: Mapping[str, Any]) -> LinkRecord:
    return LinkRecord(row["id"], row["kind"], row["target"], row["created_at"], row["expires_at"],
                      row["revoked_at"], row["created_by"], row["label"])


def sequence_from_row(row: Mapping[str, Any]) -> SequenceRecord:
    return SequenceRecord(row["id"], row["name"], row["project"], row["created_by"], row["created_at"],
                          row["updated_at"])


def shot_from_row(row: Mapping[str, Any]) -> ShotRecord:
    try:
        start = json.loads(row["start_frame_json"]) if row["start_frame_json"] else None
    except ValueError:
        start = None
    return ShotRecord(row["id"], row["sequence_id"], row["number"], row["position"], row["name"],
                      row["pick_job_id"], row["pick_by"], row["pick_at"], row["trim_in"], row["trim_out"],
                      start if isinstance(start, dict) else None, row["created_at"], row["updated_at"])


def take_comment_from_row(row: Mapping[str, Any]) -> TakeCommentRecord:
    return TakeCommentRecord(row["id"], row["job_id"], row["batch_id"], row["at_seconds"], row["until_seconds"],
                             row["text"], row["author_name"], row["author_kind"], row["author_key"], row["link_id"],
                             row["created_at"], row["updated_at"])


def take_status_from_row(row: Mapping[str, Any]) -> TakeStatusRecord:
    return TakeStatusRecord(row["job_id"], row["batch_id"], row["status"], row["set_by"], row["set_at"])


def event_from_row(row: Mapping[str, Any]) -> EventRecord:
    return EventRecord(row["job_id"], row["at"], row["from_state"], row["to_state"], row["detail"])
