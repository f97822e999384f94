"""Compose → Generate → Compare, in-process, with the host emulator behind the app."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from kling_lab.config import load_settings
from kling_lab.store import Store
from tests.emulator import Emulator


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0.3) as emulator:
        yield emulator


def _grid_clips(at: AppTest) -> list[dict]:
    (grid,) = at.get("bidi_component")
    return json.loads(grid.proto.json)["clips"]


def _batch_in_url(at: AppTest) -> str:
    value = at.query_params["batch"]
    return value[0] if isinstance(value, list) else value


def _store() -> Store:
    settings = load_settings()
    return Store(settings.database_path)


def _wait_finished(batch_id: str, timeout: float = 60) -> None:
    store = _store()
    deadline = time.time() + timeout
    while time.time() < deadline and store.has_unfinished(batch_id):
        time.sleep(0.1)
    assert not store.has_unfinished(batch_id)


def test_generate_ten_variations_and_see_ten_cells_finish(app: AppTest, emu: Emulator, monkeypatch) -> None:
    emu.reset()
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog|dust|ash}, {slow push-in|orbit}").run()
    assert app.metric[0].value == "$3.50"
    app.button(key="compose_generate").click().run()
    assert not app.exception
    batch_id = _batch_in_url(app)
    assert app.title[0].value == "Compare"
    assert len(_grid_clips(app)) == 10
    _wait_finished(batch_id)
    app.run()
    clips = _grid_clips(app)
    assert [c["state"] for c in clips] == ["done"] * 10
    assert all(c["url"].startswith(f"/clips/{c['clip_id']}.mp4?t=v1.") for c in clips)  # with its file token
    assert clips[0]["label"] == "snow · slow push-in"
    assert emu.stats()["accepted_creates"]["fal"] == 10


def test_generate_over_the_daily_budget_is_warned_then_refused_with_the_numbers(
        app: AppTest, emu, monkeypatch, data_dir) -> None:
    from kling_lab.user_settings import UserSettings, save_user_settings

    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    from decimal import Decimal

    save_user_settings(data_dir, UserSettings(budget_per_day=Decimal("1.00")))
    emu.reset()
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog}").run()
    assert any("$1.05" in c.value and "$1.00" in c.value for c in app.caption)  # warned before Generate
    app.button(key="compose_generate").click().run()
    assert any("$1.05" in e.value and "$1.00" in e.value for e in app.error)  # and refused at the door
    assert app.title[0].value == "Compose"
    assert sum(emu.stats()["accepted_creates"].values()) == 0


def test_compare_after_a_reload_shows_the_same_batch_from_the_store(app: AppTest, emu, monkeypatch) -> None:
    emu.reset()
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    app.run()
    app.selectbox(key="compose_provider").select("kie").run()
    app.text_area(key="compose_prompt").set_value("a lighthouse, {dusk|dawn}").run()
    app.button(key="compose_generate").click().run()
    batch_id = _batch_in_url(app)
    _wait_finished(batch_id)
    fresh = AppTest.from_file(app._script_path, default_timeout=60)
    fresh.query_params["batch"] = batch_id
    fresh.run()
    fresh.switch_page("pages/compare.py").run()
    assert [c["label"] for c in _grid_clips(fresh)] == ["dusk", "dawn"]
    assert [c["state"] for c in _grid_clips(fresh)] == ["done", "done"]
