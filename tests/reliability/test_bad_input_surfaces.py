"""Bad input through the two surfaces people type into: the `kling-lab` command and the Compose page.

CLI: every bad value ends with exit code 2 and exactly one JSON document on
stdout (valid UTF-8) carrying "errors", nothing written to the store, and no
HTTP request at all (httpx's send is a tripwire here).
Compose: every bad value shows an error, raises nothing, and leaves Generate
disabled.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import streamlit as st
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from PIL import Image
from streamlit.testing.v1 import AppTest

from kling_lab.capabilities import ASPECT_RATIOS, MODES
from kling_lab.cli import main
from kling_lab.store import Store
from tests.reliability.helpers import is_human_reason

ROOT = Path(__file__).resolve().parents[2]
KEY_NAMES = ("KIE_API_KEY", "REPLICATE_API_TOKEN", "AIMLAPI_API_KEY", "FAL_KEY", "INFERENCE_API_KEY",
             "KLING_ACCESS_KEY", "KLING_SECRET_KEY")
TRIED: Counter[str] = Counter()
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class NetworkUsed(AssertionError):
    pass


def _tripwire(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise NetworkUsed("bad input reached an HTTP request")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpx.Client, "send", _tripwire)
    monkeypatch.setattr(httpx.AsyncClient, "send", _tripwire)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nbad inputs tried: {sum(TRIED.values())} ({dict(TRIED)})")


def test_the_network_tripwire_is_armed() -> None:
    with httpx.Client() as client, pytest.raises(NetworkUsed):
        client.get("http://127.0.0.1:9/")


# ----------------------------------------------------------------------------- frame files


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), 0).save(buffer, "PNG")
    return buffer.getvalue()


def _saved(image_format: str, size: tuple[int, int] = (640, 360)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, image_format)
    return buffer.getvalue()


def _png_bomb(side: int = 20_000) -> bytes:
    """A valid 20,000×20,000 greyscale PNG of a few hundred KB (pillow takes seconds to encode one, so zlib does)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\0" * (side + 1)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bad_frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Frame files that must each be refused, written once for the module."""
    folder = tmp_path_factory.mktemp("frames")
    good = _png(640, 360)
    bomb = _png_bomb()
    # Pillow reads it as a real 20,000×20,000 PNG (and, past twice its pixel limit, refuses to open it).
    with pytest.raises(Image.DecompressionBombError, match="400000000 pixels"):
        Image.open(io.BytesIO(bomb))
    contents = {
        "corrupt.png": b"\x89PNG\r\n\x1a\n" + b"\xde\xad\xbe\xef" * 500,
        "truncated.png": good[: len(good) // 2],
        "one-pixel.png": _png(1, 1),
        "thin.png": _png(1200, 200),
        "gif-as.png": _saved("GIF"),
        "webp-as.png": _saved("WEBP"),
        "svg-as.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360"><rect/></svg>',
        "empty.png": b"",
        "text-as.jpg": b"a fox, not a picture",
        "bomb.png": bomb,
    }
    paths = {}
    for name, data in contents.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    (folder / "a-folder.png").mkdir()
    paths["a-folder.png"] = folder / "a-folder.png"
    paths["missing.png"] = folder / "missing.png"
    paths["non-utf8-name.png"] = folder / "\udcff\udcfe.png"  # a name whose bytes are not UTF-8, and absent
    return paths


# ----------------------------------------------------------------------------- the CLI


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str], data_dir: Path, kind: str) -> dict:
    """Run the command with bad input and check the promises of exit code 2; returns the JSON document."""
    TRIED[kind] += 1
    capsys.readouterr()
    code = main(argv)
    out, _err = capsys.readouterr()
    assert code == 2, (argv[:3], code, out[:300])
    out.encode("utf-8")  # strict: the document must be valid UTF-8 for any JSON reader
    assert out.endswith("\n") and out.count("\n") == 1, out[:300]
    document = json.loads(out)  # exactly one document: a second one would not parse
    assert document["ok"] is False
    assert document["errors"] and all(isinstance(e, str) for e in document["errors"]), document
    for error in document["errors"]:
        assert is_human_reason(error) and "codec" not in error, error
    database = data_dir / "kling_lab.sqlite3"
    if database.exists():
        assert Store(database).list_jobs(include_deleted=True) == [], "bad input was queued"
    return document


