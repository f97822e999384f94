"""Continuity and exports through the door: the pick's last frame as the next shot's start, files for editors."""

from __future__ import annotations

import json

import pytest

from kling_lab.lab import Actor, NotAllowed
from tests.unit.test_sequences import LOCAL, made_take, make_lab


@pytest.fixture
def lab(tmp_path):  # noqa: ANN201
    return make_lab(tmp_path)


def _two_shot_sequence(lab):  # noqa: ANN001, ANN202
    seq = lab.new_sequence(LOCAL, "Opening one")
    one = made_take(lab, seconds=1.0, width=640, height=360)
    two = made_take(lab, seconds=2.0, width=640, height=360)
    first = lab.add_take(LOCAL, seq.id, "SH010", one)
    second = lab.add_take(LOCAL, seq.id, "SH020", two)
    lab.trim_shot(LOCAL, second.id, 12, 36)
    return seq, first, second, one, two


def test_continue_from_makes_the_picks_last_frame_the_next_shots_start(lab):
    seq, first, second, *_ = _two_shot_sequence(lab)
    following = lab.continue_from(LOCAL, first.id)
    assert following.id == second.id
    ref = lab.shot_start_frame(LOCAL, second.id)
    assert ref is not None and (ref.width, ref.height, ref.mime) == (640, 360, "image/png")
    assert lab.frame_path(LOCAL, ref) is not None
    made = lab.continue_from(LOCAL, second.id)  # the last shot: a next one is made
    assert made.code == "SH030" and lab.shot_start_frame(LOCAL, made.id) is not None
    assert lab.shot_start_frame(LOCAL, first.id) is None


def test_continue_from_a_shot_without_a_made_pick_is_a_sentence(lab):
    seq = lab.new_sequence(LOCAL, "Empty")
    shot = lab.add_shot(LOCAL, seq.id)
    with pytest.raises(ValueError, match="SH010 has no made pick to continue from"):
        lab.continue_from(LOCAL, shot.id)
    small = made_take(lab, seconds=1.0, width=160, height=90)
    lab.add_take(LOCAL, seq.id, "SH010", small)
    with pytest.raises(ValueError, match="at least 300 px"):
        lab.continue_from(LOCAL, shot.id)
    assert [s.code for s in lab.shots(LOCAL, seq.id)] == ["SH010"]


def test_export_writes_an_otio_file_opentimelineio_reads_back(lab, tmp_path):
    import opentimelineio as otio

    seq, *_ , one, two = _two_shot_sequence(lab)
    out = lab.export_sequence(LOCAL, seq.id, "otio", tmp_path / "cut.otio")
    timeline = otio.adapters.read_from_file(str(out))
    clips = list(timeline.find_clips())
    assert [c.duration().to_frames() for c in clips] == [24, 24]
    assert json.dumps(clips[0].metadata, default=str).count(one) >= 1


def test_the_download_file_is_kept_under_exports_and_reused(lab):
    seq, *_ = _two_shot_sequence(lab)
    path = lab.sequence_export_file(LOCAL, seq.id, "edl")
    assert path.parent == lab._settings().data_dir / "exports" and path.name.startswith("Opening-one-")
    assert path.suffix == ".edl" and path.is_file()
    assert lab.sequence_export_file(LOCAL, seq.id, "edl") == path
    with pytest.raises(ValueError, match="not an export format"):
        lab.sequence_export_file(LOCAL, seq.id, "mov")


def test_an_export_that_cannot_be_made_writes_nothing(lab, tmp_path):
    seq = lab.new_sequence(LOCAL, "Empty")
    lab.add_shot(LOCAL, seq.id)
    with pytest.raises(ValueError, match="SH010 has no pick"):
        lab.export_sequence(LOCAL, seq.id, "otio", tmp_path / "cut.otio")
    assert not (tmp_path / "cut.otio").exists()
    with pytest.raises(NotAllowed):
        lab.export_sequence(Actor("anonymous"), seq.id, "otio", tmp_path / "cut.otio")


def test_a_timecoded_comment_and_an_approval_reach_the_otio_file_as_markers(lab, tmp_path):
    """Issue 15's check: a comment made through the door comes back from the .otio, read by OpenTimelineIO, as a
    marker at its frame with its author and text, markup kept as text; the take's approval travels too."""
    import opentimelineio as otio

    seq, _first, _second, _one, two = _two_shot_sequence(lab)
    lab.comment_on_take(LOCAL, two, at=1.25, until=1.5, text="<b>hold</b> here", name="Ann")
    lab.set_take_status(LOCAL, two, "approved", name="Ann")
    timeline = otio.adapters.read_from_file(str(lab.export_sequence(LOCAL, seq.id, "otio", tmp_path / "c.otio")))
    clip = list(timeline.find_clips())[1]
    markers = list(clip.markers)
    comment = next(m for m in markers if "<b>hold</b> here" in (m.comment or "") + m.name)
    assert comment.marked_range.start_time.to_frames() == 30  # 1.25 s of the take's own clip at 24 fps
    assert comment.marked_range.duration.to_frames() == 6
    assert "Ann" in comment.name + (comment.comment or "")
    assert any("Approved" in m.name + (m.comment or "") for m in markers)
