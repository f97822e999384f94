"""History's review-status filter on SQLite and PostgreSQL: approved, changes, rejected, none, and any mix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.request import GenerationRequest
from kling_lab.store import JobQuery, NewJob, Store
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        opened = Store(tmp_path / "db.sqlite3")
    else:
        opened = Store.from_url(request.getfixturevalue("postgres_url"), tmp_path / "unused")
    yield opened
    opened.close()


def _takes(store: Store) -> dict[str, str]:
    jobs = [NewJob(label, "fal", GenerationRequest(prompt=f"a fox {label}"), Decimal("0.35"))
            for label in ("ok", "again", "no", "open", "also ok")]
    batch_id = store.create_batch(template="a fox {…}", provider="fal", jobs=jobs)
    ids = {j.label: j.id for j in store.jobs_for_batch(batch_id)}
    for label, status in (("ok", "approved"), ("again", "changes"), ("no", "rejected"), ("also ok", "approved")):
        store.take_notes.set_status(ids[label], batch_id, status, set_by="Ann", author_key="local:ann")
    return ids


def _labels(store: Store, query: JobQuery) -> set[str]:
    found = {j.label for j in store.search_jobs(query)}
    assert store.count_jobs(query) == len(found)
    return found


def test_each_status_finds_its_takes_and_none_finds_the_unreviewed(store: Store) -> None:
    ids = _takes(store)
    assert _labels(store, JobQuery(review_statuses=("approved",))) == {"ok", "also ok"}
    assert _labels(store, JobQuery(review_statuses=("changes",))) == {"again"}
    assert _labels(store, JobQuery(review_statuses=("rejected",))) == {"no"}
    assert _labels(store, JobQuery(review_statuses=("none",))) == {"open"}
    assert _labels(store, JobQuery(review_statuses=("rejected", "none"))) == {"no", "open"}
    assert _labels(store, JobQuery()) == {"ok", "again", "no", "open", "also ok"}
    # Combined with another filter, and following a status that changes or is cleared.
    assert _labels(store, JobQuery(review_statuses=("approved",), text="also")) == {"also ok"}
    batch_id = store.get_job(ids["open"]).batch_id
    store.take_notes.set_status(ids["open"], batch_id, "approved", set_by="Bo", author_key="local:bo")
    store.take_notes.clear_status(ids["ok"])
    assert _labels(store, JobQuery(review_statuses=("approved",))) == {"open", "also ok"}
    assert _labels(store, JobQuery(review_statuses=("none",))) == {"ok"}
