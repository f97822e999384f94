"""The store: schema, batches, leases, transitions, budgets and spend, on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import (
    MAX_TEXT_CHARS,
    SCHEMA_VERSION,
    BudgetExceeded,
    JobQuery,
    LeaseLost,
    NewerSchema,
    NewJob,
    Store,
    UnsupportedDatabase,
)
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture
from tests.unit.legacy_store_sql import write_legacy_store

Opener = Callable[[], Store]


def _jobs(n: int, price: str = "0.35") -> list[NewJob]:
    return [NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"shot {i}"), Decimal(price)) for i in range(n)]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a new Store on one database per test (each call: a new engine, as another process would)."""
    if request.param == "sqlite":
        def opener() -> Store:
            return Store(tmp_path / "db.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")

        def opener() -> Store:
            return Store.from_url(url, tmp_path / "unused.sqlite3")
    opened: list[Store] = []

    def tracked() -> Store:
        opened.append(opener())
        return opened[-1]

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> Store:
    return open_store()


def _scalar(store: Store, sql: str, **params: object) -> object:
    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_new_store_records_the_schema_version_and_uses_wal(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    assert store.schema_version() == SCHEMA_VERSION
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert sqlite3.connect(store.path).execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_new_store_is_stamped_where_alembic_itself_puts_it(open_store: Opener) -> None:
    from alembic.runtime.migration import MigrationContext

    store = open_store()
    assert store.schema_version() == SCHEMA_VERSION
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == f"{SCHEMA_VERSION:04d}"
    assert open_store().schema_version() == SCHEMA_VERSION  # the second open finds it current


def test_store_written_by_a_newer_release_is_refused_with_a_message(open_store: Opener) -> None:
    store = open_store()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='0099'"))
    store.close()
    with pytest.raises(RuntimeError, match="newer Kling Lab"):
        open_store()


def test_file_a_newer_sqlite_only_release_marked_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    write_legacy_store(path, 3).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(NewerSchema, match=r"newer Kling Lab \(schema 7\)"):
        Store(path)


def test_create_batch_writes_queued_jobs_in_order_with_the_exact_request(store: Store) -> None:
    request = GenerationRequest(prompt="a fox", duration=10, audio=True, cfg_scale=0.3, voice_ids=("v1",))
    batch_id = store.create_batch(template="a fox", provider="fal",
                                  jobs=[NewJob("only", "fal", request, Decimal("1.40"))])
    jobs = store.jobs_for_batch(batch_id)
    assert [j.state for j in jobs] == [JobState.QUEUED]
    assert jobs[0].request == request
    assert jobs[0].estimated_cost == Decimal("1.40")
    assert store.get_batch(batch_id).estimated_total == Decimal("1.40")
    assert [e.to_state for e in store.events_for_job(jobs[0].id)] == ["queued"]


def test_per_batch_budget_refuses_with_the_numbers_and_writes_nothing(store: Store) -> None:
    with pytest.raises(BudgetExceeded, match=r"\$3\.50.*\$2\.00"):
        store.create_batch(template="t", provider="fal", jobs=_jobs(10), budget_per_batch=Decimal("2"))
    assert store.list_batches() == []


def test_daily_budget_counts_what_was_already_committed_today(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(4), budget_per_day=Decimal("2"))
    with pytest.raises(BudgetExceeded, match=r"\$1\.40 is already spent today"):
        store.create_batch(template="t", provider="fal", jobs=_jobs(2), budget_per_day=Decimal("2"))


def test_failed_jobs_do_not_count_toward_spend(store: Store) -> None:
    batch_id = store.create_batch(template="t", provider="fal", jobs=_jobs(2))
    first = store.jobs_for_batch(batch_id)[0]
    store.transition(first.id, JobState.FAILED, owner=None, error="no")
    assert store.spend_today() == Decimal("0.35")


def test_actual_cost_replaces_the_estimate_in_spend(store: Store) -> None:
    batch_id = store.create_batch(template="t", provider="kling", jobs=_jobs(1))
    job = store.jobs_for_batch(batch_id)[0]
    store.transition(job.id, JobState.DONE, owner=None, actual_cost=Decimal("0.70"))
    assert store.spend_today() == Decimal("0.70")


def test_two_sessions_submitting_at_once_never_exceed_the_daily_budget(open_store: Opener) -> None:
    open_store()
    results: list[str] = []
    stores = [open_store() for _ in range(6)]
    start = threading.Barrier(6)

    def submit(own: Store) -> None:
        start.wait()
        try:
            own.create_batch(template="t", provider="fal", jobs=_jobs(4), budget_per_day=Decimal("2"))
            results.append("ok")
        except BudgetExceeded:
            results.append("refused")

    threads = [threading.Thread(target=submit, args=(own,)) for own in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert open_store().spend_today() == Decimal("1.40")


def test_a_claimed_job_is_not_claimed_by_another_runner_until_its_lease_ends(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(3))
    now = time.time()
    first = store.claim_jobs("a", lease_seconds=30, now=now)
    assert len(first) == 3
    assert store.claim_jobs("b", lease_seconds=30, now=now + 1) == []
    assert sorted(store.claim_jobs("b", lease_seconds=30, now=now + 31)) == sorted(first)


def test_transition_by_a_runner_that_lost_the_lease_is_refused(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    now = time.time()
    (job_id,) = store.claim_jobs("a", lease_seconds=30, now=now)
    store.claim_jobs("b", lease_seconds=30, now=now + 60)
    with pytest.raises(LeaseLost):
        store.transition(job_id, JobState.SENDING, owner="a")
    assert store.get_job(job_id).state == JobState.QUEUED


def test_final_state_releases_the_lease_and_sets_finished_at(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    (job_id,) = store.claim_jobs("a")
    job = store.transition(job_id, JobState.DONE, owner="a", video_path="/x.mp4")
    assert job.finished_at is not None
    assert store.claim_jobs("b") == []
    assert _scalar(store, "SELECT lease_owner FROM jobs WHERE id = :id", id=job_id) is None


def test_retry_after_a_download_failure_follows_the_same_host_task(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    (job_id,) = store.claim_jobs("a")
    store.transition(job_id, JobState.SUBMITTED, owner="a", host_task_id="task-1")
    store.transition(job_id, JobState.FAILED, owner="a", error="cut", error_kind="download")
    job = store.retry(job_id)
    assert job.state == JobState.DOWNLOADING
    assert job.host_task_id == "task-1"


def test_retry_of_a_failed_create_queues_a_fresh_send(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    (job_id,) = store.claim_jobs("a")
    store.transition(job_id, JobState.FAILED, owner="a", error="policy", error_kind="content_policy")
    job = store.retry(job_id)
    assert job.state == JobState.QUEUED
    assert job.host_task_id is None and job.error is None
    assert job.attempts == 1


def test_retry_of_a_running_job_is_refused(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    (job_id,) = store.claim_jobs("a")
    store.transition(job_id, JobState.RUNNING, owner="a", host_task_id="t")
    with pytest.raises(ValueError, match="Only a failed"):
        store.retry(job_id)


def test_annotate_sets_star_rating_and_notes_and_rejects_bad_ratings(store: Store) -> None:
    batch_id = store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    job_id = store.jobs_for_batch(batch_id)[0].id
    store.annotate(job_id, starred=True, rating=4, notes="keeper")
    job = store.get_job(job_id)
    assert (job.starred, job.rating, job.notes) == (True, 4, "keeper")
    with pytest.raises(ValueError):
        store.annotate(job_id, rating=6)
    store.set_winner(batch_id, job_id)
    assert store.get_batch(batch_id).winner_job_id == job_id


def test_notes_keep_their_first_4000_characters_like_the_notes_box_does(store: Store) -> None:
    batch_id = store.create_batch(template="t", provider="fal", jobs=_jobs(1))
    job_id = store.jobs_for_batch(batch_id)[0].id
    store.annotate(job_id, notes="n" * (MAX_TEXT_CHARS + 50))
    assert store.get_job(job_id).notes == "n" * MAX_TEXT_CHARS


def test_find_job_by_task_matches_provider_and_task_id(store: Store) -> None:
    store.create_batch(template="t", provider="fal", jobs=_jobs(2))
    ids = store.claim_jobs("a")
    store.transition(ids[1], JobState.SUBMITTED, owner="a", host_task_id="abc")
    assert store.find_job_by_task("fal", "abc").id == ids[1]
    assert store.find_job_by_task("kie", "abc") is None


@pytest.mark.parametrize("url", [
    "mysql://u@h/db", "mssql+pyodbc://h/db", "postgresql+psycopg2://u@h/db", "sqlite://", "sqlite:///:memory:",
    "not a url",
])
def test_database_url_kling_lab_cannot_use_is_refused_with_a_sentence(url: str, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDatabase, match="(sqlite|psycopg)") as refused:
        Store.from_url(url, tmp_path / "db")
    assert isinstance(refused.value, ValueError)
    assert "Traceback" not in str(refused.value) and str(refused.value).endswith(".")


def test_database_url_picks_sqlite_files_and_the_default(tmp_path: Path) -> None:
    assert Store.from_url(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "db").path == tmp_path / "other.db"
    assert Store.from_url(None, tmp_path / "default.db").path == tmp_path / "default.db"
    assert Store.from_url("", tmp_path / "default.db").dialect == "sqlite"


def test_postgresql_urls_open_a_postgresql_store_with_psycopg_3(postgres_url: str, tmp_path: Path) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgresql+psycopg://")):
        store = Store.from_url(url, tmp_path / "unused.db")
        assert (store.dialect, store.path, store.engine.dialect.driver) == ("postgresql", None, "psycopg")
        store.close()
    assert not (tmp_path / "unused.db").exists()


def test_an_unreachable_postgresql_server_is_a_sentence_without_the_password(tmp_path: Path) -> None:
    from kling_lab.store import DatabaseUnavailable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatabaseUnavailable, match="could not connect to the PostgreSQL database") as failed:
        Store.from_url(f"postgresql://kling:hunter2secret@127.0.0.1:{port}/lab?connect_timeout=2", tmp_path / "d")
    assert "hunter2secret" not in str(failed.value)


def test_migration_from_schema_1_keeps_rows_and_backfills_filter_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = write_legacy_store(path, 1)
    conn.execute("INSERT INTO batches(id, created_at, template, provider) VALUES ('b_000000000001', 1, 't', 'fal')")
    conn.execute(
        "INSERT INTO jobs(id, batch_id, position, label, provider, prompt, request_json, state, created_at,"
        " updated_at) VALUES ('j_000000000001', 'b_000000000001', 0, 'l', 'fal', 'p',"
        " '{\"prompt\": \"p\", \"duration\": 10, \"audio\": true, \"aspect_ratio\": \"9:16\"}', 'done', 1, 1)"
    )
    conn.commit()
    conn.close()
    migrated = Store(path)
    assert migrated.schema_version() == SCHEMA_VERSION
    (job,) = migrated.search_jobs(JobQuery(duration=10, audio=True, aspect_ratio="9:16"))
    assert job.id == "j_000000000001"
    assert sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def _filled(store: Store) -> str:
    jobs = [
        NewJob("snow", "fal", GenerationRequest(prompt="a fox in snow", duration=10, audio=True), Decimal("1.40")),
        NewJob("rain", "kie", GenerationRequest(prompt="a fox in rain", aspect_ratio="9:16"), Decimal("0.28")),
        NewJob("fog", "fal", GenerationRequest(prompt="a lighthouse in fog"), Decimal("0.35")),
    ]
    return store.create_batch(template="t", provider="fal", jobs=jobs)


def test_search_filters_by_text_host_length_audio_aspect_and_star(store: Store) -> None:
    batch_id = _filled(store)
    jobs = {j.label: j for j in store.jobs_for_batch(batch_id)}
    store.annotate(jobs["fog"].id, starred=True)

    def labels(query: JobQuery) -> list[str]:
        return sorted(j.label for j in store.search_jobs(query))

    assert labels(JobQuery(text="fox")) == ["rain", "snow"]
    assert labels(JobQuery(text="LIGHTHOUSE")) == ["fog"]
    assert labels(JobQuery(providers=("kie",))) == ["rain"]
    assert labels(JobQuery(duration=10)) == ["snow"]
    assert labels(JobQuery(audio=False)) == ["fog", "rain"]
    assert labels(JobQuery(aspect_ratio="9:16")) == ["rain"]
    assert labels(JobQuery(starred_only=True)) == ["fog"]
    assert store.count_jobs(JobQuery(text="fox", providers=("fal",))) == 1


def test_search_text_treats_percent_and_underscore_literally(store: Store) -> None:
    store.create_batch(template="t", provider="fal",
                       jobs=[NewJob("a", "fal", GenerationRequest(prompt="100% cotton"), Decimal("0.35")),
                             NewJob("b", "fal", GenerationRequest(prompt="1000 cotton"), Decimal("0.35"))])
    assert [j.label for j in store.search_jobs(JobQuery(text="100%"))] == ["a"]


def test_picked_filter_finds_batch_winners_and_review_picks(store: Store) -> None:
    batch_id = _filled(store)
    jobs = {j.label: j for j in store.jobs_for_batch(batch_id)}
    store.set_winner(batch_id, jobs["snow"].id)
    store.add_review(batch_id, name="Ana", kind="pick", job_id=jobs["rain"].id)
    assert sorted(j.label for j in store.search_jobs(JobQuery(picked_only=True))) == ["rain", "snow"]


def test_deleted_clip_leaves_history_but_keeps_its_spend(store: Store) -> None:
    batch_id = _filled(store)
    job = store.jobs_for_batch(batch_id)[0]
    before = store.spend_today()
    store.mark_deleted(job.id)
    assert job.id not in {j.id for j in store.search_jobs(JobQuery())}
    assert store.spend_today() == before
    assert any(r.job_id == job.id for r in store.spend_records())


def test_reviews_are_stored_with_the_reviewers_name(store: Store) -> None:
    batch_id = _filled(store)
    store.add_review(batch_id, name="  Ana  ", kind="comment", text="the fog take")
    store.add_review(batch_id, name="", kind="comment", text="+1")
    reviews = store.reviews_for_batch(batch_id)
    assert [(r.name, r.text) for r in reviews] == [("Ana", "the fog take"), ("anonymous", "+1")]
    with pytest.raises(ValueError):
        store.add_review(batch_id, name="x", kind="vote")
