"""Huge templates, thousands of template errors and a broken store: one plain sentence each, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from kling_lab.cli import EXIT_INVALID, main
from kling_lab.config import Settings
from kling_lab.lab import Actor, Lab
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.store import Store
from kling_lab.user_settings import UserSettings
from kling_lab.variations import COUNT_CEILING, ERRORS_LISTED, count_variations, expand

HUGE = "{a|b}" * 14_300  # 2**14300 combinations: a number of 4,305 digits


def test_a_huge_template_is_refused_in_one_sentence_without_building_its_count():
    result = expand(HUGE, GenerationRequest(prompt=""), "animatic")
    (message,) = result.errors
    assert f"more than {COUNT_CEILING:,} combinations" in message and "at most 10" in message
    assert result.count == COUNT_CEILING + 1
    assert str(result.count)  # a page may print the count: it is a small number
    assert count_variations(HUGE) == COUNT_CEILING + 1


def test_a_count_under_the_ceiling_is_still_exact():
    assert expand("{a|b|c|d|e|f|g|h|i|j} " * 6, GenerationRequest(prompt=""), "animatic").count == COUNT_CEILING


def test_thousands_of_template_errors_are_summed_up():
    result = expand("} " * 5000, GenerationRequest(prompt=""), "animatic")
    assert len(result.errors) == ERRORS_LISTED + 1
    assert "4,997 more problems" in result.errors[-1]


def test_the_same_error_many_times_is_listed_once():
    result = expand("{a|} " * 3000, GenerationRequest(prompt=""), "animatic")
    assert result.errors == ("The choice group {a|} has an empty choice; remove the extra “|”.",)


@pytest.fixture
def cli_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["expand", "estimate", "generate", "validate"])
def test_every_command_refuses_a_huge_template_with_exit_2_and_a_sentence(cli_dir, capsys, command):
    assert main([command, HUGE]) == EXIT_INVALID
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert "at most 10" in captured.err + captured.out


@pytest.mark.parametrize("command", ["expand", "estimate", "validate"])
def test_an_unclosed_group_is_refused_by_validate_as_by_expand(cli_dir, capsys, command):
    assert main(["--json", command, "a fox {a|b"]) == EXIT_INVALID
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and any("never closed" in e for e in document["errors"])


def test_validate_checks_every_variation_of_a_good_template(cli_dir, capsys):
    assert main(["--json", "validate", "a fox in {snow|rain}", "--provider", "kie"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "errors": []}


# ----------------------------------------------------------------------------- a broken store


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "kling_lab.sqlite3")
    return Lab(store, MediaStore(tmp_path / "data" / "media"), None, lambda: settings, lambda: UserSettings())


def _corrupt(lab: Lab, tmp_path: Path) -> None:
    lab.store.close()
    (tmp_path / "data" / "kling_lab.sqlite3").write_bytes(b"this is not a database " * 500)


def test_health_is_ok_on_a_good_store(lab):
    assert lab.health(Actor("anonymous")) == {"status": "ok", "runner": "stopped", "unfinished_jobs": False}


def test_health_says_the_store_is_unavailable_when_its_file_is_garbage(lab, tmp_path):
    _corrupt(lab, tmp_path)
    report = lab.health(Actor("anonymous"))
    assert report["status"] == "store unavailable"
    assert str(tmp_path) not in json.dumps(report) and "sqlite3" not in json.dumps(report)


def test_the_health_route_answers_503_for_a_broken_store(lab, tmp_path, monkeypatch):
    import asgi_app

    monkeypatch.setattr(asgi_app, "_lab", lambda: lab)
    app = Starlette(routes=[Route("/api/health", asgi_app.health)])
    with TestClient(app) as client:
        assert client.get("/api/health").status_code == 200
        _corrupt(lab, tmp_path)
        answer = client.get("/api/health")
    assert answer.status_code == 503
    assert answer.json()["status"] == "store unavailable"


def test_the_health_route_answers_503_when_the_lab_cannot_be_opened(monkeypatch):
    import asgi_app
    from kling_lab.store import DatabaseUnavailable

    def broken() -> Lab:
        raise DatabaseUnavailable("Kling Lab cannot read the SQLite file kling_lab.sqlite3 in its data folder.")

    monkeypatch.setattr(asgi_app, "_lab", broken)
    with TestClient(Starlette(routes=[Route("/api/health", asgi_app.health)])) as client:
        answer = client.get("/api/health")
    assert answer.status_code == 503 and answer.json()["status"] == "store unavailable"


def test_a_corrupt_store_file_is_one_sentence_on_the_cli(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "kling_lab.sqlite3").write_bytes(b"this is not a database " * 500)
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["history", "list"])
    except Exception:  # noqa: BLE001 - today: a raw sqlalchemy/sqlite3 DatabaseError
        code = None
    err = capsys.readouterr().err
    assert code == EXIT_INVALID and "kling_lab.sqlite3" in err and "Traceback" not in err
