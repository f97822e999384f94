"""Sequences through the door: names, shots in order, takes numbered within a shot, picks, trims, the cut."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import plan_batch
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.lab import Actor, Lab, NotAllowed, ShotTarget
from kling_lab.media import MediaStore
from kling_lab.pricing import load_price_book
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings
from tests.conftest import make_mp4

LOCAL = Actor.local()
SECRET = b"sequences-test-secret-0123456789ab"


def make_lab(tmp_path: Path, store: Store | None = None) -> Lab:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = store or Store(tmp_path / "data" / "db.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    return Lab(store, media, None, lambda: settings, lambda: UserSettings(), secret=lambda: SECRET)


def made_take(lab: Lab, *, prompt: str = "a fox", seconds: float = 1.0, audio: bool = False,
              width: int = 160, height: int = 90, clip: bytes | None = None) -> str:
    """A finished animatic take with a real MP4 on disk (not filed under any shot)."""
    batch_id = lab.store.create_batch(template=prompt, provider="animatic", jobs=[
        NewJob("take", "animatic", GenerationRequest(prompt=prompt), Decimal("0.35"))])
    job_id = lab.store.jobs_for_batch(batch_id)[0].id
    path = lab.media.clip_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(clip if clip is not None else make_mp4(seconds, width, height, audio))
    lab.store.transition(job_id, JobState.DONE, owner=None, video_path=str(path), video_duration=seconds,
                         video_width=width, video_height=height, has_audio=int(audio))
    return job_id


def finish(lab: Lab, job_id: str, seconds: float = 1.0) -> None:
    path = lab.media.clip_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_mp4(seconds))
    lab.store.transition(job_id, JobState.DONE, owner=None, video_path=str(path), video_duration=seconds,
                         video_width=160, video_height=90, has_audio=0)


def animatic_plan(template: str = "a fox in {snow|rain}", **request: object):  # noqa: ANN201
    return plan_batch(template, GenerationRequest(prompt="", **request), "animatic", load_price_book(None))


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return make_lab(tmp_path)


# -- sequences ---------------------------------------------------------------------------------


def test_a_sequence_is_found_by_its_id_or_its_name_in_any_case(lab):
    made = lab.new_sequence(LOCAL, "  Opening   titles ")
    assert made.name == "Opening titles" and made.id.startswith("s_")
    assert lab.sequence(LOCAL, made.id) == made
    assert lab.sequence(LOCAL, "OPENING TITLES") == made
    assert lab.sequence(LOCAL, "nope") is None


def test_sequence_names_are_unique_whatever_the_case(lab):
    lab.new_sequence(LOCAL, "Opening")
    with pytest.raises(ValueError, match="already a sequence called “opening”"):
        lab.new_sequence(LOCAL, "opening")
    other = lab.new_sequence(LOCAL, "Chase")
    with pytest.raises(ValueError, match="already a sequence"):
        lab.rename_sequence(LOCAL, other.id, "OPENING")
    assert lab.rename_sequence(LOCAL, other.id, "Chase v2").name == "Chase v2"
    assert lab.rename_sequence(LOCAL, other.id, "chase V2").name == "chase V2"  # its own name, new case


@pytest.mark.parametrize("name", ["", "   ", "<b>bold</b>", "a/b", "..", "x\\y", "what?", "a" * 81, "tab\x07"])
def test_names_with_markup_or_path_characters_are_refused_before_anything_is_written(lab, name):
    with pytest.raises(ValueError) as refused:
        lab.new_sequence(LOCAL, name)
    assert str(refused.value).endswith(".")
    assert lab.sequences(LOCAL) == []


def test_sequences_list_the_most_recently_changed_first(lab):
    first = lab.new_sequence(LOCAL, "First")
    second = lab.new_sequence(LOCAL, "Second")
    assert [s.id for s in lab.sequences(LOCAL)] == [second.id, first.id]
    lab.add_shot(LOCAL, first.id)
    assert [s.id for s in lab.sequences(LOCAL)] == [first.id, second.id]


# -- shots -------------------------------------------------------------------------------------


def _codes(shots) -> list[str]:  # noqa: ANN001
    return [s.code for s in shots]


def test_shots_count_in_tens_and_a_code_slots_one_in_between(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    for _ in range(3):
        lab.add_shot(LOCAL, seq.id)
    slotted = lab.add_shot(LOCAL, seq.id, code="SH015", name="insert")
    assert slotted.code == "SH015" and slotted.name == "insert"
    assert _codes(lab.shots(LOCAL, seq.id)) == ["SH010", "SH015", "SH020", "SH030"]
    assert [s.position for s in lab.shots(LOCAL, seq.id)] == [0, 1, 2, 3]
    assert lab.add_shot(LOCAL, seq.id).code == "SH040"
    with pytest.raises(ValueError, match="already has a shot SH020"):
        lab.add_shot(LOCAL, seq.id, code="sh20")
    with pytest.raises(ValueError, match="not a shot code"):
        lab.add_shot(LOCAL, seq.id, code="shot ten")
    with pytest.raises(ValueError, match="SH001 to SH999"):
        lab.add_shot(LOCAL, seq.id, code="SH000")


def test_move_reorder_and_renumber(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    a, b, c = (lab.add_shot(LOCAL, seq.id, name=n) for n in "abc")
    assert [s.name for s in lab.move_shot(LOCAL, c.id, 0)] == ["c", "a", "b"]
    assert [s.name for s in lab.move_shot(LOCAL, c.id, 99)] == ["a", "b", "c"]
    assert [s.name for s in lab.reorder_shots(LOCAL, seq.id, [b.id, c.id, a.id])] == ["b", "c", "a"]
    with pytest.raises(ValueError, match="every shot of the sequence once"):
        lab.reorder_shots(LOCAL, seq.id, [b.id, c.id])
    with pytest.raises(ValueError, match="every shot of the sequence once"):
        lab.reorder_shots(LOCAL, seq.id, [b.id, b.id, c.id])
    assert _codes(lab.shots(LOCAL, seq.id)) == ["SH020", "SH030", "SH010"]
    renumbered = lab.renumber_shots(LOCAL, seq.id)
    assert [(s.name, s.code) for s in renumbered] == [("b", "SH010"), ("c", "SH020"), ("a", "SH030")]
    with pytest.raises(ValueError, match="whole number"):
        lab.move_shot(LOCAL, a.id, -1)


def test_removing_a_shot_keeps_its_takes_in_history(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    job_id = made_take(lab)
    shot = lab.add_take(LOCAL, seq.id, "SH010", job_id)
    lab.add_shot(LOCAL, seq.id)
    lab.remove_shot(LOCAL, shot.id)
    assert _codes(lab.shots(LOCAL, seq.id)) == ["SH020"]
    assert lab.shots(LOCAL, seq.id)[0].position == 0
    job = lab.job(LOCAL, job_id)
    assert job is not None and job.deleted_at is None and job.shot_id is None
    with pytest.raises(ValueError, match="That shot is gone"):
        lab.rename_shot(LOCAL, shot.id, "x")


# -- takes and picks ---------------------------------------------------------------------------


def test_add_take_files_takes_numbered_within_the_shot_and_the_first_becomes_the_pick(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    first, second = made_take(lab), made_take(lab)
    shot = lab.add_take(LOCAL, seq.id, "SH010", first)
    assert shot.code == "SH010" and shot.pick_job_id == first
    again = lab.add_take(LOCAL, seq.id, "SH010", second)
    assert again.pick_job_id == first
    assert [(t.id, t.take_number) for t in lab.shot_takes(LOCAL, shot.id)] == [(first, 1), (second, 2)]
    assert lab.add_take(LOCAL, seq.id, "SH010", second).id == shot.id  # filing twice changes nothing
    assert [t.take_number for t in lab.shot_takes(LOCAL, shot.id)] == [1, 2]
    with pytest.raises(ValueError, match="no take “j_000000000000”"):
        lab.add_take(LOCAL, seq.id, "SH010", "j_000000000000")


def test_a_batch_made_for_a_shot_numbers_its_takes_after_the_shots_earlier_ones(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    lab.add_take(LOCAL, seq.id, "SH010", made_take(lab))
    batch_id = lab.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "SH010"))
    jobs = lab.batch_jobs(LOCAL, batch_id)
    shot = lab.shots(LOCAL, seq.id)[0]
    assert lab.batch(LOCAL, batch_id).shot_id == shot.id
    assert [(j.shot_id, j.take_number) for j in jobs] == [(shot.id, 2), (shot.id, 3)]
    new = lab.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "SH020", name="the chase"))
    shots = lab.shots(LOCAL, seq.id)
    assert _codes(shots) == ["SH010", "SH020"] and shots[1].name == "the chase"
    assert [j.take_number for j in lab.batch_jobs(LOCAL, new)] == [1, 2]
    after = lab.submit(LOCAL, animatic_plan("one"), shot=ShotTarget(seq.id))
    assert _codes(lab.shots(LOCAL, seq.id)) == ["SH010", "SH020", "SH030"]
    assert lab.batch_jobs(LOCAL, after)[0].take_number == 1


def test_a_shots_first_take_to_finish_becomes_its_pick(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    batch_id = lab.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "SH010"))
    assert lab.shots(LOCAL, seq.id)[0].pick_job_id is None
    second = lab.batch_jobs(LOCAL, batch_id)[1].id
    finish(lab, second)
    assert lab.shots(LOCAL, seq.id)[0].pick_job_id == second
    shot = lab.pick_take(LOCAL, lab.shots(LOCAL, seq.id)[0].id, None)
    assert shot.pick_job_id is None
    assert lab.shots(LOCAL, seq.id)[0].pick_job_id is None  # cleared on purpose: not picked again


def test_submitting_into_a_shot_that_fails_writes_no_shot(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    with pytest.raises(ValueError):
        lab.submit(LOCAL, animatic_plan(""), shot=ShotTarget(seq.id, "SH010"))
    with pytest.raises(ValueError, match="not a shot code"):
        lab.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "ten"))
    with pytest.raises(ValueError, match="no sequence"):
        lab.submit(LOCAL, animatic_plan(), shot=ShotTarget("s_000000000000", "SH010"))
    assert lab.shots(LOCAL, seq.id) == [] and lab.batches(LOCAL) == []


def test_two_batches_for_one_shot_at_once_never_share_a_take_number(tmp_path):
    lab = make_lab(tmp_path)
    seq = lab.new_sequence(LOCAL, "Race")
    lab.add_shot(LOCAL, seq.id)
    others = [make_lab(tmp_path) for _ in range(4)]  # separate stores on one file, as separate processes
    errors: list[BaseException] = []
    start = threading.Barrier(len(others))

    def submit(door: Lab) -> None:
        try:
            start.wait()
            for _ in range(3):
                door.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "SH010"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(door,)) for door in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = [t.take_number for t in lab.shot_takes(LOCAL, lab.shots(LOCAL, seq.id)[0].id)]
    assert sorted(numbers) == list(range(1, 4 * 3 * 2 + 1))


def test_pick_take_takes_only_a_made_take_of_that_shot(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    first, second, stranger = made_take(lab), made_take(lab), made_take(lab)
    shot = lab.add_take(LOCAL, seq.id, "SH010", first)
    lab.add_take(LOCAL, seq.id, "SH010", second)
    assert lab.pick_take(LOCAL, shot.id, second).pick_job_id == second
    with pytest.raises(ValueError, match="not one of SH010's takes"):
        lab.pick_take(LOCAL, shot.id, stranger)
    queued = lab.submit(LOCAL, animatic_plan("x"), shot=ShotTarget(seq.id, "SH010"))
    with pytest.raises(ValueError, match="not made yet"):
        lab.pick_take(LOCAL, shot.id, lab.batch_jobs(LOCAL, queued)[0].id)
    lab.delete(LOCAL, first)
    with pytest.raises(ValueError, match="was deleted"):
        lab.pick_take(LOCAL, shot.id, first)
    assert lab.shot(LOCAL, shot.id).pick_job_id == second


def test_trims_are_whole_frames_inside_the_clip(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    shot = lab.add_take(LOCAL, seq.id, "SH020", made_take(lab, seconds=1.0))
    trimmed = lab.trim_shot(LOCAL, shot.id, 3, 20)
    assert (trimmed.trim_in, trimmed.trim_out) == (3, 20)
    with pytest.raises(ValueError, match=r"SH020's take is 1\.0 s \(24 frames\); the out point 30 is past it\."):
        lab.trim_shot(LOCAL, shot.id, 0, 30)
    with pytest.raises(ValueError, match="must come before"):
        lab.trim_shot(LOCAL, shot.id, 10, 10)
    with pytest.raises(ValueError, match="can't be before"):
        lab.trim_shot(LOCAL, shot.id, -1, None)
    with pytest.raises(ValueError, match="whole number of frames"):
        lab.trim_shot(LOCAL, shot.id, 1.5, None)  # type: ignore[arg-type]
    assert (lab.shot(LOCAL, shot.id).trim_in, lab.shot(LOCAL, shot.id).trim_out) == (3, 20)
    whole = lab.trim_shot(LOCAL, shot.id, None, None)
    assert (whole.trim_in, whole.trim_out) == (None, None)


# -- the cut -----------------------------------------------------------------------------------


def test_the_cut_has_each_shots_pick_trimmed_in_order_with_its_metadata(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    one = made_take(lab, prompt="a <b>fox</b>", seconds=1.0, audio=True)
    two = made_take(lab, prompt="a hen", seconds=2.0)
    lab.add_take(LOCAL, seq.id, "SH010", one)
    shot2 = lab.add_take(LOCAL, seq.id, "SH020", two)
    lab.trim_shot(LOCAL, shot2.id, 12, 36)
    cut = lab.cut(LOCAL, seq.id)
    assert [s.code for s in cut.shots] == ["SH010", "SH020"]
    assert [s.frames for s in cut.shots] == [24, 24] and cut.total_frames == 48 and cut.starts() == [0, 24]
    first = cut.shots[0]
    assert first.clip_path.is_absolute() and first.clip_path.is_file()
    assert first.media_name == f"media/SH010_T001_{one}.mp4"
    assert first.prompt == "a <b>fox</b>" and first.host == "Animatic (offline draft)" and first.cost == "0.35"
    assert first.has_audio and first.metadata()["kling_lab_take_id"] == one
    assert (cut.shots[1].trim_in, cut.shots[1].trim_out, cut.shots[1].source_frames) == (12, 36, 48)


def test_the_cut_says_everything_that_stops_it(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    with pytest.raises(ValueError, match="This sequence has no shots yet"):
        lab.cut(LOCAL, seq.id)
    lab.add_shot(LOCAL, seq.id)
    gone = made_take(lab)
    lab.add_take(LOCAL, seq.id, "SH020", gone)
    lab.delete(LOCAL, gone)
    missing = made_take(lab)
    lab.add_take(LOCAL, seq.id, "SH030", missing)
    Path(lab.job(LOCAL, missing).video_path).unlink()
    with pytest.raises(ValueError) as refused:
        lab.cut(LOCAL, seq.id)
    lines = str(refused.value).split("\n")
    assert lines == ["SH010 has no pick: pick one of its takes (or remove the shot).",
                     "SH020's pick was deleted: pick another of its takes.",
                     "SH030's pick T001 has no video file on disk any more: pick another take."]


def test_the_cut_carries_comments_and_status_as_markers(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    job_id = made_take(lab)
    lab.add_take(LOCAL, seq.id, "SH010", job_id)
    lab.comment_on_take(Actor("owner", name="Dana"), job_id, at=0.5, until=0.75, text="<i>too dark</i>")
    lab.set_take_status(Actor("owner", name="Dana"), job_id, "approved")
    shot = lab.cut(LOCAL, seq.id).shots[0]
    assert shot.status == "approved"
    comment = next(m for m in shot.markers if m.kind == "comment")
    assert (comment.at, comment.until, comment.author, comment.text) == (0.5, 0.75, "Dana", "<i>too dark</i>")
    assert any(m.kind == "status" and m.text == "Approved" for m in shot.markers)


# -- lineage -----------------------------------------------------------------------------------


def test_a_batch_loaded_from_a_take_records_what_changed(lab):
    parent = made_take(lab, prompt="a fox in rain")
    batch_id = lab.submit(LOCAL, animatic_plan("a fox in fog", cfg_scale=0.7), parent_job_id=parent)
    job = lab.batch_jobs(LOCAL, batch_id)[0]
    assert job.parent_job_id == parent
    assert job.lineage == "'rain' → 'fog', cfg default → 0.7"
    with pytest.raises(ValueError, match="no take “j_000000000000” to load from"):
        lab.submit(LOCAL, animatic_plan(), parent_job_id="j_000000000000")


def test_a_rerun_is_the_same_request_in_the_same_shot(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    job_id = made_take(lab)
    shot = lab.add_take(LOCAL, seq.id, "SH010", job_id)
    batch_id = lab.rerun(LOCAL, job_id)
    rerun = lab.batch_jobs(LOCAL, batch_id)[0]
    assert (rerun.parent_job_id, rerun.lineage, rerun.shot_id, rerun.take_number) == (job_id, "same request",
                                                                                       shot.id, 2)


# -- who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["local", "cli", "owner", "member"])
def test_people_who_make_clips_may_edit_sequences(lab, kind):
    actor = Actor(kind, name="Sam")  # type: ignore[arg-type]
    seq = lab.new_sequence(actor, f"By {kind}")
    assert seq.created_by == ("Sam")
    assert lab.add_shot(actor, seq.id).code == "SH010"


def test_a_batch_reviewer_may_not_touch_sequences(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    batch_id = lab.submit(LOCAL, animatic_plan("one"), shot=ShotTarget(seq.id, "SH010"))
    reviewer = Actor.review_link(batch_id, "l_x")
    with pytest.raises(NotAllowed):
        lab.new_sequence(reviewer, "Mine")
    with pytest.raises(NotAllowed):
        lab.sequences(reviewer)
    with pytest.raises(NotAllowed):
        lab.shots(reviewer, seq.id)
    with pytest.raises(NotAllowed):
        lab.cut(reviewer, seq.id)
    with pytest.raises(NotAllowed):
        lab.submit(Actor("anonymous"), animatic_plan(), shot=ShotTarget(seq.id, "SH010"))


def test_a_take_moved_to_another_shot_stops_being_the_first_shots_pick(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    job_id = made_take(lab)
    first = lab.add_take(LOCAL, seq.id, "SH010", job_id)
    second = lab.add_take(LOCAL, seq.id, "SH020", job_id)
    assert second.pick_job_id == job_id and lab.shot(LOCAL, first.id).pick_job_id is None
    assert lab.shot_takes(LOCAL, first.id) == [] and lab.shot_takes(LOCAL, second.id)[0].take_number == 1


def test_a_queued_take_filed_under_a_shot_is_not_its_pick_until_it_is_made(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    batch_id = lab.submit(LOCAL, animatic_plan("one"))
    queued = lab.batch_jobs(LOCAL, batch_id)[0].id
    shot = lab.add_take(LOCAL, seq.id, "SH010", queued)
    assert shot.pick_job_id is None
    finish(lab, queued)
    assert lab.shot(LOCAL, shot.id).pick_job_id == queued
    assert lab.shots(LOCAL, seq.id)[0].pick_job_id == queued


def test_take_lineage_is_the_line_compare_and_history_show(lab):
    seq = lab.new_sequence(LOCAL, "Opening")
    parent = made_take(lab, prompt="a fox in rain")
    lab.add_take(LOCAL, seq.id, "SH010", parent)
    batch_id = lab.submit(LOCAL, animatic_plan("a fox in fog"), shot=ShotTarget(seq.id, "SH010"),
                          parent_job_id=parent)
    child = lab.batch_jobs(LOCAL, batch_id)[0]
    assert lab.take_lineage(LOCAL, child) == "T002 from T001: 'rain' → 'fog'"
    assert lab.take_lineage(LOCAL, lab.job(LOCAL, parent)) == ""
    reviewer = Actor.review_link(batch_id, "l_x")
    assert lab.take_lineage(reviewer, child) == "T002 from an earlier take: 'rain' → 'fog'"  # no id outside the link
