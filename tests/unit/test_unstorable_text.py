"""Text PostgreSQL refuses (a NUL, an unpaired surrogate) is refused with a sentence before it reaches any store.

Through the door (a prompt, a label, a note, a comment, a reviewer's name) and
the CLI, on SQLite and on PostgreSQL: the answer is one plain sentence, nothing
is written and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.batches import plan_batch
from kling_lab.cli import main
from kling_lab.config import Settings
from kling_lab.lab import Actor, Lab
from kling_lab.media import MediaStore
from kling_lab.pricing import load_price_book
from kling_lab.request import GenerationRequest, validate
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture

BAD_TEXT = ["a fox\x00 in the snow", "a fox \ud800 in the snow"]
BAD_IDS = ["nul", "surrogate"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'kling_lab.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def lab(database_url: str, tmp_path: Path) -> Iterator[Lab]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, keys={"FAL_KEY": "test-key"})
    store = Store.from_url(database_url, settings.database_path)
    yield Lab(store, MediaStore(settings.media_dir), None, lambda: settings, lambda: UserSettings())
    store.close()


def _one_clip(store: Store) -> tuple[str, str]:
    batch_id = store.create_batch(template="t", provider="fal", jobs=[
        NewJob("take", "fal", GenerationRequest(prompt="a clean prompt"), Decimal("0.35"))])
    return batch_id, store.jobs_for_batch(batch_id)[0].id


def _is_sentence(message: str) -> bool:
    return "can't store" in message and "remove" in message and "Traceback" not in message and "psycopg" not in message


@pytest.mark.parametrize("text", BAD_TEXT, ids=BAD_IDS)
def test_validation_names_the_field_that_holds_unstorable_text(text: str) -> None:
    (prompt,) = validate(GenerationRequest(prompt=text), "fal")
    assert prompt.startswith("The prompt contains") and "can't store or send" in prompt
    negative = validate(GenerationRequest(prompt="fine", negative_prompt=text), "kling")
    assert negative == [prompt.replace("The prompt", "The negative prompt")]
    huge = validate(GenerationRequest(prompt=text * 400), "fal")  # every problem is named, not only the first
    assert len(huge) == 2 and "characters" in huge[1], huge


@pytest.mark.parametrize("text", BAD_TEXT, ids=BAD_IDS)
def test_the_door_refuses_a_prompt_or_a_label_with_unstorable_text_and_writes_nothing(lab: Lab, text: str) -> None:
    book = load_price_book(None)
    for template, variables in ((text, None), ("a fox in {place}", {"place": ["snow", text]})):
        plan = plan_batch(template, GenerationRequest(prompt=""), "fal", book, variables=variables)
        with pytest.raises(ValueError) as refused:
            lab.submit(Actor.local(), plan)
        assert "contains" in str(refused.value) and "can't store or send" in str(refused.value), str(refused.value)
    assert lab.store.list_batches() == []


@pytest.mark.parametrize("text", BAD_TEXT, ids=BAD_IDS)
def test_the_door_refuses_a_note_comment_or_name_with_unstorable_text_and_changes_nothing(lab: Lab, text) -> None:
    batch_id, job_id = _one_clip(lab.store)
    before = lab.store.get_job(job_id)
    attempts = [
        lambda: lab.annotate(Actor.local(), job_id, notes=text),
        lambda: lab.review(Actor.local(), batch_id, kind="comment", name="Ada", text=text),
        lambda: lab.review(Actor.local(), batch_id, kind="pick", name=text, job_id=job_id),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError) as refused:
            attempt()
        assert _is_sentence(str(refused.value)), str(refused.value)
    assert lab.store.get_job(job_id) == before
    assert lab.store.reviews_for_batch(batch_id) == []
    lab.annotate(Actor.local(), job_id, notes="a clean note")  # the store is fine afterwards
    assert lab.store.get_job(job_id).notes == "a clean note"


@pytest.mark.parametrize("text", BAD_TEXT, ids=BAD_IDS)
def test_the_cli_refuses_unstorable_text_with_exit_2_and_queues_nothing(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KLING_LAB_DATABASE_URL", database_url)
    monkeypatch.setenv("FAL_KEY", "test-key")
    for argv in (["generate", text, "--provider", "fal", "--detach", "--json"],
                 ["generate", "a fox in {place}", "--var", f"place=snow|{text}", "--provider", "fal", "--detach",
                  "--json"]):
        assert main(argv) == 2
        document = json.loads(capsys.readouterr().out)
        assert document["ok"] is False
        assert any("can't store or send" in e or "not UTF-8" in e for e in document["errors"]), document
    store = Store.from_url(database_url, tmp_path / "data" / "kling_lab.sqlite3")
    assert store.list_batches() == []
    store.close()


def test_a_history_search_for_text_nothing_can_hold_finds_nothing_instead_of_failing(tmp_path) -> None:
    from kling_lab.store import JobQuery, Store

    store = Store.from_url(None, tmp_path / "s.sqlite3")
    try:
        assert store.search_jobs(JobQuery(text="fox\x00")) == [] and store.count_jobs(JobQuery(text="\ud800")) == 0
    finally:
        store.close()
