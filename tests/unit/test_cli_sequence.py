"""`kling-lab sequence new|add|pick|list|export` and `generate --sequence --shot`: the same door as the app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kling_lab.cli import main
from kling_lab.lab import Actor, build_root
from tests.unit.test_sequences import made_take


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KLING_LAB_DATABASE_URL", raising=False)
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def root(data: Path):  # noqa: ANN201
    built = build_root({"KLING_LAB_DATA_DIR": str(data)}, {}, run_jobs=False)
    yield built
    built.close()


def run(capsys, *argv: str) -> tuple[int, dict | str, str]:  # noqa: ANN001
    code = main(list(argv))
    captured = capsys.readouterr()
    out = json.loads(captured.out) if "--json" in argv and captured.out.strip() else captured.out
    return code, out, captured.err


def test_new_prints_the_id_and_list_shows_it(data, capsys, root):
    code, document, _ = run(capsys, "sequence", "new", "Opening", "--json")
    assert code == 0 and document["id"].startswith("s_") and document["name"] == "Opening"
    assert root.lab.sequence(Actor.local(), "opening").id == document["id"]
    code, listed, _ = run(capsys, "sequence", "list", "--json")
    assert code == 0 and [s["id"] for s in listed["sequences"]] == [document["id"]]
    assert listed["sequences"][0]["shots"] == []
    code, human, _ = run(capsys, "sequence", "list")
    assert code == 0 and f"{document['id']}\tOpening\t0 shot(s)" in human


@pytest.mark.parametrize("name", ["<script>x</script>", "../up", "a/b"])
def test_new_refuses_markup_and_path_names_with_exit_2(data, capsys, root, name):
    code, document, _ = run(capsys, "sequence", "new", name, "--json")
    assert code == 2 and document["ok"] is False and "file names" in document["errors"][0]
    assert root.lab.sequences(Actor.local()) == []


def test_add_files_takes_and_pick_changes_the_pick(data, capsys, root):
    run(capsys, "sequence", "new", "Opening", "--json")
    first, second = made_take(root.lab), made_take(root.lab)
    code, added, _ = run(capsys, "sequence", "add", "Opening", "--shot", "SH010", "--take", first, "--json")
    assert code == 0 and (added["shot"], added["take"], added["pick"]) == ("SH010", 1, first)
    code, added, _ = run(capsys, "sequence", "add", "OPENING", "--shot", "SH010", "--take", second, "--json")
    assert code == 0 and (added["take"], added["pick"]) == (2, first)
    code, picked, _ = run(capsys, "sequence", "pick", "Opening", "SH010", second, "--json")
    assert code == 0 and picked["pick"] == second
    seq = root.lab.sequence(Actor.local(), "Opening")
    assert root.lab.shots(Actor.local(), seq.id)[0].pick_job_id == second


def test_bad_input_is_exit_2_with_a_sentence(data, capsys, root):
    run(capsys, "sequence", "new", "Opening", "--json")
    take = made_take(root.lab)
    code, document, _ = run(capsys, "sequence", "add", "Nope", "--shot", "SH010", "--take", take, "--json")
    assert code == 2 and document["errors"] == ["There is no sequence “Nope”: `kling-lab sequence list` shows them."]
    code, document, _ = run(capsys, "sequence", "add", "Opening", "--shot", "ten", "--take", take, "--json")
    assert code == 2 and "not a shot code" in document["errors"][0]
    code, document, _ = run(capsys, "sequence", "pick", "Opening", "SH010", take, "--json")
    assert code == 2 and document["errors"] == ["“Opening” has no shot SH010."]
    run(capsys, "sequence", "add", "Opening", "--shot", "SH010", "--take", take, "--json")
    other = made_take(root.lab)
    code, document, _ = run(capsys, "sequence", "pick", "Opening", "SH010", other, "--json")
    assert code == 2 and "not one of SH010's takes" in document["errors"][0]
    code, document, _ = run(capsys, "sequence", "export", "Opening", "--format", "mov", "--out", "x", "--json")
    assert code == 2 and "invalid choice" in document["errors"][0]


def test_generate_files_the_batch_under_the_shot_and_makes_a_new_shot(data, capsys, root):
    code, made, _ = run(capsys, "sequence", "new", "Opening", "--json")
    code, generated, _ = run(capsys, "generate", "a fox in {snow|rain}", "--sequence", "Opening", "--shot", "SH020",
                             "--detach", "--json")
    assert code == 0
    lab = root.lab
    shots = lab.shots(Actor.local(), made["id"])
    assert [s.code for s in shots] == ["SH020"]
    jobs = lab.batch_jobs(Actor.local(), generated["batch_id"])
    assert [(j.shot_id, j.take_number) for j in jobs] == [(shots[0].id, 1), (shots[0].id, 2)]
    code, again, _ = run(capsys, "generate", "a hen", "--sequence", made["id"], "--shot", "sh20", "--detach", "--json")
    assert code == 0 and [j.take_number for j in lab.batch_jobs(Actor.local(), again["batch_id"])] == [3]


def test_generate_into_a_shot_refuses_bad_input_before_anything_is_written(data, capsys, root):
    run(capsys, "sequence", "new", "Opening", "--json")
    code, document, _ = run(capsys, "generate", "a fox", "--shot", "SH010", "--detach", "--json")
    assert code == 2 and "--shot needs --sequence" in document["errors"][0]
    code, document, _ = run(capsys, "generate", "a fox", "--sequence", "Nope", "--shot", "SH010", "--detach",
                            "--json")
    assert code == 2 and "no sequence “Nope”" in document["errors"][0]
    code, document, _ = run(capsys, "generate", "a fox", "--sequence", "Opening", "--shot", "S1", "--detach",
                            "--json")
    assert code == 2 and "not a shot code" in document["errors"][0]
    assert root.lab.batches(Actor.local()) == []



def test_export_writes_the_cut_where_asked(data, capsys, root, tmp_path):
    import opentimelineio as otio

    run(capsys, "sequence", "new", "Opening", "--json")
    take = made_take(root.lab, seconds=1.0)
    run(capsys, "sequence", "add", "Opening", "--shot", "SH010", "--take", take, "--json")
    out = tmp_path / "cut.edl"
    code, document, _ = run(capsys, "sequence", "export", "Opening", "--format", "edl", "--out", str(out), "--json")
    assert code == 0 and document["path"] == str(out) and document["format"] == "edl"
    timeline = otio.adapters.read_from_file(str(out), adapter_name="cmx_3600")
    assert [c.duration().to_frames() for c in timeline.find_clips()] == [24]
    code, document, _ = run(capsys, "sequence", "export", "Empty", "--format", "otio", "--out", str(out), "--json")
    assert code == 2 and "no sequence “Empty”" in document["errors"][0]
