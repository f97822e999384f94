"""History and queue: batches, jobs and their events in SQLite.

The store is the queue. A runner claims unfinished jobs with a lease (so two
runners never drive one job), writes every state transition here before taking
the next step, and the UI only reads from here. SQLite runs in WAL mode with a
busy timeout so the app, a CLI run and a worker can share one file. The schema
carries a version and migrations from the first release on.

Keys and secrets never reach this module: requests are stored as
`GenerationRequest.to_dict()`, which holds no credentials.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from kling_lab.domain.jobs import FINAL_STATES, JobState, charged_amount
from kling_lab.domain.jobs import retry_sends_create as _retry_sends_create
from kling_lab.request import GenerationRequest

SCHEMA_VERSION = 3
MAX_TEXT_CHARS = 4000  # a clip's notes and a review's comment keep their first 4,000 characters

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS batches (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        template TEXT NOT NULL,
        provider TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'app',
        estimated_total TEXT NOT NULL DEFAULT '0',
        settings_json TEXT NOT NULL DEFAULT '{}',
        winner_job_id TEXT,
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches(id),
        position INTEGER NOT NULL,
        label TEXT NOT NULL,
        provider TEXT NOT NULL,
        prompt TEXT NOT NULL,
        request_json TEXT NOT NULL,
        state TEXT NOT NULL,
        host_task_id TEXT,
        host_extra_json TEXT,
        error TEXT,
        error_kind TEXT,
        estimated_cost TEXT,
        actual_cost TEXT,
        progress REAL,
        video_path TEXT,
        thumb_path TEXT,
        video_bytes INTEGER,
        video_duration REAL,
        video_width INTEGER,
        video_height INTEGER,
        has_audio INTEGER,
        details_json TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        submitted_at REAL,
        finished_at REAL,
        lease_owner TEXT,
        lease_until REAL,
        starred INTEGER NOT NULL DEFAULT 0,
        rating INTEGER,
        notes TEXT NOT NULL DEFAULT '',
        deleted_at REAL
    );
    CREATE INDEX IF NOT EXISTS jobs_batch ON jobs(batch_id, position);
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
    CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_task ON jobs(provider, host_task_id);
    CREATE INDEX IF NOT EXISTS batches_created ON batches(created_at DESC);
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        at REAL NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS events_job ON events(job_id, id);
    """,
    2: """
    ALTER TABLE jobs ADD COLUMN duration INTEGER;
    ALTER TABLE jobs ADD COLUMN audio INTEGER;
    ALTER TABLE jobs ADD COLUMN aspect_ratio TEXT;
    UPDATE jobs SET duration = json_extract(request_json, '$.duration'),
                    audio = json_extract(request_json, '$.audio'),
                    aspect_ratio = json_extract(request_json, '$.aspect_ratio');
    CREATE INDEX IF NOT EXISTS jobs_provider_created ON jobs(provider, created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs(state, created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_starred_created ON jobs(starred, created_at DESC);
    CREATE TABLE IF NOT EXISTS reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id TEXT NOT NULL REFERENCES batches(id),
        job_id TEXT,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS reviews_batch ON reviews(batch_id, at);
    """,
    3: """
    ALTER TABLE jobs ADD COLUMN cancel_requested_at REAL;
    """,
}

_UNFINISHED = tuple(s.value for s in JobState if s not in FINAL_STATES)


class LeaseLost(Exception):
    """Another runner holds this job now; the caller must stop driving it."""


class BudgetExceeded(Exception):
    """A batch would push spend past a budget; the message gives the numbers."""


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


