"""Store migrations: Alembic revisions end at exactly the schema a fresh store gets, and old files upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from kling_lab.store import SCHEMA_VERSION, JobQuery, Store
from kling_lab.store.schema import metadata
from kling_lab.store.upgrade import alembic_config
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture
from tests.unit.legacy_store_sql import write_legacy_store


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    return request.getfixturevalue("postgres_url").replace("postgresql://", "postgresql+psycopg://")


def _alembic(url: str, name: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        getattr(command, name)(alembic_config(conn), revision)
    engine.dispose()


def _schema_differences(url: str) -> list:
    """What autogenerate would change to reach schema.py (indexes are compared by `_indexes`)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    return [d for d in found if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))]


def _indexes(url: str) -> dict[str, list]:
    engine = create_engine(url)
    found = {table: sorted((i["name"], i.get("column_names"), i.get("expressions"), i.get("column_sorting"))
                           for i in inspect(engine).get_indexes(table))
             for table in sorted(metadata.tables)}
    engine.dispose()
    return found


def _fresh_indexes(like_url: str, tmp_path: Path, postgres_url: str | None) -> dict[str, list]:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}" if like_url.startswith("sqlite") else postgres_url
    Store(url=url).close()
    return _indexes(url)


def test_upgrading_an_empty_database_through_every_revision_gives_the_fresh_schema(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _alembic(database_url, "upgrade", "head")
    assert _schema_differences(database_url) == []
    other = None if database_url.startswith("sqlite") else request.getfixturevalue("postgres_url")
    fresh = _fresh_indexes(database_url, tmp_path, other)
    assert _indexes(database_url) == fresh
    assert sum(len(v) for v in fresh.values()) == 20
    store = Store(url=database_url)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_a_fresh_store_matches_its_tables_exactly(database_url: str) -> None:
    Store(url=database_url).close()
    assert _schema_differences(database_url) == []


def test_a_schema_1_database_upgrades_on_open_and_backfills_on_both_backends(database_url: str) -> None:
    _alembic(database_url, "upgrade", "0001")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO meta VALUES ('schema_version', '1')"))
        conn.execute(text("INSERT INTO batches(id, created_at, template, provider) VALUES ('b1', 1, 't', 'fal')"))
        conn.execute(text(
            "INSERT INTO jobs(id, batch_id, position, label, provider, prompt, request_json, state, created_at,"
            " updated_at) VALUES ('j1', 'b1', 0, 'l', 'fal', 'p',"
            " '{\"prompt\": \"p\", \"duration\": 10, \"audio\": true, \"aspect_ratio\": \"9:16\"}', 'done', 1, 1)"
        ))
    engine.dispose()
    store = Store(url=database_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert [j.id for j in store.search_jobs(JobQuery(duration=10, audio=True, aspect_ratio="9:16"))] == ["j1"]
    assert store.spend_today(now=1.0) == 0  # and the ledger row exists: a budgeted batch can be written
    store.create_batch(template="t", provider="fal", jobs=[], budget_per_day=store.spend_today())
    store.close()
    assert _schema_differences(database_url) == []


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_file_from_each_sqlite_only_release_opens_with_its_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite3"
    conn = write_legacy_store(path, version)
    conn.execute("INSERT INTO batches(id, created_at, template, provider) VALUES ('b_1', 1, 't', 'fal')")
    conn.execute(
        "INSERT INTO jobs(id, batch_id, position, label, provider, prompt, request_json, state, created_at,"
        " updated_at, estimated_cost) VALUES ('j_1', 'b_1', 0, 'l', 'fal', 'p', '{\"prompt\": \"p\"}', 'queued',"
        " 1, 1, '0.35')"
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.get_job("j_1").estimated_cost is not None
    assert store.claim_jobs("runner") == ["j_1"]
    store.close()
    # The old DDL said `id TEXT PRIMARY KEY`, which SQLite lets hold NULL; nothing else may differ.
    differences = [d for d in _schema_differences(f"sqlite:///{path}")
                   if not (isinstance(d, list) and d[0][0] == "modify_nullable" and d[0][3] in ("id", "key"))]
    assert differences == []
    assert sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_an_old_release_that_stopped_before_its_first_step_is_treated_as_new(tmp_path: Path) -> None:
    path = tmp_path / "half.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.commit()
    conn.close()
    assert Store(path).schema_version() == SCHEMA_VERSION


def test_schema_5_keeps_each_reviewers_latest_pick_once_and_every_comment_on_both_backends(database_url: str) -> None:
    _alembic(database_url, "upgrade", "0004")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO batches(id, created_at, template, provider) VALUES ('b1', 1, 't', 'fal')"))
        for i, (name, kind, job) in enumerate([("Ana", "pick", "j1"), ("Ana", "pick", "j2"), ("Bo", "pick", "j1"),
                                               ("Ana", "comment", None), ("Ana", "comment", None)]):
            conn.execute(text("INSERT INTO reviews(batch_id, job_id, name, kind, text, at) "
                              "VALUES ('b1', :job, :name, :kind, :text, :at)"),
                         {"job": job, "name": name, "kind": kind, "text": f"c{i}" if kind == "comment" else "",
                          "at": float(i)})
    engine.dispose()
    store = Store(url=database_url)
    reviews = store.reviews_for_batch("b1")
    assert sorted((r.name, r.job_id) for r in reviews if r.kind == "pick") == [("Ana", "j2"), ("Bo", "j1")]
    assert [r.text for r in reviews if r.kind == "comment"] == ["c3", "c4"]
    assert store.review_pick("b1", link_id="", name="ana") == "j2"
    store.close()
    assert _schema_differences(database_url) == []
