"""The budget check the driver makes just before every create, so no path can pay past a budget."""

from __future__ import annotations

from collections.abc import Callable

from kling_lab.budget import effective_budgets, send_refusal
from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.store import JobRecord, Store
from kling_lab.user_settings import load_user_settings


class SendBudget:
    """Today's and the batch's budget for one more create, read fresh every time (Settings may just have changed)."""

    def __init__(self, store: Store, settings: Callable[[], Settings]) -> None:
        self._store = store
        self._settings = settings

    def __call__(self, job: JobRecord) -> str | None:
        if CAPABILITIES[job.provider].offline or not job.estimated_cost:
            return None
        settings = self._settings()
        budgets = effective_budgets(load_user_settings(settings.data_dir), settings)
        if budgets.per_day is None and budgets.per_batch is None:
            return None
        spent_today, spent_in_batch = self._store.committed_besides(job.id, job.batch_id)
        return send_refusal(budgets, cost=job.estimated_cost, spent_today=spent_today, spent_in_batch=spent_in_batch)
