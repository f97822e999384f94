"""The team store on a real PostgreSQL: concurrent claims and budgeted batches from separate connections."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

from kling_lab.request import GenerationRequest
from kling_lab.store import BudgetExceeded, NewJob, Store
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture

WORKERS = 4


def _jobs(n: int, price: str = "0.35") -> list[NewJob]:
    return [NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"shot {i}"), Decimal(price)) for i in range(n)]


def _run_together(targets: list) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_runners_claiming_from_one_queue_at_once_never_claim_the_same_job(postgres_url: str, tmp_path: Path) -> None:
    setup = Store.from_url(postgres_url, tmp_path / "unused")
    for _ in range(10):
        setup.create_batch(template="t", provider="fal", jobs=_jobs(20))
    runners = [Store.from_url(postgres_url, tmp_path / "unused") for _ in range(WORKERS)]
    claimed: dict[int, list[str]] = {i: [] for i in range(WORKERS)}
    start = threading.Barrier(WORKERS)

    def claim(index: int) -> None:
        start.wait()
        for round_ in range(200):  # each round claims as a new owner: an owner may re-claim its own jobs
            ids = runners[index].claim_jobs(f"runner-{index}-{round_}", lease_seconds=600, limit=3)
            if not ids:
                return
            claimed[index].extend(ids)

    _run_together([lambda i=i: claim(i) for i in range(WORKERS)])
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert len(every) == len(set(every)) == 200
    assert sum(1 for ids in claimed.values() if ids) > 1, "the claims did not overlap; the test proved nothing"
    for store in (setup, *runners):
        store.close()


def test_budgeted_batches_from_many_servers_at_once_never_overspend(postgres_url: str, tmp_path: Path) -> None:
    stores = [Store.from_url(postgres_url, tmp_path / "unused") for _ in range(8)]
    results: list[str] = []
    start = threading.Barrier(len(stores))

    def submit(store: Store) -> None:
        start.wait()
        try:
            store.create_batch(template="t", provider="fal", jobs=_jobs(3), budget_per_day=Decimal("2.50"))
            results.append("ok")
        except BudgetExceeded:
            results.append("refused")

    _run_together([lambda s=s: submit(s) for s in stores])
    assert sorted(results) == ["ok", "ok"] + ["refused"] * 6
    assert stores[0].spend_today() == Decimal("2.10")
    for store in stores:
        store.close()


def test_a_runner_whose_lease_was_taken_over_cannot_write_after_waiting(postgres_url: str, tmp_path: Path) -> None:
    from kling_lab.domain.jobs import JobState
    from kling_lab.store import LeaseLost

    a = Store.from_url(postgres_url, tmp_path / "unused")
    b = Store.from_url(postgres_url, tmp_path / "unused")
    a.create_batch(template="t", provider="fal", jobs=_jobs(1))
    (job_id,) = a.claim_jobs("a", lease_seconds=30, now=1e10)
    assert b.claim_jobs("b", lease_seconds=30, now=1e10 + 60) == [job_id]
    try:
        a.transition(job_id, JobState.SENDING, owner="a")
    except LeaseLost:
        pass
    else:
        raise AssertionError("a runner that lost its lease wrote a transition")
    assert b.transition(job_id, JobState.SENDING, owner="b").state == JobState.SENDING
    a.close()
    b.close()
