"""The door: who may do what, typed keys bound to the asking session, and a delete that cannot half-happen."""

from __future__ import annotations

import dataclasses
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


@pytest.mark.parametrize("action", ["submit", "rerun", "retry", "cancel", "delete", "annotate", "pick", "upload",
                                    "export", "settings", "read_costs"])
def test_a_reviewer_may_only_watch_and_review(action):
    assert not allowed(Actor("reviewer", name="Ana"), action)
    assert allowed(Actor("reviewer", name="Ana"), "review") and allowed(Actor("reviewer", name="Ana"), "read")
    assert allowed(Actor.local(), action)


@pytest.mark.parametrize("kind", ["local", "owner", "cli"])
def test_the_person_at_the_machine_and_the_owner_may_change_settings(kind):
    assert allowed(Actor(kind), "settings")


def test_a_member_generates_and_exports_but_may_not_change_settings_or_delete():
    member = Actor("member", name="Bo")
    assert [a for a in ("submit", "export", "read_costs", "upload") if not allowed(member, a)] == []
    assert not allowed(member, "settings") and not allowed(member, "delete")


def test_only_a_host_may_knock_with_a_callback_and_anyone_may_ask_for_health():
    assert [k for k in ("local", "owner", "member", "reviewer", "cli", "worker", "anonymous", "host")
            if allowed(Actor(k), "callback")] == ["host"]
    assert not allowed(Actor("anonymous"), "read")
    assert all(allowed(Actor(k), "health") for k in ("anonymous", "host", "reviewer", "worker", "local"))


def test_a_refusal_says_what_was_refused_in_plain_words(parts):
    with pytest.raises(NotAllowed, match="^You can't change settings or prices with this link or account.$"):
        _lab(parts).change_settings(Actor("member"), UserSettings())


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
    lab, ana = _lab(parts), Actor.review_link(batch_id, "l_" + "0" * 16, name="Ana")
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


def test_a_reviewer_reads_a_batch_but_not_what_it_cost(parts, tiny_mp4):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    batch_id = store.get_job(job_id).batch_id
    lab, ana = _lab(parts), Actor.review_link(batch_id, "l_" + "0" * 16, name="Ana")
    assert [j.id for j in lab.batch_jobs(ana, batch_id)] == [job_id]
    assert lab.clip_file(ana, job_id) == media.clip_path(job_id)
    with pytest.raises(NotAllowed):
        lab.spend_records(ana)
    with pytest.raises(NotAllowed):
        lab.export_file(ana, batch_id)


def test_someone_not_signed_in_reads_nothing(parts, tiny_mp4):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    with pytest.raises(NotAllowed):
        _lab(parts).clip_file(Actor("anonymous"), job_id)
    assert _lab(parts).health(Actor("anonymous")) == {"status": "ok", "runner": "stopped", "unfinished_jobs": False}


def test_a_deleted_clip_is_no_longer_served_even_if_its_file_is_left(parts, tiny_mp4, monkeypatch):
    _, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    monkeypatch.setattr(MediaStore, "delete_clip_files", lambda *a, **k: (_ for _ in ()).throw(OSError("busy")))
    lab = _lab(parts)
    lab.delete(Actor.local(), job_id)
    assert media.clip_path(job_id).exists()
    assert lab.clip_file(Actor.local(), job_id) is None


@pytest.mark.parametrize("job_id", ["../db.sqlite3", "j_0123", "J_0123456789AB", "j_0123456789ab"])
def test_a_clip_that_is_not_a_stored_job_is_not_found(parts, job_id):
    assert _lab(parts).clip_file(Actor.local(), job_id) is None
    assert _lab(parts).thumb_file(Actor.local(), job_id) is None


def test_a_frame_is_found_by_its_hash_and_extension_only(parts):
    _, _, media = parts
    sha = "a" * 64
    (media.root / "frames" / f"{sha}.png").write_bytes(b"png")
    lab = _lab(parts)
    assert lab.frame_file(Actor.local(), sha, "png") == media.root / "frames" / f"{sha}.png"
    assert lab.frame_file(Actor.local(), sha, "jpg") is None
    assert lab.frame_file(Actor.local(), sha, "svg") is None
    assert lab.frame_file(Actor.local(), "../" + sha[3:], "png") is None


def test_an_uploaded_frame_is_kept_under_its_hash_for_an_actor_who_may_upload(parts):
    from kling_lab.images import inspect_frame
    from tests.emulator.testing import make_png

    data = make_png(320, 320)
    ref = inspect_frame(data, "The start frame").ref
    lab = _lab(parts)
    with pytest.raises(NotAllowed):
        lab.save_frame(Actor("reviewer"), ref, data)
    assert lab.frame_path(Actor.local(), ref) is None
    lab.save_frame(Actor.local(), ref, data)
    assert lab.frame_path(Actor.local(), ref).read_bytes() == data


