"""The composition root: one set of parts per process, built from plain mappings, and the door over them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kling_lab.lab import Actor, UserSettings, build_root
from kling_lab.runner import DEFAULT_CONCURRENCY


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"KLING_LAB_DATA_DIR": str(tmp_path / "data"), **extra}


def test_keys_come_from_the_mappings_it_is_given_with_the_environment_first(tmp_path):
    root = build_root(_environ(tmp_path, FAL_KEY="from-env"), {"FAL_KEY": "from-file", "KIE_API_KEY": "kie-file"},
                      run_jobs=False)
    settings = root.lab.settings_for(Actor.local())
    assert (settings.keys["FAL_KEY"], settings.key_source("fal")) == ("from-env", "environment")
    assert settings.key_source("kie") == "secrets file"
    root.close()


def test_without_a_runner_the_door_still_reads_and_writes_the_store(tmp_path):
    root = build_root(_environ(tmp_path), {}, run_jobs=False)
    assert root.runner is None and root.lab.runner is None
    assert root.lab.batches(Actor.local()) == []
    assert root.lab.health(Actor("anonymous"))["runner"] == "stopped"
    assert root.settings.data_dir == (tmp_path / "data").resolve()
    root.close()


def test_a_saved_base_url_and_limit_reach_the_running_runner_and_the_next_door_call(tmp_path):
    root = build_root(_environ(tmp_path, KLING_LAB_ALLOW_PRIVATE_BASE_URLS="1"), {})
    try:
        assert root.runner is not None and root.runner.running
        root.lab.change_settings(Actor.local(), UserSettings(budget_per_batch=Decimal("2"), concurrency={"kie": 3},
                                                             base_urls={"kie": "http://127.0.0.1:9/kie"}))
        assert root.runner.settings.base_url("kie") == "http://127.0.0.1:9/kie"
        assert root.runner.config.concurrency == {**DEFAULT_CONCURRENCY, "kie": 3}
        assert root.lab.settings_for(Actor.local()).base_url("kie") == "http://127.0.0.1:9/kie"
        assert root.lab.preferences(Actor.local()).budget_per_batch == Decimal("2")
        assert root.lab.health(Actor("anonymous"))["runner"] == "running"
    finally:
        root.close()
    assert not root.runner.running


def test_a_runner_started_later_reads_the_saved_limits(tmp_path):
    first = build_root(_environ(tmp_path), {}, run_jobs=False)
    first.lab.change_settings(Actor.local(), UserSettings(concurrency={"fal": 7}))
    first.close()
    second = build_root(_environ(tmp_path), {})
    try:
        assert second.runner.config.concurrency["fal"] == 7
    finally:
        second.close()


def test_typed_keys_reach_only_the_actor_who_typed_them(tmp_path):
    root = build_root(_environ(tmp_path), {}, run_jobs=False)
    assert root.lab.settings_for(Actor.local({"FAL_KEY": "typed"})).has_key("fal")
    assert not root.lab.settings_for(Actor.local()).has_key("fal")
    assert not root.runner_settings().has_key("fal")
    root.close()