def new_id(prefix: str) -> str:
    """A short, sortable-enough unique id (prefix + 12 hex chars)."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def new_batch_id() -> str:
    """A fresh batch id, for a batch about to be written."""
    return new_id("b")


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


class Store:
    """SQLite-backed batches, jobs and events; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._init_lock = threading.Lock()
        with self._init_lock:
            self._migrate()

    @classmethod
    def from_url(cls, url: str | None, default_path: Path) -> Store:
        """Open the store named by KLING_LAB_DATABASE_URL (sqlite:///path) or the default file."""
        if not url:
            return cls(default_path)
        if url.startswith("sqlite:///"):
            return cls(Path(url[len("sqlite:///") :]))
        raise ValueError(
            "KLING_LAB_DATABASE_URL must be a sqlite:/// URL in this release; "
            f"“{url.split(':', 1)[0]}” databases are not supported yet."
        )

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate (write-locked) transaction: reads inside it see a stable store."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _migrate(self) -> None:
        conn = self._conn()
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        with self._write() as c:
            row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row["value"]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"The store at {self.path} was written by a newer Kling Lab (schema {version}); "
                    "upgrade Kling Lab to open it."
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (str(target),),
                )

    def schema_version(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row["value"]) if row else 0

    # -- batches -----------------------------------------------------------------------------

    def create_batch(
        self,
        *,
        template: str,
        provider: str,
        jobs: Sequence[NewJob],
        settings: dict[str, Any] | None = None,
        source: str = "app",
        budget_per_batch: Decimal | None = None,
        budget_per_day: Decimal | None = None,
        now: float | None = None,
        batch_id: str | None = None,
    ) -> str:
        """Write a batch and its queued jobs atomically, after checking the budgets.

        `batch_id` (from `new_batch_id()`) lets a caller prepare for the batch
        before it exists, e.g. hand the runner a session's keys first.

        The day's spend is read inside the same write transaction, so two
        batches submitted in the same second can't both slip under the daily
        budget. Raises BudgetExceeded with the numbers.
        """
        now = time.time() if now is None else now
        total = sum((j.estimated_cost or Decimal(0) for j in jobs), Decimal(0))
        if budget_per_batch is not None and total > budget_per_batch:
            raise BudgetExceeded(
                f"This batch would cost ${total:.2f}, over the per-batch budget of ${budget_per_batch:.2f}. "
                "Remove variations or raise the budget in Settings."
            )
        batch_id = batch_id or new_batch_id()
        with self._write() as c:
            if budget_per_day is not None:
                spent = self._spend_since(c, _start_of_day(now))
                if spent + total > budget_per_day:
                    raise BudgetExceeded(
                        f"This batch would cost ${total:.2f}; ${spent:.2f} is already spent today and the daily "
                        f"budget is ${budget_per_day:.2f} (${max(budget_per_day - spent, Decimal(0)):.2f} left). "
                        "Raise the budget in Settings or wait until tomorrow."
                    )
            c.execute(
                "INSERT INTO batches(id, created_at, template, provider, source, estimated_total, settings_json)"
                " VALUES (?,?,?,?,?,?,?)",
                (batch_id, now, template, provider, source, str(total), json.dumps(settings or {})),
            )
            for position, job in enumerate(jobs):
                job_id = new_id("j")
                c.execute(
                    "INSERT INTO jobs(id, batch_id, position, label, provider, prompt, request_json, state,"
                    " estimated_cost, created_at, updated_at, duration, audio, aspect_ratio)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        job_id,
                        batch_id,
                        position,
                        job.label,
                        job.provider,
                        job.request.prompt,
                        json.dumps(job.request.to_dict(), sort_keys=True),
                        JobState.QUEUED.value,
                        str(job.estimated_cost) if job.estimated_cost is not None else None,
                        now,
                        now,
                        job.request.duration,
                        int(bool(job.request.audio)),
                        job.request.aspect_ratio,
                    ),
                )
                c.execute(
                    "INSERT INTO events(job_id, batch_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?,?)",
                    (job_id, batch_id, now, None, JobState.QUEUED.value, "created"),
                )
        return batch_id

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        row = self._conn().execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
        return _batch(row) if row else None

    def list_batches(self, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        rows = self._conn().execute(
            "SELECT * FROM batches ORDER BY created_at DESC LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [_batch(r) for r in rows]

    def set_winner(self, batch_id: str, job_id: str | None) -> None:
        with self._write() as c:
            c.execute("UPDATE batches SET winner_job_id=? WHERE id=?", (job_id, batch_id))

    # -- jobs --------------------------------------------------------------------------------

    _UNSET: Any = object()

    def annotate(self, job_id: str, *, starred: Any = _UNSET, rating: Any = _UNSET, notes: Any = _UNSET) -> None:
        """Change a clip's star, 1–5 rating (None clears it) or notes; other fields are untouched."""
        updates: dict[str, Any] = {}
        if starred is not Store._UNSET:
            updates["starred"] = int(bool(starred))
        if rating is not Store._UNSET:
            if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
                raise ValueError("A rating is 1 to 5 stars.")
            updates["rating"] = rating
        if notes is not Store._UNSET:
            updates["notes"] = str(notes)[:MAX_TEXT_CHARS]
        if not updates:
            return
        columns = ", ".join(f"{k}=?" for k in updates)
        with self._write() as c:
            c.execute(f"UPDATE jobs SET {columns} WHERE id=?", (*updates.values(), job_id))  # noqa: S608

    def get_job(self, job_id: str) -> JobRecord | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs_for_batch(self, batch_id: str) -> list[JobRecord]:
        rows = self._conn().execute(
            "SELECT * FROM jobs WHERE batch_id=? ORDER BY position", (batch_id,)
        ).fetchall()
        return [_job(r) for r in rows]

    def list_jobs(self, limit: int = 100, offset: int = 0, include_deleted: bool = False) -> list[JobRecord]:
        where = "" if include_deleted else "WHERE deleted_at IS NULL"
        rows = self._conn().execute(
            f"SELECT * FROM jobs {where} ORDER BY created_at DESC, position LIMIT ? OFFSET ?",  # noqa: S608
            (limit, offset),
        ).fetchall()
        return [_job(r) for r in rows]

    def search_jobs(self, query: JobQuery, *, limit: int = 60, offset: int = 0) -> list[JobRecord]:
        """Clips matching every set filter, newest first, one page at a time."""
        where, args = _job_filter_sql(query)
        rows = self._conn().execute(
            "SELECT jobs.* FROM jobs LEFT JOIN batches ON batches.id = jobs.batch_id"  # noqa: S608
            f" WHERE {where} ORDER BY jobs.created_at DESC, jobs.position LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [_job(r) for r in rows]

    def count_jobs(self, query: JobQuery) -> int:
        where, args = _job_filter_sql(query)
        row = self._conn().execute(
            f"SELECT COUNT(*) FROM jobs LEFT JOIN batches ON batches.id = jobs.batch_id WHERE {where}",  # noqa: S608
            args,
        ).fetchone()
        return int(row[0])

    def mark_deleted(self, job_id: str) -> JobRecord:
        """Hide a clip from history and forget its files; its request, cost and events stay (spend is kept)."""
        with self._write() as c:
            c.execute(
                "UPDATE jobs SET deleted_at=?, video_path=NULL, thumb_path=NULL WHERE id=? AND deleted_at IS NULL",
                (time.time(), job_id),
            )
        job = self.get_job(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def add_review(self, batch_id: str, *, name: str, kind: str, job_id: str | None = None, text: str = "") -> None:
        """Store a reviewer's pick or comment on a batch (names are free text, no login)."""
        if kind not in ("pick", "comment"):
            raise ValueError("A review is a pick or a comment.")
        with self._write() as c:
            c.execute(
                "INSERT INTO reviews(batch_id, job_id, name, kind, text, at) VALUES (?,?,?,?,?,?)",
                (batch_id, job_id, name.strip()[:80] or "anonymous", kind, text[:MAX_TEXT_CHARS], time.time()),
            )

    def reviews_for_batch(self, batch_id: str) -> list[ReviewRecord]:
        rows = self._conn().execute(
            "SELECT batch_id, job_id, name, kind, text, at FROM reviews WHERE batch_id=? ORDER BY at", (batch_id,)
        ).fetchall()
        return [ReviewRecord(r["batch_id"], r["job_id"], r["name"], r["kind"], r["text"], r["at"]) for r in rows]

    def find_job_by_task(self, provider: str, task_id: str) -> JobRecord | None:
        row = self._conn().execute(
            "SELECT * FROM jobs WHERE provider=? AND host_task_id=?", (provider, task_id)
        ).fetchone()
        return _job(row) if row else None

    def events_for_job(self, job_id: str) -> list[EventRecord]:
        rows = self._conn().execute(
            "SELECT job_id, at, from_state, to_state, detail FROM events WHERE job_id=? ORDER BY id", (job_id,)
        ).fetchall()
        return [EventRecord(r["job_id"], r["at"], r["from_state"], r["to_state"], r["detail"]) for r in rows]

    def has_unfinished(self, batch_id: str | None = None) -> bool:
        marks = ",".join("?" * len(_UNFINISHED))
        sql = f"SELECT 1 FROM jobs WHERE state IN ({marks})"  # noqa: S608
        args: list[Any] = list(_UNFINISHED)
        if batch_id:
            sql += " AND batch_id=?"
            args.append(batch_id)
        return self._conn().execute(sql + " LIMIT 1", args).fetchone() is not None

    # -- leases and transitions ----------------------------------------------------------------

    def claim_jobs(
        self, owner: str, *, lease_seconds: float = 60, limit: int = 50, now: float | None = None
    ) -> list[str]:
        """Lease up to `limit` unfinished jobs nobody holds (or whose lease ran out); returns their ids."""
        now = time.time() if now is None else now
        marks = ",".join("?" * len(_UNFINISHED))
        # A plain read first: most ticks find nothing, and they shouldn't take the write lock for it.
        claimable = self._conn().execute(
            f"SELECT 1 FROM jobs WHERE state IN ({marks}) AND deleted_at IS NULL"  # noqa: S608
            " AND (lease_owner IS NULL OR lease_owner=? OR lease_until < ?) LIMIT 1",
            (*_UNFINISHED, owner, now),
        ).fetchone()
        if claimable is None:
            return []
        with self._write() as c:
            rows = c.execute(
                f"SELECT id FROM jobs WHERE state IN ({marks}) AND deleted_at IS NULL"  # noqa: S608
                " AND (lease_owner IS NULL OR lease_owner=? OR lease_until < ?)"
                " ORDER BY created_at, position LIMIT ?",
                (*_UNFINISHED, owner, now, limit),
            ).fetchall()
            ids = [r["id"] for r in rows]
            for job_id in ids:
                c.execute(
                    "UPDATE jobs SET lease_owner=?, lease_until=? WHERE id=?", (owner, now + lease_seconds, job_id)
                )
        return ids

    def renew_leases(self, owner: str, job_ids: Sequence[str], *, lease_seconds: float = 60) -> set[str]:
        """Extend this owner's leases; returns the ids it still holds."""
        if not job_ids:
            return set()
        now = time.time()
        held: set[str] = set()
        with self._write() as c:
            for job_id in job_ids:
                cur = c.execute(
                    "UPDATE jobs SET lease_until=? WHERE id=? AND lease_owner=?", (now + lease_seconds, job_id, owner)
                )
                if cur.rowcount:
                    held.add(job_id)
        return held

    def release(self, owner: str, job_id: str) -> None:
        with self._write() as c:
            c.execute(
                "UPDATE jobs SET lease_owner=NULL, lease_until=NULL WHERE id=? AND lease_owner=?", (job_id, owner)
            )

    def transition(
        self,
        job_id: str,
        to_state: JobState,
        *,
        owner: str | None,
        detail: str = "",
        **fields: Any,
    ) -> JobRecord:
        """Move a job to `to_state` with field updates and an event, in one transaction.

        With an `owner`, the write happens only while that owner holds the
        lease (LeaseLost otherwise). A final state releases the lease.
        """
        now = time.time()
        updates: dict[str, Any] = {"state": to_state.value, "updated_at": now}
        for key, value in fields.items():
            if key in ("host_extra", "details"):
                updates[f"{key}_json"] = json.dumps(value or {}, sort_keys=True)
            elif key in ("actual_cost", "estimated_cost"):
                updates[key] = str(value) if value is not None else None
            elif key == "has_audio":
                updates[key] = None if value is None else int(bool(value))
            else:
                updates[key] = value
        if to_state == JobState.SUBMITTED and "submitted_at" not in updates:
            updates["submitted_at"] = now
        if to_state in FINAL_STATES:
            updates.setdefault("finished_at", now)
            updates["lease_owner"] = None
            updates["lease_until"] = None
        columns = ", ".join(f"{k}=?" for k in updates)
        with self._write() as c:
            row = c.execute("SELECT state, batch_id, lease_owner FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            if owner is not None and row["lease_owner"] != owner:
                raise LeaseLost(job_id)
            c.execute(f"UPDATE jobs SET {columns} WHERE id=?", (*updates.values(), job_id))  # noqa: S608
            if row["state"] != to_state.value or detail:
                c.execute(
                    "INSERT INTO events(job_id, batch_id, at, from_state, to_state, detail) VALUES (?,?,?,?,?,?)",
                    (job_id, row["batch_id"], now, row["state"], to_state.value, detail),
                )
            new_row = c.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return _job(new_row)

    def request_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        """Record that a person asked to cancel a job; cancel it at once when nobody drives it yet.

        A queued job that no runner holds is canceled here (nothing was sent).
        Otherwise the flag is left for the runner that holds the job, in this
        process or another (the app, a worker, the CLI), which acts on it before
        its next create or status request. A finished job is left as it is.
        Raises KeyError for an unknown job.
        """
        now = time.time() if now is None else now
        with self._write() as c:
            row = c.execute("SELECT state, lease_owner, lease_until FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise KeyError(job_id)
            if row["state"] in _UNFINISHED:
                c.execute("UPDATE jobs SET cancel_requested_at=? WHERE id=?", (now, job_id))
            unheld = row["lease_owner"] is None or (row["lease_until"] or 0) < now
        if row["state"] == JobState.QUEUED.value and unheld:
            return self.transition(job_id, JobState.CANCELED, owner=None, detail="canceled before sending",
                                   error="Canceled before it was sent; nothing was charged.")
        job = self.get_job(job_id)
        assert job is not None
        return job

    def clear_cancel_request(self, job_id: str) -> None:
        """The cancel was tried and could not stop the job (no cancel call, or the call failed): forget it."""
        with self._write() as c:
            c.execute("UPDATE jobs SET cancel_requested_at=NULL WHERE id=?", (job_id,))

    def cancel_requested(self, job_id: str) -> bool:
        """True when someone asked to cancel this job and it has not ended."""
        row = self._conn().execute("SELECT cancel_requested_at FROM jobs WHERE id=?", (job_id,)).fetchone()
        return bool(row and row["cancel_requested_at"] is not None)

    def update_progress(self, job_id: str, progress: float | None, *, owner: str) -> None:
        """Record progress without an event (it changes often)."""
        with self._write() as c:
            c.execute("UPDATE jobs SET progress=?, updated_at=? WHERE id=? AND lease_owner=?",
                      (progress, time.time(), job_id, owner))

    def retry(self, job_id: str) -> JobRecord:
        """Retry a failed, canceled or unknown job, without paying twice for a clip the host made.

        A job whose host task finished but whose download or save failed goes
        back to following that task (fetch again, no new create), and so does
        one that Kling Lab itself failed (an internal error) after the host
        accepted it. Anything else is queued for a fresh create: for an
        `unknown` job that is the user's explicit choice after checking the host.
        """
        job = self.get_job(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.state not in (JobState.FAILED, JobState.CANCELED, JobState.UNKNOWN):
            raise ValueError(f"Only a failed, canceled or unknown job can be retried; this one is {job.state.value}.")
        if not retry_sends_create(job) and job.error_kind in ("download", "storage"):
            return self.transition(
                job_id, JobState.DOWNLOADING, owner=None, detail="retry download", error=None, error_kind=None,
                finished_at=None, attempts=job.attempts + 1, cancel_requested_at=None,
            )
        if not retry_sends_create(job):
            # The host has (or had) the paid task; our own error must not cost a second create.
            return self.transition(
                job_id, JobState.SUBMITTED, owner=None, detail="retry: follow the same host task", error=None,
                error_kind=None, finished_at=None, attempts=job.attempts + 1, cancel_requested_at=None,
            )
        return self.transition(
            job_id,
            JobState.QUEUED,
            owner=None,
            detail="retry requested",
            host_task_id=None,
            host_extra={},
            error=None,
            error_kind=None,
            progress=None,
            finished_at=None,
            submitted_at=None,
            attempts=job.attempts + 1,
            cancel_requested_at=None,
        )

    # -- spend -------------------------------------------------------------------------------

    @staticmethod
    def _spend_since(conn: sqlite3.Connection, since: float) -> Decimal:
        rows = conn.execute(
            "SELECT estimated_cost, actual_cost, state, host_task_id FROM jobs WHERE created_at >= ?", (since,)
        ).fetchall()
        return sum((_charged(r) for r in rows), Decimal(0))

    def spend_records(self, since: float | None = None) -> list[SpendRecord]:
        """Every job that may have cost money (deleted clips included: their spend is kept)."""
        rows = self._conn().execute(
            "SELECT id, batch_id, provider, created_at, estimated_cost, actual_cost, state, host_task_id"
            " FROM jobs WHERE created_at >= ? ORDER BY created_at",
            (since or 0.0,),
        ).fetchall()
        return [
            SpendRecord(r["id"], r["batch_id"], r["provider"], r["created_at"], _dec(r["estimated_cost"]),
                        _dec(r["actual_cost"]), _charged(r))
            for r in rows
        ]

    def spend_today(self, now: float | None = None) -> Decimal:
        """Money committed today: every job that may be charged, at its actual cost when known."""
        now = time.time() if now is None else now
        return self._spend_since(self._conn(), _start_of_day(now))

    def committed_besides(self, job_id: str, batch_id: str, now: float | None = None) -> tuple[Decimal, Decimal]:
        """(today's committed spend, the batch's committed spend), neither counting job `job_id`."""
        now = time.time() if now is None else now
        conn = self._conn()
        columns = "estimated_cost, actual_cost, state, host_task_id"
        today = conn.execute(f"SELECT {columns} FROM jobs WHERE created_at >= ? AND id != ?",  # noqa: S608
                             (_start_of_day(now), job_id)).fetchall()
        batch = conn.execute(f"SELECT {columns} FROM jobs WHERE batch_id = ? AND id != ?",  # noqa: S608
                             (batch_id, job_id)).fetchall()
        return sum((_charged(r) for r in today), Decimal(0)), sum((_charged(r) for r in batch), Decimal(0))


def retry_sends_create(job: JobRecord) -> bool:
    """True when retrying `job` sends a new (paid) create; False when it fetches or follows the host's task again."""
    return _retry_sends_create(job.host_task_id, job.error_kind)


@dataclass(frozen=True)
class JobQuery:
    """History filters; a None field does not filter."""

    text: str | None = None
    providers: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    duration: int | None = None
    audio: bool | None = None
    aspect_ratio: str | None = None
    starred_only: bool = False
    picked_only: bool = False
    batch_id: str | None = None
    include_deleted: bool = False


def _job_filter_sql(query: JobQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if not query.include_deleted:
        clauses.append("jobs.deleted_at IS NULL")
    if query.text and query.text.strip():
        # LIKE with an escape so % and _ typed by a person match themselves.
        needle = query.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("(jobs.prompt LIKE ? ESCAPE '\\' OR jobs.label LIKE ? ESCAPE '\\'"
                       " OR jobs.notes LIKE ? ESCAPE '\\')")
        args += [f"%{needle}%"] * 3
    if query.providers:
        clauses.append(f"jobs.provider IN ({','.join('?' * len(query.providers))})")
        args += list(query.providers)
    if query.states:
        clauses.append(f"jobs.state IN ({','.join('?' * len(query.states))})")
        args += list(query.states)
    if query.since is not None:
        clauses.append("jobs.created_at >= ?")
        args.append(query.since)
    if query.until is not None:
        clauses.append("jobs.created_at < ?")
        args.append(query.until)
    if query.duration is not None:
        clauses.append("jobs.duration = ?")
        args.append(query.duration)
    if query.audio is not None:
        clauses.append("jobs.audio = ?")
        args.append(int(query.audio))
    if query.aspect_ratio:
        clauses.append("jobs.aspect_ratio = ?")
        args.append(query.aspect_ratio)
    if query.starred_only:
        clauses.append("jobs.starred = 1")
    if query.picked_only:
        clauses.append("(batches.winner_job_id = jobs.id OR EXISTS (SELECT 1 FROM reviews r"
                       " WHERE r.job_id = jobs.id AND r.kind = 'pick'))")
    if query.batch_id:
        clauses.append("jobs.batch_id = ?")
        args.append(query.batch_id)
    return (" AND ".join(clauses) or "1=1"), args


def _charged(row: sqlite3.Row) -> Decimal:
    return charged_amount(row["state"], host_task_id=row["host_task_id"], actual=_dec(row["actual_cost"]),
                          estimated=_dec(row["estimated_cost"]))


def _start_of_day(now: float) -> float:
    local = time.localtime(now)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))


def _batch(row: sqlite3.Row) -> BatchRecord:
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
    )


def _job(row: sqlite3.Row) -> JobRecord:
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
        estimated_cost=_dec(row["estimated_cost"]),
        actual_cost=_dec(row["actual_cost"]),
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
    )
