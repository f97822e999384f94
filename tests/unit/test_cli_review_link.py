"""`kling-lab review-link BATCH`: an absolute URL the app opens as that batch's board; bad input exits 2."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.cli import main
from kling_lab.config import load_settings
from kling_lab.lab import Actor, build_root
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("KLING_LAB_PUBLIC_URL", "KLING_LAB_SECRET_KEY", "STREAMLIT_SERVER_ADDRESS", "STREAMLIT_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _batch(data: Path) -> str:
    settings = load_settings({"KLING_LAB_DATA_DIR": str(data)}, {})
    store = Store.from_url(settings.database_url, settings.database_path)
    batch_id = store.create_batch(template="a fox", provider="animatic",
                                  jobs=[NewJob("take", "animatic", GenerationRequest(prompt="x"), Decimal(0))])
    store.close()
    return batch_id


def test_it_prints_an_absolute_url_the_app_opens_as_that_batch_only(data: Path, capsys, monkeypatch) -> None:
    batch_id = _batch(data)
    monkeypatch.setenv("KLING_LAB_PUBLIC_URL", "https://lab.example.org/")
    assert main(["review-link", batch_id, "--expires", "2h", "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["url"].startswith("https://lab.example.org/?review=v1.")
    assert set(document) == {"url", "expires_at", "link_id"} and document["link_id"].startswith("l_")
    assert "review board only" in captured.err
    # The app's door (same data folder, same secret file) opens it as a reviewer of that batch.
    root = build_root({"KLING_LAB_DATA_DIR": str(data)}, {}, run_jobs=False)
    actor = root.lab.open_review_link(document["url"].split("review=", 1)[1])
    assert actor == Actor.review_link(batch_id, document["link_id"])
    assert [link.id for link in root.lab.review_links(Actor.local(), batch_id)] == [document["link_id"]]
    root.close()


def test_without_a_public_url_it_uses_the_server_address_and_port(data: Path, capsys, tmp_path: Path) -> None:
    batch_id = _batch(data)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\naddress = "127.0.0.1"\nport = 8642\n')
    assert main(["review-link", batch_id]) == 0
    assert capsys.readouterr().out.strip().startswith("http://127.0.0.1:8642/?review=v1.")


def test_an_address_for_every_interface_becomes_localhost(data: Path, capsys, monkeypatch) -> None:
    batch_id = _batch(data)
    monkeypatch.setenv("STREAMLIT_SERVER_ADDRESS", "0.0.0.0")  # noqa: S104 - what the URL replaces
    assert main(["review-link", batch_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["url"].startswith("http://localhost:8501/?review=")


@pytest.mark.parametrize(("argv", "words"), [
    (["review-link", "b_000000000000"], "There is no batch"),
    (["review-link", "{batch}", "--expires", "soon"], "not a length of time"),
    (["review-link", "{batch}", "--expires", "400d"], "at most 365 days"),
])
def test_bad_input_is_one_sentence_and_exit_2(data: Path, capsys, argv, words) -> None:
    batch_id = _batch(data)
    argv = [a.replace("{batch}", batch_id) for a in argv]
    assert main([*argv, "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and words in document["errors"][0] and "Traceback" not in document["errors"][0]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1


def test_a_too_short_configured_secret_is_one_sentence_and_exit_2(data: Path, capsys, monkeypatch) -> None:
    batch_id = _batch(data)
    monkeypatch.setenv("KLING_LAB_SECRET_KEY", "short")
    assert main(["review-link", batch_id]) == 2
    err = capsys.readouterr().err
    assert "shorter than 32 characters" in err and "short\n" not in err.replace("shorter", "")
