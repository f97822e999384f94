"""From a template to a paid batch: plan (expand, validate, price) and submit (budget, store).

The Compose page, the CLI and tests share this path, so a batch is checked the
same way wherever it starts: every variation is validated for its provider
before anything is written, and the budget is checked inside the store's write
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from kling_lab.budget import Budgets, effective_budgets, send_refusal
from kling_lab.capabilities import missing_key_sentence
from kling_lab.config import Settings
from kling_lab.pricing import BatchEstimate, HostTotal, PriceBook, compare_batch, estimate_batch, format_usd
from kling_lab.request import GenerationRequest, validate
from kling_lab.store import JobRecord, NewJob, ShotSlot, Store
from kling_lab.user_settings import UserSettings
from kling_lab.variations import Expansion, Variation, expand


@dataclass(frozen=True)
class PlannedTake:
    """One variation with its price and the problems that would stop it."""

    variation: Variation
    price: Decimal | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class BatchPlan:
    """Everything Compose shows before Generate: takes, prices, totals and problems."""

    template: str
    provider: str
    expansion: Expansion
    takes: tuple[PlannedTake, ...]
    estimate: BatchEstimate | None
    comparison: tuple[HostTotal, ...]
    variables: Mapping[str, Sequence[str]] | None = None
    sweeps: Mapping[str, Sequence[Any]] | None = None
    left_out: int = 0
    """Takes of the expansion not chosen to run (see `only`)."""
    book: PriceBook | None = field(default=None, compare=False, repr=False)

    def only(self, indices: Iterable[int]) -> BatchPlan:
        """This plan restricted to the takes at `indices` (0-based, in the plan's order), re-priced.

        Raises ValueError with a sentence for an index that is not a take of this plan.
        """
        count = len(self.takes)
        chosen: set[int] = set()
        for index in indices:
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
                numbered = f"numbered 0 to {count - 1}" if count else "so there is nothing to choose"
                raise ValueError(f"There is no take {index!r} in this batch: it has {count} "
                                 f"take{'s' if count != 1 else ''}, {numbered}.")
            chosen.add(index)
        order = sorted(chosen)
        takes = tuple(self.takes[i] for i in order)
        if self.book is not None:
            estimate = estimate_batch([(t.variation.request, t.variation.provider) for t in takes], self.book) \
                if takes else None
            comparison = tuple(compare_batch([t.variation.request for t in takes], self.book)) \
                if (takes and self.comparison) else ()
        else:  # a plan made by hand: its own item prices, no other hosts
            estimate = _sub_estimate(self.estimate, order) if takes else None
            comparison = ()
        return replace(self, takes=takes, estimate=estimate, comparison=comparison,
                       left_out=self.left_out + count - len(takes))

    @property
    def errors(self) -> list[str]:
        """Template errors plus each distinct take problem (prefixed with the take when there are several)."""
        errors = list(self.expansion.errors)
        seen: set[str] = set()
        several = len(self.takes) > 1
        for take in self.takes:
            for problem in take.problems:
                text = f"{take.variation.label}: {problem}" if several and _varies(self.takes, problem) else problem
                if text not in seen:
                    seen.add(text)
                    errors.append(text)
        return errors

    @property
    def ok(self) -> bool:
        return bool(self.takes) and not self.errors

    @property
    def total(self) -> Decimal:
        return self.estimate.total if self.estimate else Decimal(0)


@dataclass(frozen=True)
class BudgetLeft:
    """Today's budget as Compose shows it: the limits in force and what is already committed today."""

    per_day: Decimal | None
    per_batch: Decimal | None
    spent_today: Decimal

    @property
    def left_today(self) -> Decimal | None:
        """What today's budget still allows (never below zero); None without a daily budget."""
        return None if self.per_day is None else max(self.per_day - self.spent_today, Decimal(0))

    def line(self) -> str:
        """One line for the badge: what is left of today's budget, or what was spent without one."""
        if self.per_day is None:
            return f"No daily budget set · {format_usd(self.spent_today)} committed today"
        return f"{format_usd(self.left_today)} of today's {format_usd(self.per_day)} budget left"

    def warning(self, plan: BatchPlan) -> str | None:
        """Why Generating `plan` would cross a budget, in a sentence; None when it fits (the door checks again)."""
        total, count = plan.total, len(plan.takes)
        if not count:
            return None
        these = f"These {count} takes cost" if count != 1 else "This take costs"
        left = self.left_today
        if left is not None and total > left:
            return (f"{these} about {format_usd(total)} and only {format_usd(left)} of today's "
                    f"{format_usd(self.per_day)} budget is left: run fewer takes, or raise the daily budget in "
                    "Settings.")
        if self.per_batch is not None and total > self.per_batch:
            return (f"{these} about {format_usd(total)}, over the budget of {format_usd(self.per_batch)} per "
                    "batch: run fewer takes, or raise the per-batch budget in Settings.")
        return None


def budget_left(settings: Settings, user: UserSettings, spent_today: Decimal) -> BudgetLeft:
    """The person's budgets (capped by the operator's ceilings) and today's committed spend."""
    budgets = effective_budgets(user, settings)
    return BudgetLeft(per_day=budgets.per_day, per_batch=budgets.per_batch, spent_today=spent_today)


def _sub_estimate(estimate: BatchEstimate | None, order: Sequence[int]) -> BatchEstimate | None:
    if estimate is None:
        return None
    items = tuple(estimate.items[i] for i in order)
    total = sum((item.price for item in items if item.price is not None), Decimal(0))
    return BatchEstimate(items=items, total=total, unpriced=sum(1 for item in items if item.price is None))


def _varies(takes: Sequence[PlannedTake], problem: str) -> bool:
    return not all(problem in t.problems for t in takes)


def plan_batch(
    template: str,
    base: GenerationRequest,
    provider: str,
    book: PriceBook,
    *,
    variables: Mapping[str, Sequence[str]] | None = None,
    sweeps: Mapping[str, Sequence[Any]] | None = None,
    compare: bool = True,
) -> BatchPlan:
    """Expand, validate every take for its provider, and price the batch (and on every other host)."""
    expansion = expand(template, base, provider, variables=variables, sweeps=sweeps)
    takes = tuple(
        PlannedTake(v, book.price_for(v.request, v.provider), tuple(validate(v.request, v.provider)))
        for v in expansion.variations
    )
    estimate = estimate_batch([(t.variation.request, t.variation.provider) for t in takes], book) if takes else None
    comparison = tuple(compare_batch([t.variation.request for t in takes], book)) if (takes and compare) else ()
    return BatchPlan(template, provider, expansion, takes, estimate, comparison, variables, sweeps, book=book)


def missing_keys(plan: BatchPlan, settings: Settings) -> list[str]:
    """A sentence per provider in the plan that has no key configured."""
    messages = []
    for provider in sorted({t.variation.provider for t in plan.takes}):
        if not settings.has_key(provider):
            messages.append(missing_key_sentence(provider, "Or pick the free animatic."))
    return messages


def submit_plan(
    store: Store,
    plan: BatchPlan,
    settings: Settings,
    user: UserSettings,
    *,
    source: str = "app",
    budget_per_batch: Decimal | None = None,
    batch_id: str | None = None,
    shot: ShotSlot | None = None,
    parent_job_id: str | None = None,
    lineages: Sequence[str] | None = None,
) -> str:
    """Write a valid plan as a batch of queued jobs; returns the batch id.

    `shot` files it under a sequence's shot; `parent_job_id` and `lineages` (one per take) record the take it
    came from and what changed (see `Store.create_batch`).

    Raises ValueError with the problems when the plan can't be sent, and
    store.BudgetExceeded when a budget would be passed. Nothing is written in
    either case.
    """
    problems = plan.errors + missing_keys(plan, settings)
    if not plan.takes:
        nothing = "No take is chosen to run: choose at least one." if plan.left_out else \
            "There is nothing to generate: write a prompt first."
        problems = problems or [nothing]
    if problems:
        raise ValueError("\n".join(problems))
    unpriced = [t.variation.label for t in plan.takes if t.price is None]
    if unpriced:
        raise ValueError(
            "Kling Lab has no price for " + ", ".join(unpriced) + " on this host, so it can't check the budget."
        )
    jobs = [NewJob(t.variation.label, t.variation.provider, t.variation.request, t.price) for t in plan.takes]
    budgets = effective_budgets(user, settings)
    if budget_per_batch is not None:
        budgets = Budgets(per_batch=min(budget_per_batch, budgets.per_batch or budget_per_batch),
                          per_day=budgets.per_day)
    return store.create_batch(
        template=plan.template,
        provider=plan.provider,
        jobs=jobs,
        source=source,
        settings={
            "variables": {k: list(v) for k, v in (plan.variables or {}).items()},
            "sweeps": {k: list(v) for k, v in (plan.sweeps or {}).items()},
        },
        budget_per_batch=budgets.per_batch,
        budget_per_day=budgets.per_day,
        batch_id=batch_id,
        shot=shot,
        parent_job_id=parent_job_id,
        lineages=lineages,
    )


def submit_rerun(
    store: Store,
    job: JobRecord,
    book: PriceBook,
    settings: Settings,
    user: UserSettings,
    *,
    batch_id: str | None = None,
    shot: ShotSlot | None = None,
) -> str:
    """Send a stored clip's exact request again as a new one-clip batch; returns the batch id.

    The new take's parent is `job` (lineage "same request"); `shot` files it (the re-run take's shot).

    Checked like any batch (validation, key, price, budgets); raises ValueError
    or BudgetExceeded with the reason, writing nothing.
    """
    problems = validate(job.request, job.provider)
    if not settings.has_key(job.provider):
        problems.append(missing_key_sentence(job.provider))
    price = book.price_for(job.request, job.provider)
    if price is None:
        problems.append(book.why_no_price(job.request, job.provider))
    if problems:
        raise ValueError("\n".join(problems))
    return store.create_batch(
        template=job.request.prompt,
        provider=job.provider,
        jobs=[NewJob(job.label, job.provider, job.request, price)],
        source="rerun",
        settings={"rerun_of": job.id},
        budget_per_batch=effective_budgets(user, settings).per_batch,
        budget_per_day=effective_budgets(user, settings).per_day,
        batch_id=batch_id,
        shot=shot,
        parent_job_id=job.id,
        lineages=["same request"],
    )


def retry_job(store: Store, job_id: str, settings: Settings, user: UserSettings) -> JobRecord:
    """Retry a failed, canceled or unknown clip, refusing at once when a new create would pass a budget.

    A retry that only fetches or follows the host's existing task costs nothing
    and is never refused. One that sends a new create is checked and re-queued
    in one transaction holding the ledger lock, as a new batch is, so two
    retries (or a retry and a submit) from any app server or worker can't pass
    the daily budget together. Raises KeyError (no such clip), ValueError (not
    retryable) or BudgetExceeded with the reason; nothing changes then. The
    runner checks the budget again just before it sends.
    """
    budgets = effective_budgets(user, settings)

    def refuse(job: JobRecord, spent_today: Decimal, spent_in_batch: Decimal) -> str | None:
        if not job.estimated_cost:
            return None
        refusal = send_refusal(budgets, cost=job.estimated_cost, spent_today=spent_today,
                               spent_in_batch=spent_in_batch)
        return refusal.replace("Not sent:", "Not retried:").replace(", then press Retry", "") if refusal else None

    return store.retry(job_id, refuse=refuse)
