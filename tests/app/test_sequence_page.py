"""The Sequence page: the strip of shots, the reel's shots, reorder, renumber, trims, picks, exports, names."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import opentimelineio as otio
from streamlit.testing.v1 import AppTest

from kling_lab.domain.jobs import JobState
from kling_lab.lab import Actor, build_root
from kling_lab.media import make_thumbnail
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob
from tests.conftest import make_mp4

LOCAL = Actor.local()


def _made_take(lab, prompt: str, seconds: float) -> str:  # noqa: ANN001 - the door
    """A finished animatic take with a real MP4 and thumbnail on disk, not filed under any shot yet."""
    batch_id = lab.store.create_batch(template=prompt, provider="animatic", jobs=[
        NewJob(prompt, "animatic", GenerationRequest(prompt=prompt), Decimal("0"))])
    job_id = lab.store.jobs_for_batch(batch_id)[0].id
    clip, thumb = lab.media.clip_path(job_id), lab.media.thumb_path(job_id)
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(make_mp4(seconds, 640, 360))  # frames are checked like uploads: 300 px a side
    make_thumbnail(clip, thumb)
    lab.store.transition(job_id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb),
                         video_duration=seconds, video_width=640, video_height=360, has_audio=0)
    return job_id


def _three_shots(data_dir: Path, *, pick_all: bool = False) -> dict[str, str]:
    """"Opening": SH010 (a 1 s take), SH020 (a 2 s take), SH030 (no take unless `pick_all`)."""
    root = build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)
    try:
        lab = root.lab
        sequence = lab.new_sequence(LOCAL, "Opening")
        ids = {"seq": sequence.id}
        for code, prompt, seconds in (("SH010", "a harbour at dawn", 1.0), ("SH020", "gulls over <b>water</b>", 2.0)):
            ids[code + "_job"] = _made_take(lab, prompt, seconds)
            ids[code] = lab.add_take(LOCAL, sequence.id, code, ids[code + "_job"]).id
        if pick_all:
            ids["SH030_job"] = _made_take(lab, "the keeper's lamp", 1.0)
            ids["SH030"] = lab.add_take(LOCAL, sequence.id, "SH030", ids["SH030_job"]).id
        else:
            ids["SH030"] = lab.add_shot(LOCAL, sequence.id, name="the keeper *climbs*").id
        return ids
    finally:
        root.close()


def _door(data_dir: Path):  # noqa: ANN202 - a LabRoot the test closes
    return build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)


def _open(app: AppTest, seq: str | None = None) -> AppTest:
    app.run()
    if seq:
        app.query_params["seq"] = seq
    app.switch_page("pages/sequence.py").run()
    assert not app.exception, app.exception
    return app


def _reel(app: AppTest) -> dict:
    reels = [json.loads(c.proto.json) for c in app.get("bidi_component")]
    (reel,) = [r for r in reels if "fps" in r]
    return reel


def _codes(data_dir: Path, seq: str) -> list[tuple[str, str]]:
    root = _door(data_dir)
    try:
        return [(s.code, s.id) for s in root.lab.shots(LOCAL, seq)]
    finally:
        root.close()


def test_no_sequences_says_what_to_do_and_a_bad_name_gets_its_sentence(app, data_dir) -> None:
    _open(app)
    assert "No sequences yet" in app.info[0].value
    app.text_input(key="sequence_new_name").set_value("a/b <script>").run()
    app.button(key="sequence_make").click().run()
    assert any("can't hold" in e.value for e in app.error), [e.value for e in app.error]
    root = _door(data_dir)
    try:
        assert root.lab.sequences(LOCAL) == []  # nothing made
    finally:
        root.close()
    app.text_input(key="sequence_new_name").set_value("Opening").run()
    app.button(key="sequence_make").click().run()
    assert not app.exception
    assert app.query_params["seq"].startswith("s_")
    assert not app.error


def test_a_three_shot_sequence_shows_its_strip_reel_and_the_shot_without_a_pick(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    warnings = " ".join(w.value for w in app.warning)
    assert "SH030" in warnings  # the cut's problem, as a sentence, not an exception
    reel = _reel(app)
    assert reel["fps"] == 24
    shots = reel["shots"]
    assert [s["code"] for s in shots] == ["SH010", "SH020", "SH030"]
    assert [s["trim_out"] for s in shots[:2]] == [24, 48]
    for shot, code in zip(shots[:2], ("SH010", "SH020"), strict=True):
        assert shot["url"].startswith(f"/clips/{ids[code + '_job']}.mp4?t=v1.")
    assert shots[2]["url"] is None and shots[2]["take_code"] == ""
    assert [s["take_code"] for s in shots[:2]] == ["T001", "T001"]
    page = " ".join(m.value for m in app.markdown)
    assert "No pick yet" in page
    assert "gulls over \\<b\\>water\\</b\\>" in page  # the take's label is text, not HTML
    assert app.text_input(key=f"shot_name_{ids['SH030']}").value == "the keeper *climbs*"
    assert app.number_input(key=f"trim_out_{ids['SH020']}").value == 48
    for fmt in ("otio", "fcp7xml", "fcpxml", "edl", "zip", "mp4"):
        assert app.button(key=f"export_make_{fmt}") is not None
    assert app.checkbox(key=f"export_slate_{ids['seq']}").value is False


def test_move_and_renumber_round_trip_through_the_door(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    app.button(key=f"shot_down_{ids['SH010']}").click().run()
    assert not app.exception
    assert _codes(data_dir, ids["seq"]) == [("SH020", ids["SH020"]), ("SH010", ids["SH010"]),
                                            ("SH030", ids["SH030"])]
    assert [s["code"] for s in _reel(app)["shots"]] == ["SH020", "SH010", "SH030"]
    app.button(key=f"shot_up_{ids['SH030']}").click().run()
    assert [c for c, _ in _codes(data_dir, ids["seq"])] == ["SH020", "SH030", "SH010"]
    app.button(key="sequence_renumber").click().run()
    assert _codes(data_dir, ids["seq"]) == [("SH010", ids["SH020"]), ("SH020", ids["SH030"]),
                                            ("SH030", ids["SH010"])]
    assert [s["code"] for s in _reel(app)["shots"]] == ["SH010", "SH020", "SH030"]


def test_trims_round_trip_and_a_bad_trim_gets_the_sentence_and_stores_nothing(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    shot = ids["SH020"]
    app.number_input(key=f"trim_in_{shot}").set_value(6).run()
    app.number_input(key=f"trim_out_{shot}").set_value(30).run()
    assert not app.exception
    root = _door(data_dir)
    try:
        stored = root.lab.shot(LOCAL, shot)
        assert (stored.trim_in, stored.trim_out) == (6, 30)
    finally:
        root.close()
    reel_shot = next(s for s in _reel(app)["shots"] if s["shot_id"] == shot)
    assert (reel_shot["trim_in"], reel_shot["trim_out"]) == (6, 30)
    assert any("Plays 24 f = 1.00 s" in c.value for c in app.caption)
    app.number_input(key=f"trim_out_{shot}").set_value(500).run()  # past the 2 s clip
    assert not app.exception
    assert any("past it" in e.value and "SH020" in e.value for e in app.error), [e.value for e in app.error]
    assert app.number_input(key=f"trim_out_{shot}").value == 30  # the widget shows what is kept
    root = _door(data_dir)
    try:
        stored = root.lab.shot(LOCAL, shot)
        assert (stored.trim_in, stored.trim_out) == (6, 30)
    finally:
        root.close()


def test_a_shot_name_with_markup_is_kept_as_text_and_renamed_through_the_door(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    app.text_input(key=f"shot_name_{ids['SH010']}").set_value("[click](http://x) <i>dawn</i>").run()
    assert not app.exception
    root = _door(data_dir)
    try:
        assert root.lab.shot(LOCAL, ids["SH010"]).name == "[click](http://x) <i>dawn</i>"
    finally:
        root.close()
    assert _reel(app)["shots"][0]["label"] == "[click](http://x) <i>dawn</i>"  # the reel shows it as text
    assert "](http" not in " ".join(m.value for m in app.markdown)


def test_pick_chooser_and_the_takes_panel(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    root = _door(data_dir)
    try:
        second = _made_take(root.lab, "a harbour at dusk", 1.5)
        root.lab.add_take(LOCAL, ids["seq"], "SH010", second)
    finally:
        root.close()
    _open(app, ids["seq"])
    chooser = app.selectbox(key=f"shot_pick_{ids['SH010']}")
    assert chooser.value == ids["SH010_job"]  # the first take became the pick
    chooser.set_value(second).run()
    assert not app.exception
    root = _door(data_dir)
    try:
        assert root.lab.shot(LOCAL, ids["SH010"]).pick_job_id == second
    finally:
        root.close()
    assert _reel(app)["shots"][0]["take_code"] == "T002"
    app.button(key=f"shot_takes_{ids['SH010']}").click().run()
    grids = [json.loads(c.proto.json) for c in app.get("bidi_component")]
    (grid,) = [g for g in grids if "clips" in g]
    assert [c["clip_id"] for c in grid["clips"]] == [ids["SH010_job"], second]
    assert [c["picked"] for c in grid["clips"]] == [False, True]
    app.button(key="sequence_takes_close").click().run()
    assert not [g for g in (json.loads(c.proto.json) for c in app.get("bidi_component")) if "clips" in g]


def test_continuity_sets_the_next_shots_start_frame(app, data_dir) -> None:
    ids = _three_shots(data_dir, pick_all=True)
    _open(app, ids["seq"])
    app.button(key=f"shot_continue_{ids['SH030']}").click().run()  # the last shot: a new SH040 is made
    assert not app.exception
    assert any("SH040 now starts from the last frame of SH030" in s.value for s in app.success)
    root = _door(data_dir)
    try:
        shots = root.lab.shots(LOCAL, ids["seq"])
        assert [s.code for s in shots] == ["SH010", "SH020", "SH030", "SH040"]
        assert root.lab.shot_start_frame(LOCAL, shots[-1].id) is not None
    finally:
        root.close()


def test_exports_make_a_file_or_say_what_stops_them(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    app.button(key="export_make_otio").click().run()
    assert not app.exception
    assert any("SH030" in e.value for e in app.error)  # no pick yet: the sentence, and no file offered
    assert not list(data_dir.glob("exports/*.otio")) and not app.get("download_button")
    root = _door(data_dir)
    try:
        root.lab.remove_shot(LOCAL, ids["SH030"])
    finally:
        root.close()
    app.run()
    app.button(key="export_make_otio").click().run()
    assert not app.exception and not app.error
    (made,) = (data_dir / "exports").glob("*.otio")
    timeline = otio.adapters.read_from_file(str(made))
    assert [c.duration().to_frames() for c in timeline.find_clips()] == [24, 48]
    assert len(app.get("download_button")) == 1
    app.number_input(key=f"trim_out_{ids['SH020']}").set_value(40).run()
    assert not app.get("download_button")  # the file made before the trim is not offered for the new cut


def test_the_review_link_button_makes_a_sequence_link(app, data_dir) -> None:
    ids = _three_shots(data_dir)
    _open(app, ids["seq"])
    app.button(key="sequence_review_link").click().run()
    assert not app.exception
    (code,) = [c for c in app.code if "/?review=" in c.value]
    root = _door(data_dir)
    try:
        opened = root.lab.open_review_link(code.value.split("review=", 1)[1])
    finally:
        root.close()
    assert opened.scope.kind == "sequence" and opened.scope.target == ids["seq"]


def _board_script() -> None:
    """A sequence review link's board on its own (the entry script routes a link here the same way)."""
    import dataclasses

    import streamlit as st

    from components.review_board import NAME_KEY
    from components.runtime import get_lab
    from components.sequence_review import sequence_board

    token = st.query_params["review"]
    opened = get_lab().open_review_link(token)
    st.session_state.setdefault(NAME_KEY, st.query_params.get("name", ""))
    sequence_board(token, dataclasses.replace(opened, name=st.session_state[NAME_KEY]))


