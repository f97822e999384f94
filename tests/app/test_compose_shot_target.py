"""Compose's "Into shot": a new shot or an existing one files the batch under it, with the shot's start frame
and the lineage of a take loaded into Compose."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from kling_lab.images import inspect_frame
from kling_lab.lab import Actor, build_root
from tests.app.test_sequence_page import _made_take
from tests.emulator.testing import make_png

LOCAL = Actor.local()


def _door(data_dir: Path):  # noqa: ANN202 - a LabRoot the test closes
    return build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)


def _compose(app: AppTest, **params: str) -> AppTest:
    for name, value in params.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, app.exception
    app.selectbox(key="compose_provider").select("animatic").run()
    return app


def _generate(app: AppTest, prompt: str) -> str:
    app.text_area(key="compose_prompt").set_value(prompt).run()
    app.button(key="compose_generate").click().run()
    assert not app.exception, app.exception
    assert app.title[0].value == "Compare", [e.value for e in app.error]
    value = app.query_params["batch"]
    return value[0] if isinstance(value, list) else value


def test_no_sequence_means_a_batch_on_its_own(app, data_dir) -> None:
    _compose(app)
    assert app.selectbox(key="compose_into_sequence").value is None
    batch_id = _generate(app, "a lighthouse")
    root = _door(data_dir)
    try:
        assert root.lab.batch(LOCAL, batch_id).shot_id is None
    finally:
        root.close()


def test_choosing_a_new_shot_files_the_batch_under_it(app, data_dir) -> None:
    root = _door(data_dir)
    try:
        sequence = root.lab.new_sequence(LOCAL, "Opening")
        root.lab.add_take(LOCAL, sequence.id, "SH010", _made_take(root.lab, "a harbour", 1.0))
    finally:
        root.close()
    _compose(app)
    app.selectbox(key="compose_into_sequence").set_value(sequence.id).run()
    assert app.selectbox(key="compose_into_shot").value == "new"
    assert any("Generate makes SH020" in c.value for c in app.caption)
    app.text_input(key="compose_into_shot_name").set_value("gulls <b>over</b> the pier").run()
    batch_id = _generate(app, "gulls over the pier, {slow push-in|orbit}")
    root = _door(data_dir)
    try:
        batch = root.lab.batch(LOCAL, batch_id)
        shots = root.lab.shots(LOCAL, sequence.id)
        assert [s.code for s in shots] == ["SH010", "SH020"]
        assert batch.shot_id == shots[1].id and shots[1].name == "gulls <b>over</b> the pier"
        assert [j.take_number for j in root.lab.batch_jobs(LOCAL, batch_id)] == [1, 2]
    finally:
        root.close()


def test_an_existing_shot_from_the_sequence_page_link_brings_its_start_frame(app, data_dir) -> None:
    png = make_png(640, 360)
    ref = inspect_frame(png).ref
    root = _door(data_dir)
    try:
        sequence = root.lab.new_sequence(LOCAL, "Opening")
        first = root.lab.add_take(LOCAL, sequence.id, "SH010", _made_take(root.lab, "a harbour", 1.0))
        second = root.lab.add_shot(LOCAL, sequence.id, name="the pier")
        root.lab.save_frame(LOCAL, ref, png)
        root.lab.store.sequences.update_shot(second.id, start_frame=ref.to_dict())  # as continue_from keeps it
    finally:
        root.close()
    _compose(app, seq=sequence.id, shot="SH020")  # what the strip's "Generate into it" opens
    assert app.selectbox(key="compose_into_sequence").value == sequence.id
    assert app.selectbox(key="compose_into_shot").value == second.id
    assert "seq" not in app.query_params and "shot" not in app.query_params  # applied once
    assert any("SH020's start frame" in c.value for c in app.caption)
    app.selectbox(key="compose_into_shot").set_value(first.id).run()
    assert app.selectbox(key="compose_into_shot").value == first.id
    batch_id = _generate(app, "the pier at dawn")
    root = _door(data_dir)
    try:
        batch = root.lab.batch(LOCAL, batch_id)
        (job,) = root.lab.batch_jobs(LOCAL, batch_id)
        assert batch.shot_id == first.id and job.take_number == 2  # after SH010's T001
        assert job.request.start_frame is not None and job.request.start_frame.sha256 == ref.sha256
    finally:
        root.close()


def test_a_take_loaded_into_compose_is_the_new_takes_parent(app, data_dir) -> None:
    root = _door(data_dir)
    try:
        sequence = root.lab.new_sequence(LOCAL, "Opening")
        parent = _made_take(root.lab, "a harbour in rain", 1.0)
        shot = root.lab.add_take(LOCAL, sequence.id, "SH010", parent)
        draft = root.lab.draft_from_job(LOCAL, parent)
    finally:
        root.close()
    _compose(app, draft=draft.id)
    assert any("come from" in c.value for c in app.caption)
    app.selectbox(key="compose_into_sequence").set_value(sequence.id).run()
    app.selectbox(key="compose_into_shot").set_value(shot.id).run()
    batch_id = _generate(app, "a harbour in fog")
    root = _door(data_dir)
    try:
        (job,) = root.lab.batch_jobs(LOCAL, batch_id)
        assert job.parent_job_id == parent and job.take_number == 2
        assert job.lineage == "'rain' → 'fog'"  # what changed from the parent (T001), as the door words it
    finally:
        root.close()
