"""What the screens read through the door: settings, prices, plans, batches, clips, reviews, spend, health.

Every read names its actor, so a reviewer's link and a signed-in member are
decided here, not on a page. A review link's holder reads only its batch, and
what it reads is stripped of costs, host task ids, the lead's stars, ratings,
notes and pick (`_for_board`), so no screen can leak them by accident.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from kling_lab.batches import BatchPlan, BudgetLeft, budget_left, missing_keys, plan_batch
from kling_lab.config import Settings
from kling_lab.lab.actors import Actor, check
from kling_lab.lab.base import DoorBase
from kling_lab.pricing import PriceBook
from kling_lab.request import GenerationRequest
from kling_lab.store import BatchRecord, EventRecord, JobQuery, JobRecord, ReviewRecord, SpendRecord
from kling_lab.user_settings import UserSettings

log = logging.getLogger(__name__)

STORE_UNAVAILABLE = "store unavailable"
"""The health status when the store does not answer (the route answers 503 with it)."""


class Reads(DoorBase):
    """The read side of the door."""

    # -- settings, prices and plans ------------------------------------------------------------

    def settings_for(self, actor: Actor) -> Settings:
        """Environment, secrets and saved base URLs, with the keys this actor typed in their session."""
        self._check(actor, "read")
        return self._for(actor)

    def preferences(self, actor: Actor) -> UserSettings:
        """Budgets, default provider, host limits and base URLs saved from Settings."""
        self._check(actor, "read")
        return self._preferences()

    def price_book(self, actor: Actor) -> PriceBook:
        """The published price tables with this machine's overrides."""
        self._check(actor, "read")
        return self._price_book()

    def plan(self, actor: Actor, template: str, base: GenerationRequest, provider: str, *,
             variables: Mapping[str, Sequence[str]] | None = None,
             sweeps: Mapping[str, Sequence[Any]] | None = None) -> BatchPlan:
        """Expand a template, validate every take for its host and price it; nothing is written."""
        self._check(actor, "submit")
        return plan_batch(template, base, provider, self._price_book(), variables=variables, sweeps=sweeps)

    def missing_keys(self, actor: Actor, plan: BatchPlan) -> list[str]:
        """A sentence per host of the plan that has no key for this actor."""
        self._check(actor, "submit")
        return missing_keys(plan, self._for(actor))

    # -- batches, clips, reviews ---------------------------------------------------------------

    def batches(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        """Batches, newest first."""
        self._check(actor, "read")
        return self.store.list_batches(limit=limit, offset=offset)

    def batch(self, actor: Actor, batch_id: str) -> BatchRecord | None:
        check(actor, "read", batch_id=batch_id)
        batch = self.store.get_batch(batch_id)
        return _board_batch(batch) if batch is not None and actor.scope is not None else batch

    def batch_jobs(self, actor: Actor, batch_id: str) -> list[JobRecord]:
        """A batch's clips in the order they were planned (a reviewer: its batch's, without deleted clips)."""
        check(actor, "read", batch_id=batch_id)
        jobs = self.store.jobs_for_batch(batch_id)
        if actor.scope is not None:
            return [_board_job(j) for j in jobs if j.deleted_at is None]
        return jobs

    def job(self, actor: Actor, job_id: str) -> JobRecord | None:
        job = self.store.get_job(job_id)
        check(actor, "read", batch_id=job.batch_id if job is not None else None)
        if job is not None and actor.scope is not None:
            return _board_job(job) if job.deleted_at is None else None
        return job

    def search_jobs(self, actor: Actor, query: JobQuery, *, limit: int = 60, offset: int = 0) -> list[JobRecord]:
        """Clips matching History's filters, newest first."""
        self._check(actor, "read")
        return self.store.search_jobs(query, limit=limit, offset=offset)

    def count_jobs(self, actor: Actor, query: JobQuery) -> int:
        self._check(actor, "read")
        return self.store.count_jobs(query)

    def events(self, actor: Actor, job_id: str) -> list[EventRecord]:
        """A clip's state changes, oldest first."""
        self._check(actor, "read")
        return self.store.events_for_job(job_id)

    def reviews(self, actor: Actor, batch_id: str) -> list[ReviewRecord]:
        """Reviewers' picks and comments on a batch, oldest first."""
        check(actor, "read", batch_id=batch_id)
        return self.store.reviews_for_batch(batch_id)

    def is_moving(self, actor: Actor, batch_id: str | None = None) -> bool:
        """True while a clip (of `batch_id`, or any) is not finished yet."""
        check(actor, "read", batch_id=batch_id)
        return self.store.has_unfinished(batch_id)

    # -- spend, storage and health -------------------------------------------------------------

    def spend_records(self, actor: Actor, since: float | None = None) -> list[SpendRecord]:
        """Every clip that may be charged, with its estimate and the host's reported charge."""
        self._check(actor, "read_costs")
        return self.store.spend_records(since=since)

    def spend_today(self, actor: Actor) -> Decimal:
        self._check(actor, "read_costs")
        return self.store.spend_today()

    def budget_left(self, actor: Actor) -> BudgetLeft:
        """Today's budget for this actor's next batch: the limits in force and today's committed spend."""
        self._check(actor, "read_costs")
        return budget_left(self._for(actor), self._preferences(), self.store.spend_today())

    def disk_usage_bytes(self, actor: Actor) -> int:
        """Bytes of clips, thumbnails and frames in the media folder."""
        self._check(actor, "read")
        return self.media.disk_usage_bytes()

    def health(self, actor: Actor) -> dict[str, object]:
        """Liveness: whether the store answers a cheap read, this process's runner runs, and whether any clip is
        still being made. `status` is "ok", or "store unavailable" (with a plain `reason`, no path) when the
        store cannot be read (a corrupt file, a database server gone)."""
        self._check(actor, "health")
        running = "running" if self.runner is not None and self.runner.running else "stopped"
        try:
            unfinished = self.store.has_unfinished()
        except Exception as exc:  # noqa: BLE001 - a health check answers whatever the store raises
            log.warning("health: the store could not be read: %s", type(exc).__name__)
            return {"status": STORE_UNAVAILABLE, "runner": running,
                    "reason": "The store could not be read; the server's log and its operator have the details."}
        return {"status": "ok", "runner": running, "unfinished_jobs": unfinished}


def _board_job(job: JobRecord) -> JobRecord:
    """A clip as a review board may see it: no costs, task ids, host details, stars, ratings or notes."""
    return dataclasses.replace(job, host_task_id=None, host_extra={}, estimated_cost=None, actual_cost=None,
                               details={}, starred=False, rating=None, notes="", error=None, error_kind=None)


def _board_batch(batch: BatchRecord) -> BatchRecord:
    """A batch as a review board may see it: no estimate, settings, notes or the lead's pick."""
    return dataclasses.replace(batch, estimated_total=Decimal(0), settings={}, winner_job_id=None, notes="")
