"""Compare shows each take's review from the door, takes refusals as sentences, and pins takes of other batches."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from streamlit.testing.v1 import AppTest

from kling_lab.lab import Actor, build_root
from kling_lab.media import MediaStore, make_thumbnail
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob
from tests.app.test_history_pricing_settings import _seed, _store

LOCAL = Actor.local()
MARKUP = "<b>x</b> [link](http://evil) **bold**"


def _door(data_dir: Path):  # noqa: ANN202 - a LabRoot the test closes
    return build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)


def _seeded(data_dir: Path, tiny_mp4: bytes) -> dict[str, str]:
    """The History seed (snow, rain; lighthouse), each take 2 s long."""
    ids = _seed(data_dir, tiny_mp4)
    store = _store(data_dir)
    for job_id in ids.values():
        store.transition(job_id, JobState.DONE, owner=None, video_duration=2.0)
    ids["fox"] = store.get_job(ids["snow"]).batch_id
    ids["lighthouse_batch"] = store.get_job(ids["lighthouse"]).batch_id
    return ids


def _more_takes(data_dir: Path, tiny_mp4: bytes, count: int, template: str = "a harbour") -> list[str]:
    """A batch of `count` finished 2 s takes with files on disk; their ids."""
    store, media = _store(data_dir), MediaStore(data_dir / "media")
    batch_id = store.create_batch(template=template, provider="fal", jobs=[
        NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"{template} {i}"), Decimal("0.35")) for i in range(count)])
    ids = []
    for job in store.jobs_for_batch(batch_id):
        clip, thumb = media.clip_path(job.id), media.thumb_path(job.id)
        clip.write_bytes(tiny_mp4)
        make_thumbnail(clip, thumb)
        store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb),
                         video_duration=2.0)
        ids.append(job.id)
    return ids


def _compare(app: AppTest, batch_id: str, pins: list[str] | None = None) -> AppTest:
    app.query_params["batch"] = batch_id
    if pins is not None:
        app.query_params["pin"] = ",".join(pins)
    app.run()
    app.switch_page("pages/compare.py").run()
    assert not app.exception
    return app


def _grid(app: AppTest) -> dict:
    grids = [json.loads(c.proto.json) for c in app.get("bidi_component")]
    (grid,) = [g for g in grids if "clips" in g]
    return grid


def _cells(app: AppTest) -> dict[str, dict]:
    return {c["clip_id"]: c for c in _grid(app)["clips"]}


def test_compare_shows_comments_statuses_picks_by_name_badges_and_lineage(app, data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)
    root = _door(data_dir)
    try:
        lab = root.lab
        lab.comment_on_take(LOCAL, ids["snow"], at=0.5, text=MARKUP)
        url, _ = lab.make_review_link(LOCAL, ids["fox"], "7d", base_url="http://localhost:8501")
        ann = lab.open_review_link(url.split("review=", 1)[1])
        lab.comment_on_take(ann, ids["snow"], at=1.25, until=1.75, text="the fox is late", name="Ann")
        lab.set_take_status(ann, ids["snow"], "approved", name="Ann")
        lab.review(ann, ids["fox"], kind="pick", name="Ann", job_id=ids["rain"])
        lab.review(ann, ids["fox"], kind="pick", name="Bo", job_id=ids["rain"])
        sequence = lab.new_sequence(LOCAL, "Opening")
        lab.add_take(LOCAL, sequence.id, "SH010", ids["rain"])
    finally:
        root.close()
    _compare(app, ids["fox"])
    grid, cells = _grid(app), _cells(app)
    assert grid["allow_comments"] is True and grid["allow_status"] is True  # the lead reviews in the grid
    snow, rain = cells[ids["snow"]], cells[ids["rain"]]
    assert [(c["at"], c["until"], c["author"], c["text"], c["mine"]) for c in snow["comments"]] == [
        (0.5, None, "Lead", MARKUP, True), (1.25, 1.75, "Ann", "the fox is late", False)]
    assert (snow["status"], snow["status_by"]) == ("approved", "Ann")
    assert rain["status"] is None and rain["comments"] == []
    assert rain["review_picks"] == ["Ann", "Bo"] and snow["review_picks"] == []
    assert rain["badge"] == "SH010 · T001" and snow["badge"] is None
    # Typed text reaches the grid as data (the grid puts it in as text), never into the page's markdown.
    assert "<b>x</b>" not in "".join(m.value for m in app.markdown)


def test_a_refused_review_event_shows_its_sentence_and_stores_nothing(data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)

    def harness() -> None:  # Compare's own handler and sentence, fed the events the grid sends
        import streamlit as st

        from components.runtime import current_actor, get_lab
        from components.take_review import apply_review_event, show_problem
        from components.video_grid import GridEvent

        for payload in st.session_state.get("events", []):
            apply_review_event(get_lab(), current_actor(), GridEvent(*payload), key="grid_x")
        show_problem("grid_x")

    at = AppTest.from_function(harness, default_timeout=30)
    at.session_state["events"] = [("comment", ids["snow"], {"at": 9.0, "until": None, "text": "too late"})]
    at.run()
    assert not at.exception
    assert "past the end of this take" in at.error[0].value
    at.session_state["events"] = [("comment", ids["snow"], {"at": 0.5, "until": None, "text": " "})]
    at.run()
    assert "needs some text" in at.error[0].value
    at.session_state["events"] = [("comment", ids["snow"], {"at": 0.5, "until": None, "text": "x" * 10_000})]
    at.run()
    assert "at most 2,000 characters" in at.error[0].value
    at.session_state["events"] = [("status", ids["snow"], "maybe")]
    at.run()
    assert "approved, changes or rejected" in at.error[0].value
    assert _store(data_dir).take_notes.for_batch(ids["fox"]) == []
    assert _store(data_dir).take_notes.statuses_for_batch(ids["fox"]) == {}
    # A good one is kept and clears the sentence; Dismiss clears a sentence too.
    at.session_state["events"] = [("comment", ids["snow"], {"at": 2.0, "until": None, "text": "end"}),
                                  ("status", ids["rain"], "changes")]
    at.run()
    assert not at.error
    (kept,) = _store(data_dir).take_notes.for_batch(ids["fox"])
    assert (kept.at, kept.text, kept.author_name) == (2.0, "end", "Lead")
    assert _store(data_dir).take_notes.statuses_for_batch(ids["fox"])[ids["rain"]].status == "changes"
    at.session_state["events"] = [("edit_comment", ids["snow"], {"id": kept.id + 99, "text": "gone"})]
    at.run()
    assert "deleted, or never existed" in at.error[0].value
    at.session_state["events"] = []
    at.button(key="dismiss_grid_x").click().run()
    assert not at.error


def test_pins_in_the_url_join_the_grid_survive_a_rerun_and_unpin(app, data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)
    (harbour,) = _more_takes(data_dir, tiny_mp4, 1)
    root = _door(data_dir)
    try:
        root.lab.set_take_status(LOCAL, ids["lighthouse"], "rejected", name="")
    finally:
        root.close()
    _compare(app, ids["fox"], pins=[ids["lighthouse"]])
    cells = list(_cells(app).values())
    assert [c["label"] for c in cells] == ["snow", "rain", "lighthouse"]
    assert cells[2]["badge"] == "Pinned · a lighthouse" and cells[2]["status"] == "rejected"
    app.run()  # a rerun (a reload reads the same URL) keeps the pin
    assert [c["label"] for c in _cells(app).values()] == ["snow", "rain", "lighthouse"]
    # Pin another from the chooser: offered by take and batch, not the ones already in the grid.
    chooser = app.selectbox(key="pin_chooser")
    assert chooser.options == ["take 0 · a harbour"]
    chooser.set_value(harbour).run()
    assert not app.exception
    assert app.query_params["pin"] == f"{ids['lighthouse']},{harbour}"
    assert [c["label"] for c in _cells(app).values()] == ["snow", "rain", "lighthouse", "take 0"]
    assert app.selectbox(key="pin_chooser").value is None
    app.button(key=f"unpin_{ids['lighthouse']}").click().run()
    assert app.query_params["pin"] == harbour
    assert [c["label"] for c in _cells(app).values()] == ["snow", "rain", "take 0"]
    # Junk in the URL is ignored; a pin of a take that is gone says so and can be unpinned.
    app.query_params["pin"] = f"{harbour},nonsense,j_000000000000"
    app.run()
    assert [c["label"] for c in _cells(app).values()] == ["snow", "rain", "take 0"]
    assert any("000000000000" in c.value and "no longer" in c.value for c in app.caption)
    app.button(key="unpin_j_000000000000").click().run()
    assert app.query_params["pin"] == harbour


def test_the_eleventh_cell_is_refused_with_a_sentence(app, data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)
    others = _more_takes(data_dir, tiny_mp4, 9)
    _compare(app, ids["fox"], pins=others[:8])  # 2 own + 8 pinned = 10 cells: full
    assert len(_grid(app)["clips"]) == 10
    assert not [s for s in app.selectbox if s.key == "pin_chooser"]
    assert any("holds 10 takes at most" in c.value for c in app.caption)
    _compare(app, ids["fox"], pins=others)  # one more in the URL: left out, and said so
    assert [c["clip_id"] for c in _grid(app)["clips"]][2:] == others[:8]
    assert any("1 pinned take was left out" in c.value for c in app.caption)
    app.button(key=f"unpin_{others[0]}").click().run()  # room again: the ninth joins
    assert [c["clip_id"] for c in _grid(app)["clips"]][2:] == others[1:]
