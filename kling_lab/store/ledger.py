"""Spend and budgets: what every job counts against them, read so two writers never both pass one budget.

What a job counts is `kling_lab.domain.jobs.charged_amount` (failed tasks and
jobs canceled before the host saw them are free; the rest count at the host's
charge when known, else the estimate). Budget checks that must not race run
inside a transaction holding the ledger lock (`Database.lock_ledger`): a new
batch is checked and written under it, a retry that sends a new create is
checked and re-queued under it (queue.py), and `committed_besides` reads both
of its sums under it, so none sees half of another writer's batch.
"""

from __future__ import annotations

import time
from decimal import Decimal

from sqlalchemy import Connection, select

from kling_lab.store.database import Database
from kling_lab.store.errors import BudgetExceeded
from kling_lab.store.records import SpendRecord, charged, decimal_or_none
from kling_lab.store.schema import jobs

_CHARGE_COLUMNS = (jobs.c.estimated_cost, jobs.c.actual_cost, jobs.c.state, jobs.c.host_task_id)


def start_of_day(now: float) -> float:
    """Local midnight before `now` (budgets are per local day)."""
    local = time.localtime(now)
    return time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0, 0, 0, -1))


def check_batch_budget(total: Decimal, budget_per_batch: Decimal | None) -> None:
    if budget_per_batch is not None and total > budget_per_batch:
        raise BudgetExceeded(
            f"This batch would cost ${total:.2f}, over the per-batch budget of ${budget_per_batch:.2f}. "
            "Remove variations or raise the budget in Settings."
        )


def check_day_budget(conn: Connection, total: Decimal, budget_per_day: Decimal | None, now: float) -> None:
    """Inside the write that adds the batch, with the ledger locked: refuse when today's spend would pass."""
    if budget_per_day is None:
        return
    spent = spend_since(conn, start_of_day(now))
    if spent + total > budget_per_day:
        raise BudgetExceeded(
            f"This batch would cost ${total:.2f}; ${spent:.2f} is already spent today and the daily "
            f"budget is ${budget_per_day:.2f} (${max(budget_per_day - spent, Decimal(0)):.2f} left). "
            "Raise the budget in Settings or wait until tomorrow."
        )


def spend_since(conn: Connection, since: float, *, besides: str | None = None) -> Decimal:
    where = jobs.c.created_at >= since
    if besides is not None:
        where = where & (jobs.c.id != besides)
    rows = conn.execute(select(*_CHARGE_COLUMNS).where(where)).mappings()
    return sum((charged(r) for r in rows), Decimal(0))


class Ledger:
    """Reads of what was spent and committed, for the pricing page, budgets and the runner."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def spend_records(self, since: float | None = None) -> list[SpendRecord]:
        """Every job that may have cost money (deleted clips included: their spend is kept)."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(jobs.c.id, jobs.c.batch_id, jobs.c.provider, jobs.c.created_at, *_CHARGE_COLUMNS)
                .where(jobs.c.created_at >= (since or 0.0)).order_by(jobs.c.created_at)
            ).mappings().all()
        return [
            SpendRecord(r["id"], r["batch_id"], r["provider"], r["created_at"], decimal_or_none(r["estimated_cost"]),
                        decimal_or_none(r["actual_cost"]), charged(r))
            for r in rows
        ]

    def spend_today(self, now: float | None = None) -> Decimal:
        """Money committed today: every job that may be charged, at its actual cost when known."""
        now = time.time() if now is None else now
        with self._db.read() as conn:
            return spend_since(conn, start_of_day(now))

    def committed_besides(self, job_id: str, batch_id: str, now: float | None = None) -> tuple[Decimal, Decimal]:
        """(today's committed spend, the batch's committed spend), neither counting job `job_id`."""
        now = time.time() if now is None else now
        with self._db.snapshot() as conn:
            self._db.lock_ledger(conn, shared=True)
            return committed_in(conn, job_id, batch_id, now)


def committed_in(conn: Connection, job_id: str, batch_id: str, now: float) -> tuple[Decimal, Decimal]:
    """Inside a transaction holding the ledger: (today's committed spend, the batch's), neither counting `job_id`."""
    today = spend_since(conn, start_of_day(now), besides=job_id)
    rows = conn.execute(
        select(*_CHARGE_COLUMNS).where(jobs.c.batch_id == batch_id, jobs.c.id != job_id)
    ).mappings()
    return today, sum((charged(r) for r in rows), Decimal(0))
