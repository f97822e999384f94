"""History, Pricing and Settings pages: filters, reuse, delete, overrides, keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kling_lab.images import inspect_frame
from kling_lab.media import MediaStore, make_thumbnail
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from tests.emulator.testing import make_png


def _store(data_dir: Path) -> Store:
    return Store(data_dir / "kling_lab.sqlite3")


def _seed(data_dir: Path, tiny_mp4: bytes) -> dict[str, str]:
    """Two batches of finished clips with files on disk; returns job ids by label."""
    store = _store(data_dir)
    media = MediaStore(data_dir / "media")
    png = make_png(640, 360)
    frame = inspect_frame(png).ref
    media.save_frame(frame, png)
    first = store.create_batch(template="a fox {snow|rain}", provider="fal", jobs=[
        NewJob("snow", "fal", GenerationRequest(prompt="a fox in snow", duration=10, audio=True, cfg_scale=0.3,
                                                negative_prompt="blur"), Decimal("1.40")),
        NewJob("rain", "fal", GenerationRequest(prompt="a fox in rain"), Decimal("0.35")),
    ])
    second = store.create_batch(template="a lighthouse", provider="kie", jobs=[
        NewJob("lighthouse", "kie", GenerationRequest(prompt="a lighthouse at dusk", aspect_ratio="9:16",
                                                     start_frame=frame), Decimal("0.28")),
    ])
    ids = {}
    for batch_id in (first, second):
        for job in store.jobs_for_batch(batch_id):
            clip, thumb = media.clip_path(job.id), media.thumb_path(job.id)
            clip.write_bytes(tiny_mp4)
            make_thumbnail(clip, thumb)
            store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb),
                             host_task_id=f"task-{job.label}")
            ids[job.label] = job.id
    return ids


def _history(app: AppTest) -> AppTest:
    app.run()
    app.switch_page("pages/history.py").run()
    assert not app.exception
    return app


def _card_labels(app: AppTest) -> list[str]:
    return [b.key.removeprefix("open_") for b in app.button if b.key and b.key.startswith("open_")]


def test_history_lists_every_clip_and_filters_change_the_set(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    _history(app)
    assert sorted(_card_labels(app)) == sorted(ids.values())
    app.text_input(key="history_text").set_value("lighthouse").run()
    assert _card_labels(app) == [ids["lighthouse"]]
    app.text_input(key="history_text").set_value("").run()
    app.multiselect(key="history_hosts").select("fal").run()
    assert sorted(_card_labels(app)) == sorted([ids["snow"], ids["rain"]])
    app.segmented_control(key="history_duration").set_value("10 s").run()
    assert _card_labels(app) == [ids["snow"]]
    assert not app.exception


def test_load_into_compose_restores_the_template_and_every_control_including_frames(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    _history(app)
    app.button(key=f"open_{ids['snow']}").click().run()
    app.button(key=f"load_{ids['snow']}").click().run()
    assert app.title[0].value == "Compose"
    assert app.selectbox(key="compose_provider").value == "fal"
    assert app.text_area(key="compose_prompt").value == "a fox {snow|rain}"  # the template, not one expansion
    assert app.text_area(key="compose_negative").value == "blur"
    assert app.segmented_control(key="compose_duration").value == 10
    assert app.toggle(key="compose_audio").value is True
    assert app.toggle(key="compose_cfg_on").value is True
    assert app.slider(key="compose_cfg").value == pytest.approx(0.3)
    assert app.metric[0].value == "$2.80"  # both takes of the template
    app.switch_page("pages/history.py").run()
    app.button(key=f"open_{ids['lighthouse']}").click().run()
    app.button(key=f"load_{ids['lighthouse']}").click().run()
    assert app.selectbox(key="compose_provider").value == "kie"
    assert app.session_state["compose_start_ref"] is not None
    assert app.dataframe[0].value["Prompt"][0] == "a lighthouse"


def test_rerun_creates_exactly_one_new_job_after_showing_the_cost(app, data_dir, tiny_mp4, monkeypatch) -> None:
    ids = _seed(data_dir, tiny_mp4)
    _history(app)
    app.button(key=f"open_{ids['rain']}").click().run()
    rerun = app.button(key=f"rerun_{ids['rain']}")
    assert "$0.35" in rerun.label
    monkeypatch.setenv("FAL_KEY", "fal-test-key")  # the confirmation reads the key at send time
    st.cache_resource.clear()  # the process's parts are built again, reading the key
    rerun.click().run()
    from components.runtime import get_root

    get_root().runner.stop()  # nothing drives the new clip: it stays queued, and nothing is sent to a host
    store = _store(data_dir)
    before = len(store.list_jobs(limit=100))
    app.button(key=f"rerun_go_{ids['rain']}").click().run()
    jobs = store.list_jobs(limit=100)
    assert len(jobs) == before + 1
    newest = jobs[0]
    assert newest.request == store.get_job(ids["rain"]).request
    assert newest.state == JobState.QUEUED


def test_delete_removes_the_files_and_keeps_the_spend(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    store = _store(data_dir)
    job = store.get_job(ids["rain"])
    spend = store.spend_today()
    _history(app)
    app.button(key=f"open_{ids['rain']}").click().run()
    leftover = data_dir / "media" / "animatic" / f"{job.id}.mp4"  # a draft kept by an earlier release
    leftover.write_bytes(tiny_mp4)
    app.button(key=f"delete_{ids['rain']}").click().run()
    assert not Path(job.video_path).exists() and not Path(job.thumb_path).exists()
    assert not leftover.exists()
    assert store.spend_today() == spend
    assert ids["rain"] not in _card_labels(app)
    assert not app.exception


def test_price_override_changes_the_estimate_and_a_bad_one_is_refused(app, data_dir) -> None:
    app.run()
    app.switch_page("pages/pricing.py").run()
    editor_key = "pricing_editor_fal"
    app.session_state[editor_key] = {"edited_rows": {0: {"value": 0.1}}, "added_rows": [], "deleted_rows": []}
    app.button(key="pricing_save").click().run()
    assert not app.error
    assert (data_dir / "price_overrides.toml").exists()
    app.switch_page("pages/compose.py").run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.text_area(key="compose_prompt").set_value("a fox").run()
    assert app.metric[0].value == "$0.50"
    app.switch_page("pages/pricing.py").run()
    app.session_state[editor_key] = {"edited_rows": {1: {"value": -2.0}}, "added_rows": [], "deleted_rows": []}
    app.button(key="pricing_save").click().run()
    assert any("negative" in e.value for e in app.error)
    app.switch_page("pages/compose.py").run()
    assert app.metric[0].value == "$0.50"


def test_settings_shows_where_a_key_came_from_and_never_the_key(app, monkeypatch) -> None:
    monkeypatch.setenv("FAL_KEY", "fal-visible-secret-123456")
    app.run()
    app.switch_page("pages/settings.py").run()
    text = " ".join(m.value for m in app.markdown)
    assert "fal.ai" in text and "environment" in text
    rendered = str(app._tree)
    assert "fal-visible-secret-123456" not in rendered
    app.text_input(key="key_input_KIE_API_KEY").set_value("kie-session-secret-987654").run()
    app.button(key="settings_use_keys").click().run()
    assert "this session" in " ".join(m.value for m in app.markdown)
    assert "kie-session-secret-987654" not in str(app._tree)


def test_settings_refuses_a_bad_budget_with_a_message(app, data_dir) -> None:
    app.run()
    app.switch_page("pages/settings.py").run()
    app.text_input(key="settings_budget_day").set_value("lots").run()
    app.button(key="settings_save").click().run()
    assert any("not an amount" in e.value for e in app.error)
    assert not (data_dir / "settings.json").exists()


def test_saving_settings_applies_the_limit_and_base_url_to_the_running_runner(app, data_dir, monkeypatch) -> None:
    from components.runtime import get_root

    monkeypatch.setenv("KLING_LAB_ALLOW_PRIVATE_BASE_URLS", "1")  # the operator allows a host on loopback
    app.run()
    app.switch_page("pages/settings.py").run()
    app.number_input(key="concurrency_fal").set_value(3).run()
    app.text_input(key="base_url_fal").set_value("http://127.0.0.1:9/fal").run()
    app.button(key="settings_save").click().run()
    assert not app.error and app.success
    runner = get_root().runner
    assert runner.config.concurrency["fal"] == 3
    assert runner.settings.base_url("fal") == "http://127.0.0.1:9/fal"


def test_price_table_reads_as_prices_for_people_not_empty_cells(app) -> None:
    app.run()
    app.switch_page("pages/pricing.py").run()
    fal = app.dataframe[0].value  # per second: any length, both lengths priced
    assert list(fal["duration"]) == ["any"] * 3 and list(fal["usd_5s"]) == ["$0.35", "$0.70", "$0.84"]
    app.button_group(key="pricing_host").set_value("kie").run()
    kie = app.dataframe[0].value  # per clip: each row prices one length, the other shows a dash
    assert list(kie["duration"]) == ["5 s", "10 s", "5 s", "10 s"]
    assert list(kie["usd_5s"]) == ["$0.28", "—", "$0.55", "—"]
    assert not app.exception