def test_an_export_writes_the_batch_zip_in_the_data_folder(parts, tiny_mp4):
    import zipfile

    settings, store, media = parts
    job_id = _done_job(store, media, tiny_mp4)
    batch_id = store.get_job(job_id).batch_id
    path = _lab(parts).export_file(Actor.local(), batch_id)
    assert path.parent == settings.data_dir / "exports" and path.name.startswith(f"{batch_id}-")
    assert {"manifest.json", "clips.csv"} <= set(zipfile.ZipFile(path).namelist())
    assert _lab(parts).export_file(Actor.local(), "b_0123456789ab") is None
    assert _lab(parts).contact_sheet(Actor.local(), batch_id).startswith(b"\x89PNG")


class SettingsRunner:
    """Stands in for the runner: records the settings and limits the door hands it."""

    def __init__(self) -> None:
        self.settings: list[Settings] = []
        self.limits: list[dict[str, int]] = []

    def update_settings(self, settings):  # noqa: ANN001, ANN201
        self.settings.append(settings)

    def update_concurrency(self, limits):  # noqa: ANN001, ANN201
        self.limits.append(dict(limits))


def _saved_lab(parts, runner=None) -> Lab:  # noqa: ANN001
    from kling_lab.config import with_saved_settings
    from kling_lab.user_settings import load_user_settings

    settings, store, media = parts
    settings = dataclasses.replace(settings, allow_private_base_urls=True)  # the operator allows the loopback host
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Lab(store, media, runner,
               lambda: with_saved_settings(settings, load_user_settings(settings.data_dir).base_urls),
               lambda: load_user_settings(settings.data_dir))


def test_saved_settings_are_kept_and_applied_to_the_running_runner(parts):
    from kling_lab.runner import DEFAULT_CONCURRENCY

    runner = SettingsRunner()
    lab = _saved_lab(parts, runner)
    lab.change_settings(Actor.local(), UserSettings(budget_per_day=Decimal("3"), concurrency={"fal": 2},
                                                    base_urls={"fal": "http://127.0.0.1:9/fal"}))
    assert lab.preferences(Actor.local()).budget_per_day == Decimal("3")
    assert runner.settings[-1].base_url("fal") == "http://127.0.0.1:9/fal"
    assert runner.limits[-1] == {**DEFAULT_CONCURRENCY, "fal": 2}


def test_a_member_cannot_change_settings_and_nothing_is_saved(parts):
    runner = SettingsRunner()
    lab = _saved_lab(parts, runner)
    with pytest.raises(NotAllowed):
        lab.change_settings(Actor("member"), UserSettings(budget_per_day=Decimal("100")))
    assert lab.preferences(Actor.local()) == UserSettings() and runner.settings == []


@pytest.mark.parametrize("preferences", [UserSettings(concurrency={"fal": 0}), UserSettings(concurrency={"nope": 2}),
                                         UserSettings(default_provider="nope")])
def test_settings_the_lab_cannot_use_are_refused_and_nothing_is_saved(parts, preferences):
    lab = _saved_lab(parts)
    with pytest.raises(ValueError):
        lab.change_settings(Actor.local(), preferences)
    assert lab.preferences(Actor.local()) == UserSettings()


def test_saved_prices_replace_one_hosts_overrides_and_a_reset_drops_only_those(parts):
    from kling_lab.pricing import Override

    lab = _saved_lab(parts)
    request = GenerationRequest(prompt="x", mode="pro", duration=5, audio=False)
    before = {p: lab.price_book(Actor.local()).price_for(request, p) for p in ("fal", "kie")}
    doubled = [Override("fal", r.mode, r.audio, r.voice, r.duration, r.value * 2)
               for r in lab.price_book(Actor.local()).rates("fal")]
    lab.save_prices(Actor.local(), "fal", doubled)
    assert lab.price_book(Actor.local()).price_for(request, "fal") == before["fal"] * 2
    with pytest.raises(ValueError):
        lab.save_prices(Actor.local(), "kie", [Override("fal", "pro", False, False, 5, Decimal("1"))])
    lab.reset_prices(Actor.local(), "fal")
    assert {p: lab.price_book(Actor.local()).price_for(request, p) for p in ("fal", "kie")} == before


class CallbackRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []

    def accept_webhook(self, provider, body, headers):  # noqa: ANN001, ANN201
        self.calls.append((provider, body))
        return "woke"


def test_a_callback_is_handed_to_the_runner_only_from_a_host_that_calls_back(parts):
    runner = CallbackRunner()
    lab = _lab(parts, runner)
    assert lab.accept_callback(Actor.host("fal"), "fal", b"{}", {}) == "woke"
    assert lab.accept_callback(Actor.host("animatic"), "animatic", b"{}", {}) == "unmatched"
    with pytest.raises(NotAllowed):
        lab.accept_callback(Actor.local(), "fal", b"{}", {})
    assert runner.calls == [("fal", b"{}")]
    assert lab.takes_callbacks("fal") and not lab.takes_callbacks("animatic") and not lab.takes_callbacks("x")
