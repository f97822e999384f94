"""The `kling-lab` planning commands (expand, estimate, validate) and their JSON contract from DESIGN.md."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from kling_lab.capabilities import CAPABILITIES
from kling_lab.cli import main


def _refuse_network(*args, **kwargs):
    raise AssertionError("a planning command tried to send an HTTP request")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(httpx.Client, "send", _refuse_network)
    monkeypatch.setattr(httpx.AsyncClient, "send", _refuse_network)
    return tmp_path


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    """Run the CLI with --json; check stdout is exactly one strict JSON line; return (code, document, stderr)."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert captured.out.endswith("\n")
    assert captured.out.count("\n") == 1, captured.out
    document = json.loads(captured.out, parse_constant=_no_constants)
    assert isinstance(document, dict)
    return code, document, captured.err


def write_image(path: Path, size: tuple[int, int] = (640, 360), fmt: str = "PNG") -> Path:
    buf = io.BytesIO()
    Image.new("RGB", size, "purple").save(buf, fmt)
    path.write_bytes(buf.getvalue())
    return path


def assert_invalid(code: int, document: dict) -> list[str]:
    assert code == 2
    assert document["ok"] is False
    assert document["errors"] and all(isinstance(e, str) and e for e in document["errors"])
    return document["errors"]


# ----------------------------------------------------------------------------- expand


def test_expand_prints_every_variation_with_prompt_label_and_params(capsys):
    code, document, _ = run(capsys, "expand", "a fox in {snow|rain}, {slow push-in|static wide shot}")
    assert code == 0
    assert list(document) == ["variations"]
    variations = document["variations"]
    assert [v["prompt"] for v in variations] == [
        "a fox in snow, slow push-in", "a fox in snow, static wide shot",
        "a fox in rain, slow push-in", "a fox in rain, static wide shot",
    ]
    assert [v["label"] for v in variations] == [
        "snow · slow push-in", "snow · static wide shot", "rain · slow push-in", "rain · static wide shot",
    ]
    assert all({"prompt", "label", "params"} <= set(v) for v in variations)


def test_expand_params_carry_the_options_and_sweeps(capsys):
    code, document, _ = run(capsys, "expand", "a fox", "--provider", "kling", "--mode", "std",
                            "--duration", "10", "--aspect-ratio", "9:16", "--sweep", "audio=on,off")
    assert code == 0
    params = [v["params"] for v in document["variations"]]
    assert [p["audio"] for p in params] == [True, False]
    assert {(p["provider"], p["mode"], p["duration"], p["aspect_ratio"]) for p in params} == {
        ("kling", "std", 10, "9:16"),
    }


def test_expand_sweep_of_providers_sets_each_take_provider(capsys):
    code, document, _ = run(capsys, "expand", "a fox", "--sweep", "provider=fal,kling")
    assert code == 0
    assert [v["params"]["provider"] for v in document["variations"]] == ["fal", "kling"]


def test_expand_with_a_variable(capsys):
    code, document, _ = run(capsys, "expand", "a fox, {camera}", "--var", "camera=pan left|tilt up")
    assert code == 0
    assert [v["prompt"] for v in document["variations"]] == ["a fox, pan left", "a fox, tilt up"]


def test_expand_accepts_json_before_the_command(capsys):
    code = main(["--json", "expand", "{a|b}"])
    out = capsys.readouterr().out
    assert code == 0
    assert len(json.loads(out)["variations"]) == 2