REQUEST_CASES: list[tuple[str, list[str]]] = [
    ("huge prompt", ["x" * 2_501]),
    ("huge emoji prompt", ["🦊" * 2_600]),
    ("huge accented prompt", ["é" * 10_000]),
    ("empty prompt", [""]),
    ("blank prompt", [" \n\t "]),
    ("prompt not UTF-8", ["a fox \udcff\udcfe in the snow"]),
    ("negative prompt not UTF-8", ["a fox", "--negative-prompt", "\udcc3"]),
    ("huge negative prompt", ["a fox", "--negative-prompt", "blur " * 1_000]),
    ("cfg nan", ["a fox", "--cfg-scale", "nan"]),
    ("cfg NaN", ["a fox", "--cfg-scale=NaN"]),
    ("cfg inf", ["a fox", "--cfg-scale", "inf"]),
    ("cfg -inf", ["a fox", "--cfg-scale=-inf"]),
    ("cfg Infinity", ["a fox", "--cfg-scale", "Infinity"]),
    ("cfg overflow", ["a fox", "--cfg-scale", "1e309"]),
    ("cfg negative", ["a fox", "--cfg-scale=-0.5"]),
    ("cfg above one", ["a fox", "--cfg-scale", "1.5"]),
    ("cfg word", ["a fox", "--cfg-scale", "high"]),
    ("cfg empty", ["a fox", "--cfg-scale", ""]),
    ("duration 7", ["a fox", "--duration", "7"]),
    ("duration 0", ["a fox", "--duration", "0"]),
    ("duration negative", ["a fox", "--duration=-5"]),
    ("duration float", ["a fox", "--duration", "5.0"]),
    ("duration huge", ["a fox", "--duration", "9" * 40]),
    ("duration word", ["a fox", "--duration", "five"]),
    ("aspect 4:3", ["a fox", "--aspect-ratio", "4:3"]),
    ("aspect slash", ["a fox", "--aspect-ratio", "16/9"]),
    ("aspect empty", ["a fox", "--aspect-ratio", ""]),
    ("mode ultra", ["a fox", "--mode", "ultra"]),
    ("mode upper", ["a fox", "--mode", "PRO"]),
    ("provider unknown", ["a fox", "--provider", "nope"]),
    ("provider empty", ["a fox", "--provider", ""]),
    ("audio in std", ["a fox", "--mode", "std", "--audio"]),
    ("seed negative", ["a fox", "--seed=-1"]),
    ("seed huge", ["a fox", "--seed", str(2**31)]),
    ("seed word", ["a fox", "--seed", "lucky"]),
    ("three voices", ["a fox", "--provider", "kling", "--voice-id", "a", "--voice-id", "b", "--voice-id", "c"]),
    ("missing option value", ["a fox", "--duration"]),
    ("unknown option", ["a fox", "--colour", "red"]),
]
FRAME_NAMES = ["corrupt.png", "truncated.png", "one-pixel.png", "thin.png", "gif-as.png", "webp-as.png",
               "svg-as.png", "empty.png", "text-as.jpg", "bomb.png", "a-folder.png", "missing.png",
               "non-utf8-name.png"]
TEMPLATE_CASES: list[tuple[str, list[str]]] = [
    ("unclosed brace", ["a fox in {snow|rain"]),
    ("stray close brace", ["a fox in snow}"]),
    ("too many variations", ["{a|b|c|d} fox {e|f|g}"]),
    ("unknown variable", ["a fox in {weather}"]),
    ("var without values", ["a fox in {w}", "--var", "w"]),
    ("var without name", ["a fox in {w}", "--var", "=snow|rain"]),
    ("var not UTF-8", ["a fox in {w}", "--var", "w=sn\udcffow|rain"]),
    ("sweep cfg nan", ["a fox", "--sweep", "cfg_scale=nan,0.5"]),
    ("sweep cfg out of range", ["a fox", "--sweep", "cfg_scale=0.2,7"]),
    ("sweep bad key", ["a fox", "--sweep", "colour=red,blue"]),
    ("sweep bad duration", ["a fox", "--sweep", "duration=5,7"]),
    ("sweep bad aspect", ["a fox", "--sweep", "aspect_ratio=4:3,1:1"]),
    ("sweep bad provider", ["a fox", "--sweep", "provider=nope,fal"]),
    ("sweep no values", ["a fox", "--sweep", "cfg_scale"]),
    ("sweep too many", ["{a|b|c} fox", "--sweep", "duration=5,10", "--sweep", "aspect_ratio=16:9,1:1"]),
]


@pytest.fixture
def cli_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAL_KEY", "cli-test-key")  # a paid host with a key: only the bad input may stop it
    return data_dir


