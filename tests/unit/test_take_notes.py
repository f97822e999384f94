"""The store's take notes on SQLite and PostgreSQL: comments kept, ordered, edited, soft-deleted; one status a take."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.store.schema import take_comments
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture

MARKUP = "<script>alert(1)</script> =HYPERLINK(\"http://evil\")\nline two"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        opened = Store(tmp_path / "db.sqlite3")
    else:
        opened = Store.from_url(request.getfixturevalue("postgres_url"), tmp_path / "unused")
    yield opened
    opened.close()


def _batch(store: Store, takes: int = 3) -> tuple[str, list[str]]:
    jobs = [NewJob(f"take {i}", "fal", GenerationRequest(prompt="x"), Decimal("0.35")) for i in range(takes)]
    batch_id = store.create_batch(template="t", provider="fal", jobs=jobs)
    return batch_id, [j.id for j in store.jobs_for_batch(batch_id)]


def _add(store: Store, job_id: str, batch_id: str, at: float, text: str = "x", key: str = "local:", **kw):
    return store.take_notes.add_comment(job_id, batch_id, at=at, until=kw.pop("until", None), text=text,
                                        author_name=kw.pop("name", "Lead"), author_kind=kw.pop("kind", "local"),
                                        author_key=key, **kw)


def test_a_comment_is_kept_verbatim_and_read_back_by_take_then_time(store: Store) -> None:
    batch_id, (a, b, c) = _batch(store)
    late_c = _add(store, c, batch_id, 4.0, now=100.0)
    early_c = _add(store, c, batch_id, 0.5, MARKUP, until=1.25, now=101.0)
    on_a = _add(store, a, batch_id, 2.0, name="Jo", kind="reviewer", key="l_1:jo", link_id="l_1")
    assert (early_c.at, early_c.until, early_c.text) == (0.5, 1.25, MARKUP)
    assert (early_c.created_at, early_c.updated_at, early_c.batch_id) == (101.0, 101.0, batch_id)
    assert (on_a.author_name, on_a.author_kind, on_a.author_key, on_a.link_id) == ("Jo", "reviewer", "l_1:jo", "l_1")
    assert store.take_notes.for_batch(batch_id) == [on_a, early_c, late_c]
    assert store.take_notes.for_jobs([c, b, a]) == [early_c, late_c, on_a]
    assert store.take_notes.for_jobs([]) == [] and store.take_notes.for_jobs([b]) == []
    other_batch, (d, *_rest) = _batch(store)
    assert store.take_notes.for_batch(other_batch) == []


def test_edit_changes_the_text_only_and_delete_is_soft(store: Store) -> None:
    batch_id, (a, *_rest) = _batch(store)
    comment = _add(store, a, batch_id, 1.0, "first", now=10.0)
    edited = store.take_notes.edit_comment(comment.id, "second", now=20.0)
    assert edited is not None and (edited.text, edited.at, edited.created_at, edited.updated_at) == (
        "second", 1.0, 10.0, 20.0)
    assert store.take_notes.delete_comment(comment.id, now=30.0) is True
    assert store.take_notes.delete_comment(comment.id) is False
    assert store.take_notes.comment(comment.id) is None and store.take_notes.is_deleted(comment.id)
    assert store.take_notes.comment(comment.id, deleted=True) is not None
    assert store.take_notes.edit_comment(comment.id, "third") is None
    assert store.take_notes.for_batch(batch_id) == [] and store.take_notes.for_jobs([a]) == []
    with store.engine.connect() as conn:  # the row stays for the record
        row = conn.execute(select(take_comments).where(take_comments.c.id == comment.id)).mappings().one()
    assert (row["text"], row["deleted_at"]) == ("second", 30.0)


def test_one_status_a_take_replaced_and_cleared(store: Store) -> None:
    batch_id, (a, b, c) = _batch(store)
    store.take_notes.set_status(a, batch_id, "changes", set_by="Jo", author_key="l_1:jo", now=5.0)
    latest = store.take_notes.set_status(a, batch_id, "approved", set_by="Mia", now=6.0)
    store.take_notes.set_status(b, batch_id, "rejected", set_by="Lead", now=7.0)
    assert store.take_notes.status(a) == latest
    assert (latest.status, latest.set_by, latest.set_at) == ("approved", "Mia", 6.0)
    assert set(store.take_notes.statuses_for_batch(batch_id)) == {a, b}
    assert store.take_notes.statuses_for_jobs([b, c]) == {b: store.take_notes.status(b)}
    assert store.take_notes.statuses_for_jobs([]) == {}
    store.take_notes.clear_status(a)
    store.take_notes.clear_status(c)  # nothing to clear: no error
    assert store.take_notes.status(a) is None and set(store.take_notes.statuses_for_batch(batch_id)) == {b}