def test_expand_without_json_prints_one_line_per_variation(capsys):
    code = main(["expand", "{a|b}"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == ["a\ta", "b\tb"]


def test_expand_of_more_than_ten_refuses_with_the_count(capsys):
    code, document, _ = run(capsys, "expand", "{a|b|c} {d|e}", "--sweep", "audio=on,off")
    errors = assert_invalid(code, document)
    assert any("12 variations" in e for e in errors)


def test_expand_of_exactly_ten_is_allowed(capsys):
    code, document, _ = run(capsys, "expand", "{a|b|c|d|e} {f|g}")
    assert code == 0 and len(document["variations"]) == 10


def test_expand_of_a_malformed_template_is_invalid(capsys):
    code, document, _ = run(capsys, "expand", "a fox in {snow|rain")
    assert any("never closed" in e for e in assert_invalid(code, document))


def test_non_finite_cfg_scale_is_refused_and_output_stays_strict_json(capsys):
    for value in ("nan", "inf", "-inf"):
        code, document, _ = run(capsys, "expand", "a fox", "--cfg-scale", value)
        assert any("cfg-scale" in e for e in assert_invalid(code, document))


# ----------------------------------------------------------------------------- estimate


def test_estimate_on_fal_with_audio_prices_each_5_second_clip_at_70_cents(capsys):
    code, document, _ = run(capsys, "estimate", "a fox in {snow|rain|fog}", "--provider", "fal", "--audio")
    assert code == 0
    assert document["provider"] == "fal"
    assert document["currency"] == "USD"
    assert [i["label"] for i in document["items"]] == ["snow", "rain", "fog"]
    assert [i["prompt"] for i in document["items"]] == ["a fox in snow", "a fox in rain", "a fox in fog"]
    assert [i["price"] for i in document["items"]] == [pytest.approx(0.70)] * 3
    assert document["total"] == pytest.approx(2.10)


def test_estimate_on_fal_silent_and_10_seconds(capsys):
    code, document, _ = run(capsys, "estimate", "a fox", "--provider", "fal", "--duration", "10")
    assert code == 0
    assert [i["price"] for i in document["items"]] == [pytest.approx(0.70)]
    assert document["total"] == pytest.approx(0.70)


def test_estimate_with_an_audio_sweep_prices_each_take(capsys):
    code, document, _ = run(capsys, "estimate", "a fox", "--provider", "fal", "--sweep", "audio=off,on")
    assert code == 0
    assert [(i["label"], i["price"]) for i in document["items"]] == [
        ("audio off", pytest.approx(0.35)), ("audio on", pytest.approx(0.70)),
    ]
    assert document["total"] == pytest.approx(1.05)


def test_estimate_on_the_animatic_is_free(capsys):
    code, document, _ = run(capsys, "estimate", "{a|b}", "--provider", "animatic")
    assert code == 0
    assert [i["price"] for i in document["items"]] == [0, 0]
    assert document["total"] == 0


def test_estimate_of_a_request_the_host_refuses_is_invalid(capsys):
    code, document, _ = run(capsys, "estimate", "a fox", "--provider", "kie", "--negative-prompt", "blur")
    assert any("negative prompt" in e for e in assert_invalid(code, document))


def test_estimate_of_more_than_ten_is_invalid(capsys):
    code, document, _ = run(capsys, "estimate", "{a|b|c|d|e|f|g|h|i|j|k}", "--provider", "fal")
    assert any("11 variations" in e for e in assert_invalid(code, document))


# ----------------------------------------------------------------------------- validate


@pytest.mark.parametrize("provider", list(CAPABILITIES))
def test_validate_a_good_prompt_is_ok_with_exit_0(capsys, provider):
    code, document, _ = run(capsys, "validate", "a fox in the snow", "--provider", provider)
    assert code == 0
    assert document == {"ok": True, "errors": []}


def test_validate_a_too_long_prompt_on_kie_is_not_ok_with_exit_2(capsys):
    code, document, _ = run(capsys, "validate", "k" * 1001, "--provider", "kie")
    assert code == 2
    assert document["ok"] is False
    assert len(document["errors"]) == 1 and "1,001" in document["errors"][0]


def test_validate_reports_every_problem(capsys):
    code, document, _ = run(capsys, "validate", " ", "--provider", "kling", "--mode", "std", "--audio",
                            "--cfg-scale", "1.5", "--duration", "7")
    assert code == 2
    assert len(document["errors"]) == 4


def test_validate_with_a_valid_start_frame_file_is_ok(capsys, tmp_path):
    start = write_image(tmp_path / "start.png")
    code, document, _ = run(capsys, "validate", "a fox", "--provider", "fal", "--start-frame", str(start))
    assert (code, document) == (0, {"ok": True, "errors": []})


def test_validate_with_start_and_end_frames_on_fal_is_ok(capsys, tmp_path):
    start, end = write_image(tmp_path / "a.png"), write_image(tmp_path / "b.jpg", fmt="JPEG")
    code, document, _ = run(capsys, "validate", "a fox", "--provider", "fal", "--start-frame", str(start),
                            "--end-frame", str(end))
    assert (code, document) == (0, {"ok": True, "errors": []})


def test_validate_with_a_small_start_frame_names_its_size(capsys, tmp_path):
    start = write_image(tmp_path / "small.png", (200, 200))
    code, document, _ = run(capsys, "validate", "a fox", "--provider", "fal", "--start-frame", str(start))
    errors = assert_invalid(code, document)
    assert any("200×200" in e for e in errors)


# ----------------------------------------------------------------------------- bad input: exit 2, JSON errors only


@pytest.mark.parametrize("command", ["expand", "estimate", "validate"])
def test_unknown_provider_is_invalid(capsys, command):
    code, document, _ = run(capsys, command, "a fox", "--provider", "midjourney")
    errors = assert_invalid(code, document)
    assert any("midjourney" in e for e in errors)


@pytest.mark.parametrize("command", ["expand", "estimate", "validate"])
def test_unreadable_start_frame_path_is_invalid(capsys, tmp_path, command):
    missing = tmp_path / "nope.png"
    code, document, _ = run(capsys, command, "a fox", "--provider", "fal", "--start-frame", str(missing))
    errors = assert_invalid(code, document)
    assert any("could not be read" in e and "nope.png" in e for e in errors)


def test_a_directory_as_start_frame_is_invalid(capsys, tmp_path):
    code, document, _ = run(capsys, "validate", "a fox", "--start-frame", str(tmp_path))
    assert any("could not be read" in e for e in assert_invalid(code, document))


@pytest.mark.parametrize("command", ["expand", "estimate", "validate"])
def test_corrupt_frame_file_is_invalid(capsys, tmp_path, command):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    code, document, _ = run(capsys, command, "a fox", "--provider", "fal", "--start-frame", str(bad))
    errors = assert_invalid(code, document)
    assert any(e.startswith("The start frame") for e in errors)


def test_gif_renamed_png_end_frame_is_invalid(capsys, tmp_path):
    start = write_image(tmp_path / "start.png")
    gif = write_image(tmp_path / "end.png", fmt="GIF")
    code, document, _ = run(capsys, "validate", "a fox", "--provider", "fal", "--start-frame", str(start),
                            "--end-frame", str(gif))
    errors = assert_invalid(code, document)
    assert errors == ["The end frame is GIF, not JPG or PNG; save it as JPG or PNG."]


def test_empty_frame_file_is_invalid(capsys, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, document, _ = run(capsys, "validate", "a fox", "--start-frame", str(empty))
    assert assert_invalid(code, document) == ["The start frame is an empty file."]


@pytest.mark.parametrize(
    ("sweep", "phrase"),
    [
        ("audio=maybe", "maybe"),
        ("cfg_scale=high", "high"),
        ("seed=1,2", "can't be swept"),
        ("audio", "KEY=V1,V2"),
        ("duration=", "no values"),
        ("provider=fal,nowhere", "nowhere"),
        ("cfg_scale=0.5,0.5", "repeats"),
    ],
)
@pytest.mark.parametrize("command", ["expand", "estimate"])
def test_bad_sweep_is_invalid(capsys, command, sweep, phrase):
    code, document, _ = run(capsys, command, "a fox", "--sweep", sweep)
    errors = assert_invalid(code, document)
    assert any(phrase in e for e in errors), errors


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "a fox", "--duration", "five"],
        ["validate", "a fox", "--mode", "turbo"],
        ["validate", "a fox", "--aspect-ratio", "4:3"],
        ["validate", "a fox", "--cfg-scale", "lots"],
        ["validate", "a fox", "--audio", "--no-audio"],
        ["expand"],
        ["estimate", "a fox", "--unknown-flag"],
        ["teleport", "a fox"],
    ],
)
def test_bad_command_line_is_invalid_with_json_errors(capsys, argv):
    code, document, _ = run(capsys, *argv)
    assert_invalid(code, document)


def test_validate_without_json_prints_its_problems_as_plain_text(capsys):
    code = main(["validate", "a fox", "--provider", "midjourney"])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("“midjourney” is not a provider")
    with pytest.raises(ValueError):
        json.loads(out)


def test_errors_for_bad_parameters_without_json_go_to_stderr(capsys):
    code = main(["expand", "a {fox", "--provider", "fal"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "never closed" in captured.err


def test_cli_reads_keys_from_the_project_secrets_file_and_lets_the_environment_win(tmp_path, monkeypatch):
    from kling_lab.cli import _project_secrets
    from kling_lab.config import load_settings

    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('FAL_KEY = "file-key"\nKIE_API_KEY = "file-kie"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FAL_KEY", raising=False)
    monkeypatch.setenv("KIE_API_KEY", "env-kie")
    settings = load_settings(secrets=_project_secrets())
    assert settings.key_source("fal") == "secrets file"
    assert settings.credentials("kie") == {"KIE_API_KEY": "env-kie"}