@pytest.mark.parametrize("command", ["validate", "estimate", "generate"])
@pytest.mark.parametrize(("what", "args"), REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_cli_refuses_a_bad_request_value(cli_env, capsys, command, what, args) -> None:
    extra = [] if "--provider" in args else ["--provider", "fal" if command != "validate" else "kling"]
    _cli([command, *args, *extra, "--json"], capsys, cli_env, what)


@pytest.mark.parametrize("command", ["validate", "estimate", "generate"])
@pytest.mark.parametrize("frame", FRAME_NAMES)
def test_cli_refuses_a_bad_frame_file(cli_env, capsys, bad_frames, command, frame) -> None:
    document = _cli([command, "a fox turns to the camera", "--provider", "fal", "--start-frame",
                     str(bad_frames[frame]), "--json"], capsys, cli_env, f"frame {frame}")
    assert any("start frame" in e for e in document["errors"]), document


def test_cli_refuses_an_end_frame_without_a_start_frame(cli_env, capsys, tmp_path) -> None:
    frame = tmp_path / "end.png"
    frame.write_bytes(_png(640, 360))
    _cli(["generate", "a fox", "--provider", "fal", "--end-frame", str(frame), "--json"], capsys, cli_env,
         "end frame alone")


@pytest.mark.parametrize("command", ["expand", "estimate", "generate"])
@pytest.mark.parametrize(("what", "args"), TEMPLATE_CASES, ids=[c[0] for c in TEMPLATE_CASES])
def test_cli_refuses_a_bad_template(cli_env, capsys, command, what, args) -> None:
    _cli([command, *args, "--provider", "fal", "--json"], capsys, cli_env, what)


@pytest.mark.parametrize("budget", ["-5", "nan", "inf", "lots", "\udcff"])
def test_cli_refuses_a_bad_budget(cli_env, capsys, budget) -> None:
    _cli(["generate", "a fox", "--provider", "fal", "--budget", budget, "--json"], capsys, cli_env, "budget")


# Text a terminal can send: any code point but lone surrogates (those are tested above) and the template syntax.
typed = hst.characters(blacklist_categories=("Cs",), blacklist_characters="{}|")


@PROPERTY
@given(prompt=hst.text(typed, min_size=2_501, max_size=6_000), command=hst.sampled_from(["validate", "estimate",
                                                                                         "generate"]))
def test_cli_refuses_any_huge_prompt(cli_env, capsys, prompt, command) -> None:
    _cli([command, prompt, "--provider", "fal", "--json"], capsys, cli_env, "random huge prompt")


@PROPERTY
@given(cfg=hst.one_of(hst.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 <= x <= 1),
                      hst.text(max_size=12).filter(lambda t: not _is_unit_number(t))))
def test_cli_refuses_any_cfg_scale_outside_zero_to_one(cli_env, capsys, cfg) -> None:
    _cli(["validate", "a fox", "--provider", "kling", f"--cfg-scale={cfg}", "--json"], capsys, cli_env,
         "random cfg_scale")


@PROPERTY
@given(duration=hst.one_of(hst.integers().filter(lambda d: d not in (5, 10)), hst.text(max_size=8)
                           .filter(lambda t: t.strip() not in ("5", "10", "+5", "+10") and not _is_five_or_ten(t))))
def test_cli_refuses_any_other_duration(cli_env, capsys, duration) -> None:
    _cli(["estimate", "a fox", "--provider", "fal", f"--duration={duration}", "--json"], capsys, cli_env,
         "random duration")


@PROPERTY
@given(aspect=hst.text(max_size=10).filter(lambda t: t not in ASPECT_RATIOS),
       mode=hst.text(max_size=6).filter(lambda t: t not in MODES))
def test_cli_refuses_any_other_aspect_ratio_or_mode(cli_env, capsys, aspect, mode) -> None:
    _cli(["generate", "a fox", "--provider", "fal", f"--aspect-ratio={aspect}", "--json"], capsys, cli_env,
         "random aspect ratio")
    _cli(["validate", "a fox", "--provider", "fal", f"--mode={mode}", "--json"], capsys, cli_env, "random mode")


@PROPERTY
@given(data=hst.binary(max_size=4_096))
def test_cli_refuses_any_random_bytes_as_a_frame(cli_env, capsys, tmp_path, data) -> None:
    frame = tmp_path / "random.png"
    frame.write_bytes(data)
    _cli(["validate", "a fox", "--provider", "fal", "--start-frame", str(frame), "--json"], capsys, cli_env,
         "random frame bytes")


def _is_unit_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return math.isfinite(value) and 0 <= value <= 1


def _is_five_or_ten(text: str) -> bool:
    try:
        return int(text) in (5, 10)
    except ValueError:
        return False


# ----------------------------------------------------------------------------- Compose


