"""The door: who may do what, typed keys bound to the asking session, and a delete that cannot half-happen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import plan_batch
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.lab import Actor, Lab, NotAllowed, allowed
from kling_lab.media import MediaStore
from kling_lab.pricing import load_price_book
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner
from kling_lab.store import BudgetExceeded, NewJob, Store
from kling_lab.user_settings import UserSettings


class KeyHolder:
    """Stands in for the runner: records what the door hands it."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, str]] = {}
        self.released: list[str] = []
        self.wakes = 0

    def hold_keys(self, batch_id, keys):  # noqa: ANN001
        self.held[batch_id] = dict(keys)

    def release_keys(self, batch_id):  # noqa: ANN001
        self.released.append(batch_id)

    def wake(self):  # noqa: ANN201
        self.wakes += 1


@pytest.fixture
def parts(tmp_path: Path):  # noqa: ANN201
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "db.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    return settings, store, media


def _lab(parts, runner=None, preferences: UserSettings | None = None) -> Lab:  # noqa: ANN001
    settings, store, media = parts
    return Lab(store, media, runner, lambda: settings, lambda: preferences or UserSettings())


def _plan(provider: str = "fal"):  # noqa: ANN202
    return plan_batch("a fox in {snow|rain}", GenerationRequest(prompt=""), provider, load_price_book(None))


def _done_job(store: Store, media: MediaStore, tiny_mp4: bytes) -> str:
    batch_id = store.create_batch(template="t", provider="animatic",
                                  jobs=[NewJob("take", "animatic", GenerationRequest(prompt="x"), Decimal(0))])
    job_id = store.jobs_for_batch(batch_id)[0].id
    clip = media.clip_path(job_id)
    clip.write_bytes(tiny_mp4)
    store.transition(job_id, JobState.DONE, owner=None, video_path=str(clip))
    return job_id


@pytest.mark.parametrize("action", ["submit", "rerun", "retry", "cancel", "delete", "annotate", "pick"])
def test_a_reviewer_may_only_review(action):
    assert not allowed(Actor("reviewer", name="Ana"), action)
    assert allowed(Actor("reviewer", name="Ana"), "review")
    assert allowed(Actor.local(), action)


def test_a_reviewer_cannot_submit_and_nothing_is_written(parts):
    with pytest.raises(NotAllowed):
        _lab(parts).submit(Actor("reviewer", name="Ana"), _plan("animatic"))
    assert parts[1].list_batches() == []


def test_keys_typed_in_a_session_are_handed_over_for_that_batch_only(parts):
    holder = KeyHolder()
    batch_id = _lab(parts, holder).submit(Actor.local({"FAL_KEY": "typed-here"}), _plan())
    assert holder.held == {batch_id: {"FAL_KEY": "typed-here"}}
    assert holder.wakes == 1


def test_keys_for_a_refused_submit_are_released_and_nothing_is_written(parts):
    holder = KeyHolder()
    lab = _lab(parts, holder, UserSettings(budget_per_day=Decimal("0.01")))
    with pytest.raises(BudgetExceeded):
        lab.submit(Actor.local({"FAL_KEY": "typed-here"}), _plan())
    assert list(holder.held) == holder.released
    assert parts[1].list_batches() == []


def test_a_session_without_a_key_is_refused_even_if_another_session_typed_one(parts):
    holder = KeyHolder()
    lab = _lab(parts, holder)
    lab.submit(Actor.local({"FAL_KEY": "typed-in-tab-a"}), _plan())
    with pytest.raises(ValueError, match="No key is set for fal.ai: add FAL_KEY"):
        lab.submit(Actor.local(), _plan())


def test_delete_marks_the_row_and_removes_the_files_in_one_step(parts, tiny_mp4):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    deleted = _lab(parts).delete(Actor.local(), job_id)
    assert deleted.deleted_at is not None and deleted.video_path is None
    assert not media.clip_path(job_id).exists()


def test_a_delete_whose_file_removal_fails_still_hides_the_clip_and_the_next_start_removes_it(parts, tiny_mp4,
                                                                                             monkeypatch):
    settings, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    monkeypatch.setattr(MediaStore, "delete_clip_files", lambda *a, **k: (_ for _ in ()).throw(OSError("busy")))
    _lab(parts).delete(Actor.local(), job_id)
    assert store.get_job(job_id).deleted_at is not None
    assert media.clip_path(job_id).exists()
    monkeypatch.undo()
    JobRunner(store, media, settings).start().stop()  # a runner start sweeps what the failed removal left
    assert not media.clip_path(job_id).exists()


def test_a_clip_still_being_made_is_not_deleted(parts):
    _, store, _ = parts
    batch_id = store.create_batch(template="t", provider="fal",
                                  jobs=[NewJob("take", "fal", GenerationRequest(prompt="x"), Decimal("0.35"))])
    job_id = store.jobs_for_batch(batch_id)[0].id
    with pytest.raises(ValueError, match="cancel it first"):
        _lab(parts).delete(Actor.local(), job_id)
    assert store.get_job(job_id).deleted_at is None


def test_a_reviewer_may_comment_and_pick_on_the_board_but_not_star_or_pick_for_the_lead(parts, tiny_mp4):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    batch_id = store.get_job(job_id).batch_id
    lab, ana = _lab(parts), Actor("reviewer", name="Ana")
    lab.review(ana, batch_id, kind="pick", name="Ana", job_id=job_id)
    with pytest.raises(NotAllowed):
        lab.annotate(ana, job_id, starred=True)
    with pytest.raises(NotAllowed):
        lab.pick(ana, batch_id, job_id)
    assert [(r.name, r.kind) for r in store.reviews_for_batch(batch_id)] == [("Ana", "pick")]
    assert not store.get_job(job_id).starred and store.get_batch(batch_id).winner_job_id is None


def test_annotate_changes_only_what_it_is_given(parts, tiny_mp4):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    lab = _lab(parts)
    lab.annotate(Actor.local(), job_id, notes="keep the second half")
    lab.annotate(Actor.local(), job_id, rating=4)
    job = store.get_job(job_id)
    assert (job.notes, job.rating, job.starred) == ("keep the second half", 4, False)
