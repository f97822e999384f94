"""`kling-lab comment` and `kling-lab approve`: the stored record on --json, and bad input exits 2 storing nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.cli import main
from kling_lab.config import load_settings
from kling_lab.domain.jobs import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store

MARKUP = "<script>alert(1)</script>"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _store(data: Path) -> Store:
    settings = load_settings({"KLING_LAB_DATA_DIR": str(data)}, {})
    return Store.from_url(settings.database_url, settings.database_path)


def _take(data: Path, tiny_mp4: bytes) -> tuple[str, str]:
    store = _store(data)
    batch_id = store.create_batch(template="a fox", provider="animatic",
                                  jobs=[NewJob("take", "animatic", GenerationRequest(prompt="x"), Decimal(0))])
    job_id = store.jobs_for_batch(batch_id)[0].id
    clip = data / "clip.mp4"
    clip.write_bytes(tiny_mp4)
    store.transition(job_id, JobState.DONE, owner=None, video_path=str(clip), video_duration=5.0)
    store.close()
    return batch_id, job_id


def test_comment_prints_the_stored_comment(data: Path, tiny_mp4: bytes, capsys) -> None:
    batch_id, job_id = _take(data, tiny_mp4)
    assert main(["comment", job_id, "--at", "1.5", "--until", "3", "--text", MARKUP, "--name", "Meeting",
                 "--json"]) == 0
    document = json.loads(capsys.readouterr().out)["comment"]
    store = _store(data)
    [stored] = store.take_notes.for_batch(batch_id)
    store.close()
    assert document["id"] == stored.id and document["job_id"] == job_id and document["batch_id"] == batch_id
    assert (document["at"], document["until"], document["text"], document["author"]) == (1.5, 3.0, MARKUP, "Meeting")
    assert (stored.at, stored.until, stored.text, stored.author_name) == (1.5, 3.0, MARKUP, "Meeting")
    assert main(["comment", job_id, "--at", "4", "--text", "again", "--name", "Jo"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{stored.id + 1}\t0:04.00\tJo") and "0:04.00" in captured.err


def test_approve_sets_and_clears_a_status(data: Path, tiny_mp4: bytes, capsys) -> None:
    batch_id, job_id = _take(data, tiny_mp4)
    assert main(["approve", job_id, "--status", "changes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"]["set_by"] == "Lead"
    assert main(["approve", job_id, "--status", "approved", "--name", "Dir", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)["status"]
    assert (document["job_id"], document["batch_id"], document["status"], document["set_by"]) == (
        job_id, batch_id, "approved", "Dir")
    store = _store(data)
    assert store.take_notes.status(job_id).status == "approved"
    assert main(["approve", job_id, "--status", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"]["status"] is None
    assert store.take_notes.status(job_id) is None
    store.close()


@pytest.mark.parametrize(("argv", "words"), [
    (["comment", "{job}", "--at", "7", "--text", "x", "--name", "Jo"], "0:07.00 is past the end of this take"),
    (["comment", "{job}", "--at", "1", "--text", "", "--name", "Jo"], "A comment needs some text"),
    (["comment", "{job}", "--at", "1", "--text", "x" * 10_000, "--name", "Jo"],
     "A comment is at most 2,000 characters; this one has 10,000."),
    (["comment", "{job}", "--at", "3", "--until", "2", "--text", "x", "--name", "Jo"], "A range ends after"),
    (["comment", "{job}", "--at", "soon", "--text", "x", "--name", "Jo"], "is not a number of seconds"),
    (["comment", "{job}", "--at", "1", "--text", "x"], "--name"),
    (["comment", "j_000000000000", "--at", "1", "--text", "x", "--name", "Jo"], "There is no take"),
    (["approve", "{job}", "--status", "great"], "invalid choice"),
    (["approve", "j_000000000000", "--status", "approved"], "There is no take"),
])
def test_bad_input_is_one_sentence_exit_2_and_nothing_stored(data: Path, tiny_mp4: bytes, capsys, argv,
                                                             words: str) -> None:
    batch_id, job_id = _take(data, tiny_mp4)
    argv = [a.replace("{job}", job_id) for a in argv]
    assert main([*argv, "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False and words in document["errors"][0] and "Traceback" not in document["errors"][0]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    store = _store(data)
    assert store.take_notes.for_batch(batch_id) == [] and store.take_notes.statuses_for_batch(batch_id) == {}
    store.close()