@pytest.fixture
def compose(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """Compose on an empty data dir with no keys: the free animatic, so only bad input can disable Generate."""
    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    assert at.selectbox(key="compose_provider").value == "animatic"
    at.text_area(key="compose_prompt").set_value("a fox turns to the camera").run()
    assert not _generate_disabled(at) and not at.error, "a good prompt must leave Generate enabled"
    yield at
    st.cache_resource.clear()


def _generate_disabled(at: AppTest) -> bool:
    return at.button(key="compose_generate").disabled


def _assert_refused_on_page(at: AppTest, kind: str, *words: str) -> None:
    TRIED[kind] += 1
    assert not at.exception, at.exception
    messages = " ".join(e.value for e in at.error) + " " + " ".join(i.value for i in at.info)
    assert at.error or at.info, f"{kind}: no message shown"
    for word in words:
        assert word in messages, (kind, messages)
    assert _generate_disabled(at), f"{kind}: Generate stays enabled"


COMPOSE_TEXT_CASES = [
    ("huge prompt", "compose_prompt", "a fox " * 500, ["3,000 characters"]),
    ("huge unicode prompt", "compose_prompt", "🦊 雪の中の狐 " * 400, ["characters"]),
    ("unclosed brace", "compose_prompt", "a fox in {snow|rain", ["never closed"]),
    ("too many variations", "compose_prompt", "{a|b|c|d} fox {e|f|g}", ["12 variations"]),
    ("unknown variable", "compose_prompt", "a fox in {weather}", ["weather"]),
    ("variables line without =", "compose_variables", "weather snow | rain", ["line 1"]),
    ("variables bad name", "compose_variables", "2 weather = snow | rain", ["line 1"]),
    ("variables no values", "compose_variables", "weather = | ", ["line 1"]),
    ("variables twice", "compose_variables", "w = a | b\nw = c", ["line 2"]),
    ("sweep cfg nan", "sweep_cfg", "nan, 0.5", ["nan"]),
    ("sweep cfg out of range", "sweep_cfg", "0.2, 7", ["7"]),
]


@pytest.mark.parametrize(("what", "key", "value", "words"), COMPOSE_TEXT_CASES, ids=[c[0] for c in COMPOSE_TEXT_CASES])
def test_compose_shows_an_error_and_disables_generate(compose: AppTest, what, key, value, words) -> None:
    if key == "compose_variables":
        compose.text_area(key="compose_prompt").set_value("a fox in {weather}").run()
    widget = compose.text_input(key=key) if key == "sweep_cfg" else compose.text_area(key=key)
    widget.set_value(value).run()
    _assert_refused_on_page(compose, what, *words)


@PROPERTY
@given(prompt=hst.text(typed, min_size=2_501, max_size=4_000))
def test_compose_refuses_any_huge_prompt(compose: AppTest, prompt: str) -> None:
    compose.text_area(key="compose_prompt").set_value(prompt).run()
    _assert_refused_on_page(compose, "random huge prompt on Compose", "characters")


UPLOADS_THAT_DECODE = {"one-pixel.png": "1×1", "thin.png": "1200×200"}
UPLOADS_THAT_DO_NOT = ["corrupt.png", "truncated.png", "gif-as.png", "webp-as.png", "svg-as.png", "empty.png",
                       "text-as.jpg", "bomb.png"]


@pytest.mark.parametrize("frame", [*UPLOADS_THAT_DECODE, *UPLOADS_THAT_DO_NOT])
def test_compose_shows_an_error_for_a_bad_start_frame_upload(compose: AppTest, bad_frames, data_dir, frame) -> None:
    data = bad_frames[frame].read_bytes()
    compose.file_uploader[0].upload(frame, data, "image/png").run()
    TRIED[f"upload {frame}"] += 1
    assert not compose.exception, compose.exception
    errors = [e.value for e in compose.error]
    assert any("start frame" in e.lower() for e in errors), errors
    assert all(is_human_reason(e) for e in errors), errors
    if frame in UPLOADS_THAT_DECODE:
        assert any(UPLOADS_THAT_DECODE[frame] in e for e in errors), errors
        assert _generate_disabled(compose)
    else:
        assert list((data_dir / "media" / "frames").iterdir()) == [], "an unreadable frame was kept"


@pytest.mark.parametrize("frame", ["corrupt.png", "gif-as.png", "empty.png", "bomb.png"])
def test_compose_disables_generate_for_an_undecodable_start_frame(compose: AppTest, bad_frames, frame) -> None:
    compose.file_uploader[0].upload(frame, bad_frames[frame].read_bytes(), "image/png").run()
    assert compose.error and not compose.exception
    assert _generate_disabled(compose)
