"""Budgets under concurrency: retries and submits from separate connections at once never pass the daily budget.

Each thread opens its own Store (as another app server or worker would) on one
database, SQLite or PostgreSQL. The budget check is slowed down on purpose, so
a check made outside the ledger lock would let both writers read the same
spend and both pass: the test fails unless the check and the write that
follows it hold the lock together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import kling_lab.batches as batches_module
from kling_lab.batches import retry_job, submit_plan
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import BudgetExceeded, NewJob, Store
from kling_lab.user_settings import UserSettings
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture

PRICE = Decimal("0.35")
SLOW_CHECK = 0.3  # seconds each budget check takes: longer than a thread needs to reach its own check


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    opened: list[Store] = []

    def opener() -> Store:
        opened.append(Store.from_url(url, tmp_path / "db.sqlite3"))
        return opened[-1]

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Make every retry's budget check take SLOW_CHECK seconds; returns when each check started."""
    started: list[float] = []
    real = batches_module.send_refusal

    def slow(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        started.append(time.monotonic())
        answer = real(*args, **kwargs)
        time.sleep(SLOW_CHECK)
        return answer

    monkeypatch.setattr(batches_module, "send_refusal", slow)
    return started


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", keys={"FAL_KEY": "test-key"})


def _failed_jobs(store: Store, n: int) -> list[str]:
    """`n` jobs whose creates the host refused: free now, each a paid create again when retried."""
    batch_id = store.create_batch(template="t", provider="fal", jobs=[
        NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"a heron {i}"), PRICE) for i in range(n)])
    ids = [job.id for job in store.jobs_for_batch(batch_id)]
    for job_id in ids:
        store.transition(job_id, JobState.FAILED, owner=None, error="The host refused it.", error_kind="server")
    return ids


def _spent(store: Store, amount: str) -> None:
    """A finished clip that counts `amount` against today's budget."""
    batch_id = store.create_batch(template="t", provider="fal", jobs=[
        NewJob("done", "fal", GenerationRequest(prompt="a finished clip"), Decimal(amount))])
    (job,) = store.jobs_for_batch(batch_id)
    store.transition(job.id, JobState.DONE, owner=None, actual_cost=Decimal(amount))


def _together(actions: list[Callable[[], object]]) -> list[object]:
    """Run the actions on threads released by one barrier; each result or the exception it raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = actions[index]()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test reads
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_retries_at_once_cannot_pass_the_daily_budget_together(open_store, slow_checks, tmp_path) -> None:
    setup = open_store()
    first, second = _failed_jobs(setup, 2)
    _spent(setup, "1.00")
    user = UserSettings(budget_per_day=Decimal("1.50"))  # $0.50 left: one $0.35 retry fits, two don't
    settings = _settings(tmp_path)
    stores = [open_store(), open_store()]

    results = _together([lambda s=s, j=j: retry_job(s, j, settings, user) for s, j in zip(stores, (first, second),
                                                                                          strict=True)])
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    retried = [r for r in results if not isinstance(r, Exception)]
    assert len(refused) == 1 and len(retried) == 1, results
    assert "Not retried" in str(refused[0]) and "only $0.15 of" in str(refused[0]), str(refused[0])
    assert len(slow_checks) == 2 and abs(slow_checks[1] - slow_checks[0]) >= SLOW_CHECK * 0.9, slow_checks
    states = sorted(setup.get_job(j).state.value for j in (first, second))
    assert states == ["failed", "queued"], states
    assert setup.spend_today() == Decimal("1.35") <= user.budget_per_day


def test_a_retry_and_a_submit_at_once_cannot_pass_the_daily_budget_together(open_store, slow_checks,
                                                                             tmp_path) -> None:
    from kling_lab.batches import plan_batch
    from kling_lab.pricing import load_price_book

    setup = open_store()
    (failed,) = _failed_jobs(setup, 1)
    _spent(setup, "1.00")
    user = UserSettings(budget_per_day=Decimal("1.50"))
    settings = _settings(tmp_path)
    plan = plan_batch("a stork at dawn", GenerationRequest(prompt="", mode="pro"), "fal",
                      load_price_book(settings.price_overrides_path), compare=False)
    assert plan.ok and plan.total == PRICE, (plan.errors, plan.total)
    retrier, submitter = open_store(), open_store()

    def submit_after_the_retry_checked() -> str:
        deadline = time.monotonic() + 5
        while not slow_checks and time.monotonic() < deadline:  # the retry is inside its check now
            time.sleep(0.005)
        return submit_plan(submitter, plan, settings, user)

    retried, submitted = _together([lambda: retry_job(retrier, failed, settings, user),
                                    submit_after_the_retry_checked])
    assert not isinstance(retried, Exception), retried
    assert isinstance(submitted, BudgetExceeded), submitted
    assert "$0.15 left" in str(submitted), str(submitted)
    assert setup.get_job(failed).state == JobState.QUEUED
    assert len(setup.list_batches()) == 2  # the failed one and the spent one; the submit wrote nothing
    assert setup.spend_today() == Decimal("1.35")


def test_a_retry_that_would_pass_the_budget_changes_nothing(open_store, tmp_path) -> None:
    store = open_store()
    (failed,) = _failed_jobs(store, 1)
    _spent(store, "1.40")
    before = store.get_job(failed)
    with pytest.raises(BudgetExceeded, match="Not retried"):
        retry_job(store, failed, _settings(tmp_path), UserSettings(budget_per_day=Decimal("1.50")))
    assert store.get_job(failed) == before
    assert [e.to_state for e in store.events_for_job(failed)] == ["queued", "failed"]
