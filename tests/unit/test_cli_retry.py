"""`kling-lab retry JOB`: the app's Retry through the same door, budgets included."""

from __future__ import annotations

import json
from pathlib import Path

from kling_lab.cli import main
from tests.emulator import Emulator


def _failed_fal_job(emu: Emulator, data: Path, monkeypatch, capsys) -> str:  # noqa: ANN001
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(data))
    emu.add_outcome("fail", reason="GPU lost", count=1)
    assert main(["generate", "a fox in the rain", "--provider", "fal", "--json"]) == 1
    return json.loads(capsys.readouterr().out)["jobs"][0]["id"]


def test_kling_lab_retry_sends_the_clip_again_and_waits_for_it(tmp_path: Path, monkeypatch, capsys):
    with Emulator(latency=0.1) as emu:
        monkeypatch.chdir(tmp_path)
        job_id = _failed_fal_job(emu, tmp_path / "data", monkeypatch, capsys)
        code = main(["retry", job_id, "--json"])
        document = json.loads(capsys.readouterr().out)
        assert code == 0, document
        assert document["job"]["state"] == "done"
        assert emu.stats()["accepted_creates"] == {"fal": 2}


def test_kling_lab_retry_over_the_operators_ceiling_exits_2_and_sends_nothing(tmp_path: Path, monkeypatch, capsys):
    with Emulator(latency=0.1) as emu:
        monkeypatch.chdir(tmp_path)
        job_id = _failed_fal_job(emu, tmp_path / "data", monkeypatch, capsys)
        monkeypatch.setenv("KLING_LAB_DAILY_BUDGET_USD", "0.01")
        code = main(["retry", job_id, "--json"])
        document = json.loads(capsys.readouterr().out)
        assert code == 2
        assert document["ok"] is False and "budget" in document["errors"][0]
        assert emu.stats()["accepted_creates"] == {"fal": 1}


def test_kling_lab_retry_of_an_unknown_clip_exits_2_with_a_sentence(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert main(["retry", "j_000000000000", "--json"]) == 2
    assert "There is no clip" in json.loads(capsys.readouterr().out)["errors"][0]
