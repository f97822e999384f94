"""Budgets: the operator's ceilings and a person's own limits, checked at the door and again before a create.

The operator sets ceilings in the environment or `secrets.toml`
(`KLING_LAB_DAILY_BUDGET_USD`, `KLING_LAB_BATCH_BUDGET_USD`); Settings may set
lower limits, never higher ones. A batch is checked when it is submitted, a
Retry when it is asked for, and the runner checks each job again just before it
sends a create, so no path (Generate, Re-run, Retry, the CLI, a worker) can pay
past a budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kling_lab.config import Settings
from kling_lab.user_settings import UserSettings


@dataclass(frozen=True)
class Budgets:
    """The limits in force (None = no limit)."""

    per_batch: Decimal | None = None
    per_day: Decimal | None = None


def _lower(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)


def effective_budgets(user: UserSettings, settings: Settings) -> Budgets:
    """The person's limits from Settings, capped by the operator's ceilings."""
    return Budgets(per_batch=_lower(user.budget_per_batch, settings.budget_ceiling_per_batch),
                   per_day=_lower(user.budget_per_day, settings.budget_ceiling_per_day))


def send_refusal(budgets: Budgets, *, cost: Decimal, spent_today: Decimal, spent_in_batch: Decimal) -> str | None:
    """Why sending one more clip of `cost` would pass a budget, or None when it may be sent.

    `spent_today` and `spent_in_batch` are what is already committed, not
    counting this clip.
    """
    if budgets.per_day is not None and spent_today + cost > budgets.per_day:
        left = max(budgets.per_day - spent_today, Decimal(0))
        return (f"Not sent: this clip costs about ${cost:.2f} and only ${left:.2f} of today's ${budgets.per_day:.2f} "
                "budget is left. Nothing was charged. Raise the budget in Settings or wait until tomorrow, "
                "then press Retry.")
    if budgets.per_batch is not None and spent_in_batch + cost > budgets.per_batch:
        return (f"Not sent: this clip costs about ${cost:.2f} and its batch has already committed "
                f"${spent_in_batch:.2f} of its ${budgets.per_batch:.2f} budget. Nothing was charged. "
                "Raise the per-batch budget in Settings, then press Retry.")
    return None
