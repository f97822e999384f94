"""`Store`: batches, jobs, events and reviews, over SQLite (default) or PostgreSQL (a team's shared store).

The store is the queue (queue.py) and the ledger (ledger.py) too; `Store` is
the one object the rest of Kling Lab holds, and its methods are the whole API.
Keys and secrets never reach this package: requests are stored as
`GenerationRequest.to_dict()`, which holds no credentials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from kling_lab.domain.jobs import JobState
from kling_lab.store import schema, upgrade
from kling_lab.store.database import Database, parse_database_url
from kling_lab.store.drafts import DraftBook
from kling_lab.store.ledger import Ledger, check_batch_budget, check_day_budget
from kling_lab.store.queries import JobQuery, fetch_job, history_select, unfinished
from kling_lab.store.queue import JobQueue, RetryCheck
from kling_lab.store.records import (
    MAX_TEXT_CHARS,
    BatchRecord,
    DraftRecord,
    EventRecord,
    JobRecord,
    LinkRecord,
    NewJob,
    ReviewRecord,
    SpendRecord,
    batch_from_row,
    decimal_text,
    event_from_row,
    job_from_row,
    new_batch_id,
    new_id,
)
from kling_lab.store.review_book import ReviewBook
from kling_lab.store.schema import batches, events, jobs
from kling_lab.store.sequence_book import SequenceBook, ShotSlot
from kling_lab.store.take_notes import TakeNotes


class Store:
    """Batches, jobs and events in SQLite or PostgreSQL; safe to share between threads.

    `Store(path)` opens (creating or upgrading) a SQLite file; `Store.from_url`
    opens what KLING_LAB_DATABASE_URL names. `path` is None for PostgreSQL.
    """

    def __init__(self, path: Path | None = None, *, url: str | None = None) -> None:
        if (path is None) == (url is None):
            raise TypeError("Store() takes a SQLite file path or a database URL (url=...), not both.")
        target = Path(path) if path is not None else parse_database_url(str(url))
        if isinstance(target, Path):
            self.path: Path | None = target
            target.parent.mkdir(parents=True, exist_ok=True)
            self._db = Database.sqlite(target)
        else:
            self.path = None
            self._db = Database.postgres(target)
        upgrade.ensure_schema(self._db)
        self.queue = JobQueue(self._db)
        self.ledger = Ledger(self._db)
        self.reviews = ReviewBook(self._db)
        self.drafts = DraftBook(self._db)
        self.sequences = SequenceBook(self._db)
        self.take_notes = TakeNotes(self._db)

    @classmethod
    def from_url(cls, url: str | None, default_path: Path) -> Store:
        """Open the store KLING_LAB_DATABASE_URL names (sqlite:///path or postgresql://...), or the default file.

        Raises UnsupportedDatabase (a ValueError) for any other URL, DatabaseUnavailable when a
        PostgreSQL server can't be reached, NewerSchema when a newer release wrote the store.
        """
        if not url or not url.strip():
            return cls(default_path)
        return cls(url=url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tools and tests; the app goes through the methods)."""
        return self._db.engine

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._db.engine.dialect.name

    def close(self) -> None:
        """Close idle connections; the store stays usable and reconnects when asked again."""
        self._db.close()

    def schema_version(self) -> int:
        return upgrade.schema_version(self._db)

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
        shot: ShotSlot | None = None,
        parent_job_id: str | None = None,
        lineages: Sequence[str] | None = None,
    ) -> str:
        """Write a batch and its queued jobs atomically, after checking the budgets.

        `batch_id` (from `new_batch_id()`) lets a caller prepare for the batch
        before it exists, e.g. hand the runner a session's keys first.

        `shot` files the batch under a sequence's shot (made when new, in the same transaction): its jobs are
        the shot's next takes, numbered after its highest. `parent_job_id` is the take every job came from and
        `lineages` (one per job) what changed from it, in words.

        The day's spend is read inside the same write transaction, with the
        ledger locked, so two batches submitted in the same second (from any
        process or server) can't both slip under the daily budget. Raises
        BudgetExceeded with the numbers.
        """
        now = time.time() if now is None else now
        total = sum((j.estimated_cost or Decimal(0) for j in jobs), Decimal(0))
        check_batch_budget(total, budget_per_batch)
        batch_id = batch_id or new_batch_id()
        job_rows = [
            {
                "id": new_id("j"), "batch_id": batch_id, "position": position, "label": job.label,
                "provider": job.provider, "prompt": job.request.prompt,
                "request_json": json.dumps(job.request.to_dict(), sort_keys=True), "state": JobState.QUEUED.value,
                "estimated_cost": decimal_text(job.estimated_cost), "created_at": now, "updated_at": now,
                "duration": job.request.duration, "audio": int(bool(job.request.audio)),
                "aspect_ratio": job.request.aspect_ratio,
            }
            for position, job in enumerate(jobs)
        ]
        if lineages is not None and len(lineages) != len(job_rows):
            raise ValueError("create_batch takes one lineage per job")
        for index, row in enumerate(job_rows):
            row["parent_job_id"] = parent_job_id
            row["lineage"] = lineages[index] if lineages is not None else ""
        with self._db.write() as conn:
            self._db.lock_ledger(conn)
            check_day_budget(conn, total, budget_per_day, now)
            shot_id = self.sequences.slot_shot(conn, shot, now) if shot is not None else None
            if shot_id is not None:
                for row, take in zip(job_rows, self.sequences.next_take_numbers(conn, shot_id, len(job_rows)),
                                     strict=True):
                    row["shot_id"], row["take_number"] = shot_id, take
            conn.execute(insert(batches).values(
                id=batch_id, created_at=now, template=template, provider=provider, source=source,
                estimated_total=str(total), settings_json=json.dumps(settings or {}), shot_id=shot_id,
            ))
            if job_rows:
                conn.execute(insert(schema.jobs), job_rows)  # `jobs` is the argument here
                conn.execute(insert(events), [
                    {"job_id": row["id"], "batch_id": batch_id, "at": now, "from_state": None,
                     "to_state": JobState.QUEUED.value, "detail": "created"}
                    for row in job_rows
                ])
        return batch_id

    def get_batch(self, batch_id: str) -> BatchRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
        return batch_from_row(row) if row else None

    def list_batches(self, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                select(batches).order_by(batches.c.created_at.desc()).limit(limit).offset(offset)
            ).mappings().all()
        return [batch_from_row(r) for r in rows]

    def set_winner(self, batch_id: str, job_id: str | None) -> None:
        with self._db.write() as conn:
            conn.execute(update(batches).where(batches.c.id == batch_id).values(winner_job_id=job_id))

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
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**updates))

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._db.read() as conn:
            return fetch_job(conn, job_id)

    def jobs_for_batch(self, batch_id: str) -> list[JobRecord]:
        return self._jobs(select(jobs).where(jobs.c.batch_id == batch_id).order_by(jobs.c.position))

    def list_jobs(self, limit: int = 100, offset: int = 0, include_deleted: bool = False) -> list[JobRecord]:
        statement = select(jobs)
        if not include_deleted:
            statement = statement.where(jobs.c.deleted_at.is_(None))
        return self._jobs(statement.order_by(jobs.c.created_at.desc(), jobs.c.position).limit(limit).offset(offset))

    def search_jobs(self, query: JobQuery, *, limit: int = 60, offset: int = 0) -> list[JobRecord]:
        """Clips matching every set filter, newest first, one page at a time."""
        return self._jobs(history_select(*jobs.c, query=query)
                          .order_by(jobs.c.created_at.desc(), jobs.c.position).limit(limit).offset(offset))

    def count_jobs(self, query: JobQuery) -> int:
        with self._db.read() as conn:
            return int(conn.execute(history_select(func.count(), query=query)).scalar_one())

    def mark_deleted(self, job_id: str) -> JobRecord:
        """Hide a clip from history and forget its files; its request, cost and events stay (spend is kept)."""
        with self._db.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.deleted_at.is_(None))
                         .values(deleted_at=time.time(), video_path=None, thumb_path=None))
        job = self.get_job(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def add_review(self, batch_id: str, *, name: str, kind: str, job_id: str | None = None, text: str = "",
                   link_id: str = "") -> None:
        """A reviewer's comment (one more in the list) or pick (their one pick, replaced; None un-picks)."""
        if kind == "comment":
            self.reviews.add_comment(batch_id, name=name, text=text, job_id=job_id)
        elif kind == "pick":
            self.reviews.set_pick(batch_id, link_id=link_id, name=name, job_id=job_id)
        else:
            raise ValueError("A review is a pick or a comment.")

    def review_pick(self, batch_id: str, *, link_id: str, name: str) -> str | None:
        """The clip a reviewer (link id and typed name) picked on a batch, or None."""
        return self.reviews.pick_of(batch_id, link_id=link_id, name=name)

    def reviews_for_batch(self, batch_id: str) -> list[ReviewRecord]:
        """Comments and each reviewer's current pick, oldest first."""
        return self.reviews.for_batch(batch_id)

    def add_review_link(self, link: LinkRecord) -> None:
        self.reviews.add_link(link)

    def review_link(self, link_id: str) -> LinkRecord | None:
        return self.reviews.link(link_id)

    def review_links_for(self, kind: str, target: str) -> list[LinkRecord]:
        return self.reviews.links_for(kind, target)

    def revoke_review_link(self, link_id: str, now: float | None = None) -> LinkRecord | None:
        return self.reviews.revoke(link_id, now)

    def review_link_revoked(self, link_id: str) -> bool:
        """True for a revoked link and for one this store never made."""
        return self.reviews.is_revoked(link_id)

    # -- drafts (drafts.py) --------------------------------------------------------------------

    def save_draft(self, draft_id: str | None, *, owner_kind: str, owner_name: str, state: dict[str, Any],
                   origin: str = "", now: float | None = None) -> DraftRecord:
        """Write a Compose draft (a new one when `draft_id` is None or not this owner's); returns it as stored.
        ValueError with a sentence when it is too large to keep."""
        return self.drafts.save(draft_id, owner_kind=owner_kind, owner_name=owner_name, state=state,
                                origin=origin, now=now)

    def get_draft(self, draft_id: str) -> DraftRecord | None:
        return self.drafts.get(draft_id)

    def recent_drafts(self, *, owner_kind: str, owner_name: str, limit: int = 5) -> list[DraftRecord]:
        """An owner's drafts, the most recently changed first."""
        return self.drafts.recent(owner_kind=owner_kind, owner_name=owner_name, limit=limit)

    def find_job_by_task(self, provider: str, task_id: str) -> JobRecord | None:
        found = self._jobs(select(jobs).where(jobs.c.provider == provider, jobs.c.host_task_id == task_id).limit(1))
        return found[0] if found else None

    def events_for_job(self, job_id: str) -> list[EventRecord]:
        with self._db.read() as conn:
            rows = conn.execute(select(events).where(events.c.job_id == job_id).order_by(events.c.id)).mappings().all()
        return [event_from_row(r) for r in rows]

    def has_unfinished(self, batch_id: str | None = None) -> bool:
        statement = select(jobs.c.id).where(unfinished())
        if batch_id:
            statement = statement.where(jobs.c.batch_id == batch_id)
        with self._db.read() as conn:
            return conn.execute(statement.limit(1)).first() is not None

    def _jobs(self, statement: Any) -> list[JobRecord]:
        with self._db.read() as conn:
            rows = conn.execute(statement).mappings().all()
        return [job_from_row(r) for r in rows]

    # -- leases and transitions (queue.py) -----------------------------------------------------

    def claim_jobs(
        self, owner: str, *, lease_seconds: float = 60, limit: int = 50, now: float | None = None
    ) -> list[str]:
        """Lease up to `limit` unfinished jobs nobody holds (or whose lease ran out); returns their ids."""
        return self.queue.claim_jobs(owner, lease_seconds=lease_seconds, limit=limit, now=now)

    def renew_leases(self, owner: str, job_ids: Sequence[str], *, lease_seconds: float = 60) -> set[str]:
        """Extend this owner's leases; returns the ids it still holds."""
        return self.queue.renew_leases(owner, job_ids, lease_seconds=lease_seconds)

    def release(self, owner: str, job_id: str) -> None:
        self.queue.release(owner, job_id)

    def transition(self, job_id: str, to_state: JobState, *, owner: str | None, detail: str = "",
                   **fields: Any) -> JobRecord:
        """Move a job to `to_state` with field updates and an event; LeaseLost when `owner` lost the lease."""
        return self.queue.transition(job_id, to_state, owner=owner, detail=detail, **fields)

    def request_cancel(self, job_id: str, *, now: float | None = None) -> JobRecord:
        """Ask to cancel a job: canceled at once when queued and unheld, else flagged for its runner."""
        return self.queue.request_cancel(job_id, now=now)

    def clear_cancel_request(self, job_id: str) -> None:
        """The cancel was tried and could not stop the job (no cancel call, or the call failed): forget it."""
        self.queue.clear_cancel_request(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        """True when someone asked to cancel this job and it has not ended."""
        return self.queue.cancel_requested(job_id)

    def update_progress(self, job_id: str, progress: float | None, *, owner: str) -> None:
        """Record progress without an event (it changes often)."""
        self.queue.update_progress(job_id, progress, owner=owner)

    def retry(self, job_id: str, *, refuse: RetryCheck | None = None) -> JobRecord:
        """Retry a failed, canceled or unknown job, without paying twice for a clip the host made; `refuse`
        (job, spent today, spent in its batch) -> a sentence is asked under the ledger lock before a new create."""
        return self.queue.retry(job_id, refuse=refuse)

    # -- spend (ledger.py) ---------------------------------------------------------------------

    def spend_records(self, since: float | None = None) -> list[SpendRecord]:
        """Every job that may have cost money (deleted clips included: their spend is kept)."""
        return self.ledger.spend_records(since)

    def spend_today(self, now: float | None = None) -> Decimal:
        """Money committed today: every job that may be charged, at its actual cost when known."""
        return self.ledger.spend_today(now)

    def committed_besides(self, job_id: str, batch_id: str, now: float | None = None) -> tuple[Decimal, Decimal]:
        """(today's committed spend, the batch's committed spend), neither counting job `job_id`."""
        return self.ledger.committed_besides(job_id, batch_id, now)
