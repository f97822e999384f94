"""One settings resolution for the app, the CLI and workers: environment, secrets, then what Settings saved."""

from __future__ import annotations

import json
from pathlib import Path

from kling_lab.cli import main
from kling_lab.runner import DEFAULT_CONCURRENCY, RunnerConfig
from kling_lab.user_settings import UserSettings, resolve_settings, save_user_settings
from tests.emulator import Emulator
from tests.emulator.core import BASE_URL_ENV


def test_a_base_url_saved_in_settings_applies_over_the_environment(tmp_path: Path):
    save_user_settings(tmp_path, UserSettings(base_urls={"fal": "http://127.0.0.1:9/saved"}))
    settings = resolve_settings(environ={"KLING_LAB_DATA_DIR": str(tmp_path),
                                         "KLING_LAB_FAL_BASE_URL": "http://127.0.0.1:9/env"}, secrets={})
    assert settings.base_url("fal") == "http://127.0.0.1:9/saved"


def test_saved_limits_reach_every_runner_config(tmp_path: Path):
    save_user_settings(tmp_path, UserSettings(concurrency={"fal": 2}))
    config = RunnerConfig.with_saved_limits(tmp_path)
    assert config.concurrency["fal"] == 2
    assert config.concurrency["kie"] == DEFAULT_CONCURRENCY["kie"]


def test_kling_lab_generate_uses_the_base_url_saved_in_settings(tmp_path: Path, monkeypatch, capsys):
    data = tmp_path / "data"
    with Emulator(latency=0.1) as emu:
        # Only the key comes from the environment; where fal.ai is comes from what Settings saved.
        for name in BASE_URL_ENV.values():
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("KLING_LAB_DATA_DIR", str(data))
        monkeypatch.setenv("FAL_KEY", emu.keys["FAL_KEY"])
        monkeypatch.chdir(tmp_path)
        save_user_settings(data, UserSettings(base_urls={"fal": emu.base_url("fal")}))
        code = main(["generate", "a fox in the snow", "--provider", "fal", "--json"])
        document = json.loads(capsys.readouterr().out)
        assert code == 0, document
        assert [j["state"] for j in document["jobs"]] == ["done"]
        assert emu.stats()["accepted_creates"] == {"fal": 1}