def test_a_sequence_review_link_shows_the_reel_and_takes_without_costs_and_keeps_comments(data_dir) -> None:
    import streamlit as st

    ids = _three_shots(data_dir)
    root = _door(data_dir)
    try:
        url, _ = root.lab.make_review_link(LOCAL, ids["seq"], "7d", base_url="http://localhost:8501",
                                           kind="sequence")
    finally:
        root.close()
    st.cache_resource.clear()
    board = AppTest.from_function(_board_script, default_timeout=60)
    board.query_params["review"] = url.split("review=", 1)[1]
    board.run()
    assert not board.exception, board.exception
    assert board.title[0].value == "Review"
    assert [s["code"] for s in _reel(board)["shots"]] == ["SH010", "SH020", "SH030"]
    grids = [json.loads(c.proto.json) for c in board.get("bidi_component")]
    (grid,) = [g for g in grids if "clips" in g]
    assert grid["show_cost"] is False and grid["allow_pick"] is False and grid["allow_comments"] is False
    assert all(c["cost_text"] is None for c in grid["clips"])
    assert "$" not in str(board._tree)
    board.text_input(key="review_name").set_value("Ana <b>").run()
    grid = next(g for g in (json.loads(c.proto.json) for c in board.get("bidi_component")) if "clips" in g)
    assert grid["allow_pick"] is True and grid["allow_comments"] is True
    board.number_input(key=f"review_at_{ids['SH010']}").set_value(0.5)
    board.text_area(key=f"review_text_{ids['SH010']}").set_value("hold on the *harbour*")
    board.button[-1].click().run()
    assert not board.exception and not board.error, [e.value for e in board.error]
    root = _door(data_dir)
    try:
        (comment,) = root.lab.store.take_notes.for_jobs([ids["SH010_job"]])
    finally:
        root.close()
    assert (comment.at, comment.text, comment.author_name) == (0.5, "hold on the *harbour*", "Ana <b>")
    captions = " ".join(c.value for c in board.caption)
    assert "Ana \\<b\\>: hold on the \\*harbour\\*" in captions and "00:00:00:12" in captions
    board.number_input(key=f"review_at_{ids['SH010']}").set_value(9.0)  # past the 1 s take
    board.text_area(key=f"review_text_{ids['SH010']}").set_value("too late")
    board.button[-1].click().run()
    assert board.error  # the door's sentence; nothing stored
    root = _door(data_dir)
    try:
        assert len(root.lab.store.take_notes.for_jobs([ids["SH010_job"]])) == 1
    finally:
        root.close()
    st.cache_resource.clear()
