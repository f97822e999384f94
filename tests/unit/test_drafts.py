"""Compose drafts: kept in the store on both backends, per person, and made from a take through the door."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.config import Settings
from kling_lab.images import inspect_frame
from kling_lab.lab import Actor, Lab, NotAllowed, normal_state
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings
from tests.emulator.testing import make_png
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    if request.param == "sqlite":
        opened = Store(tmp_path / "db.sqlite3")
    else:
        opened = Store(url=request.getfixturevalue("postgres_url"))
    yield opened
    opened.close()


def _lab(store: Store, tmp_path: Path) -> Lab:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    return Lab(store, MediaStore(tmp_path / "data" / "media"), None, lambda: settings, lambda: UserSettings())


def test_a_draft_is_written_read_back_and_changed_in_place_on_both_backends(store: Store) -> None:
    first = store.save_draft(None, owner_kind="local", owner_name="", state={"template": "a {b|c}"}, now=10.0)
    assert first.id.startswith("d_") and first.state == {"template": "a {b|c}"}
    again = store.save_draft(first.id, owner_kind="local", owner_name="", state={"template": "x"}, now=20.0)
    assert again.id == first.id and again.state == {"template": "x"}
    assert (again.created_at, again.updated_at) == (10.0, 20.0)
    assert store.get_draft(first.id).state == {"template": "x"}
    assert store.get_draft("d_000000000000") is None


def test_recent_drafts_are_each_owners_own_newest_first(store: Store) -> None:
    ids = [store.save_draft(None, owner_kind="member", owner_name="ana", state={"n": i}, now=float(i)).id
           for i in range(7)]
    store.save_draft(None, owner_kind="member", owner_name="bo", state={"n": 99}, now=100.0)
    recent = store.recent_drafts(owner_kind="member", owner_name="ana")
    assert [d.id for d in recent] == ids[::-1][:5]
    store.save_draft(ids[0], owner_kind="member", owner_name="ana", state={"n": 0}, now=50.0)
    assert store.recent_drafts(owner_kind="member", owner_name="ana", limit=1)[0].id == ids[0]


def test_saving_into_someone_elses_draft_makes_a_new_one_and_leaves_theirs(store: Store) -> None:
    ana = store.save_draft(None, owner_kind="member", owner_name="ana", state={"t": "mine"})
    bo = store.save_draft(ana.id, owner_kind="member", owner_name="bo", state={"t": "bo's"})
    assert bo.id != ana.id
    assert store.get_draft(ana.id).state == {"t": "mine"}


def test_hostile_text_and_a_huge_draft_are_refused_or_kept_exactly(store: Store) -> None:
    odd = "a fox \x00 {snow|\ud800} “quoted” 🦊"
    kept = store.save_draft(None, owner_kind="local", owner_name="", state={"template": odd})
    assert store.get_draft(kept.id).state["template"] == odd
    with pytest.raises(ValueError, match="too large to keep"):
        store.save_draft(None, owner_kind="local", owner_name="", state={"template": "x" * 70_000})


def test_the_door_keeps_only_known_fields_of_their_types(tmp_path: Path) -> None:
    lab = _lab(Store(tmp_path / "db.sqlite3"), tmp_path)
    draft = lab.save_draft(Actor.local(), {"template": "a fox", "duration": 10, "audio": "yes", "mode": "ultra",
                                           "sweep_provider": ["fal", "nowhere", "fal"], "secret": "sk-123",
                                           "start_frame": {"sha256": "../../etc"}})
    assert draft.state["template"] == "a fox" and draft.state["duration"] == 10
    assert draft.state["audio"] is False and draft.state["mode"] is None
    assert draft.state["sweep_provider"] == ["fal"]
    assert "secret" not in draft.state and draft.state["start_frame"] is None
    assert normal_state(None)["template"] == ""


def test_the_local_person_and_their_command_line_share_drafts_and_nobody_else_sees_them(tmp_path: Path) -> None:
    lab = _lab(Store(tmp_path / "db.sqlite3"), tmp_path)
    mine = lab.save_draft(Actor.local(), {"template": "mine"})
    assert lab.draft(Actor.cli(), mine.id).state["template"] == "mine"
    assert lab.latest_draft(Actor.local()).id == mine.id
    member = Actor("member", name="ana@studio.example")
    assert lab.draft(member, mine.id) is None and lab.latest_draft(member) is None
    assert lab.draft(Actor.local(), "../d_1") is None
    with pytest.raises(NotAllowed, match="keep Compose drafts"):
        lab.save_draft(Actor.review_link("b_000000000000", "l1"), {"template": "x"})
    with pytest.raises(NotAllowed):
        lab.recent_drafts(Actor("anonymous"))


def test_a_draft_from_a_take_has_its_batch_template_variables_and_sweeps_not_the_expanded_prompt(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    lab = _lab(store, tmp_path)
    png = make_png(640, 360)
    frame = inspect_frame(png).ref
    batch_id = store.create_batch(
        template="a fox in {weather}, {slow push-in|orbit}", provider="fal",
        settings={"variables": {"weather": ["snow", "rain"]}, "sweeps": {"duration": [5, 10]}},
        jobs=[NewJob("snow · orbit", "fal", GenerationRequest(prompt="a fox in snow, orbit", duration=10, audio=True,
                                                              cfg_scale=0.3, start_frame=frame), Decimal("1.40"))])
    job = store.jobs_for_batch(batch_id)[0]
    before = lab.save_draft(Actor.local(), {"template": "what I was writing"})
    draft = lab.draft_from_job(Actor.local(), job.id)
    assert draft.id != before.id and draft.origin == job.id
    state = draft.state
    assert state["template"] == "a fox in {weather}, {slow push-in|orbit}"
    assert state["variables"] == "weather = snow | rain"
    assert state["sweep_duration"] == [5, 10]
    assert (state["provider"], state["duration"], state["audio"], state["cfg_on"]) == ("fal", 10, True, True)
    assert state["cfg_scale"] == pytest.approx(0.3)
    assert state["start_frame"]["sha256"] == frame.sha256
    assert [d.id for d in lab.recent_drafts(Actor.local())] == [draft.id, before.id]
    assert lab.draft(Actor.local(), before.id).state["template"] == "what I was writing"
    with pytest.raises(KeyError):
        lab.draft_from_job(Actor.local(), "j_000000000000")
