"""Sequence exports read back by independent readers: OTIO, the cmx_3600 adapter, ElementTree, zipfile."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from kling_lab.sequences.export import EXPORT_FORMATS, export_cut
from kling_lab.sequences.frames import last_frame_png
from kling_lab.sequences.model import Cut, CutShot, Marker

FPS = 24


def make_clip(path: Path, *, seconds: float, width: int = 320, height: int = 180, audio: bool = False,
              colour: tuple[int, int, int] = (200, 60, 40)) -> Path:
    """A small H.264 clip at 24 fps (a brightening colour field, frame n's red channel = n), with a tone if asked."""
    frames = round(seconds * FPS)
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        sound = container.add_stream("aac", rate=48000, layout="mono") if audio else None
        for n in range(frames):
            rgb = np.zeros((height, width, 3), dtype=np.uint8)
            rgb[:] = colour
            rgb[: height // 4, :, 1] = min(255, n * 2)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = n
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            t = np.arange(round(seconds * 48000)) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for at in range(0, tone.size, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, at:at + 1024].copy(), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, at
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return path


def cut_shot(index: int, clip: Path, *, trim_in: int, trim_out: int, source_frames: int, width: int = 320,
             height: int = 180, audio: bool = False, markers: tuple[Marker, ...] = (), status: str | None = None,
             prompt: str = "rain & <b>fog</b>") -> CutShot:
    code = f"SH{(index + 1) * 10:03d}"
    job = f"j_{index:012d}"
    return CutShot(shot_id=f"h_{index}", code=code, name="", take_code=f"T00{index + 1}", job_id=job,
                   clip_path=clip, media_name=f"media/{code}_T00{index + 1}_{job}.mp4",
                   source_frames=source_frames, trim_in=trim_in, trim_out=trim_out, width=width, height=height,
                   has_audio=audio, prompt=f"{prompt} {index}", host="Kie.ai", provider="kie",
                   cost=f"0.{index + 1}5", status=status, markers=markers)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("clips")
    return {"a": make_clip(work / "a.mp4", seconds=2.0, audio=True),
            "b": make_clip(work / "b.mp4", seconds=2.0, colour=(40, 60, 200)),
            "tall": make_clip(work / "tall.mp4", seconds=1.0, width=180, height=320, colour=(250, 250, 250))}


@pytest.fixture(scope="module")
def cut(clips: dict[str, Path]) -> Cut:
    comment = Marker(at=0.5, until=1.0, author="Ann <i>", text="too <b>dark</b>\nfix & relight")
    status = Marker(at=0.25, until=None, author="Bob", text="Approved", kind="status")
    shots = (
        cut_shot(0, clips["a"], trim_in=6, trim_out=30, source_frames=48, audio=True, markers=(comment, status),
                 status="approved"),
        cut_shot(1, clips["b"], trim_in=0, trim_out=48, source_frames=48),
        cut_shot(2, clips["a"], trim_in=12, trim_out=13, source_frames=48, audio=True),
    )
    return Cut(sequence_id="s_1", name="Opening one", shots=shots)


EXPECTED = [("SH010 T001", 6, 24), ("SH020 T002", 0, 48), ("SH030 T003", 12, 1)]


def test_otio_reads_back_order_durations_metadata_and_markers(cut: Cut, tmp_path: Path) -> None:
    import opentimelineio as otio

    out = export_cut(cut, "otio", tmp_path / "cut.otio")
    timeline = otio.adapters.read_from_file(str(out))
    video = timeline.video_tracks()[0]
    clips = list(video.find_clips())
    assert [(c.name, c.source_range.start_time.to_frames(), c.duration().to_frames()) for c in clips] == EXPECTED
    assert [c.media_reference.target_url for c in clips] == [s.media_name for s in cut.shots]
    meta = clips[0].metadata["kling_lab"]
    assert (meta["prompt"], meta["host"], meta["cost_usd"], meta["kling_lab_take_id"]) == (
        "rain & <b>fog</b> 0", "Kie.ai", "0.15", "j_000000000000")
    comment, status = clips[0].markers
    assert comment.marked_range.start_time.to_frames() == 12 and comment.marked_range.duration.to_frames() == 12
    assert comment.comment == "too <b>dark</b>\nfix & relight" and comment.name.startswith("Ann <i>: too")
    assert status.color == otio.schema.MarkerColor.GREEN and "Approved" in status.name
    assert status.marked_range.start_time.to_frames() == 6
    audio = timeline.audio_tracks()[0]
    assert [type(i).__name__ for i in audio] == ["Clip", "Gap", "Clip"]
    assert timeline.duration().to_frames() == cut.total_frames == 73


def test_the_cmx_adapter_reads_the_edl_back_in_order_and_contiguous(cut: Cut, tmp_path: Path) -> None:
    import opentimelineio as otio

    out = export_cut(cut, "edl", tmp_path / "cut.edl")
    text = out.read_text()
    timeline = otio.adapters.read_from_file(str(out), "cmx_3600", rate=FPS)
    clips = list(timeline.find_clips())
    assert [(c.name, c.source_range.start_time.to_frames() % (3600 * FPS), c.duration().to_frames())
            for c in clips] == EXPECTED
    events = [line.split() for line in text.splitlines() if re.match(r"^\d{3}\s", line)]
    assert [e[1] for e in events] == ["SH010", "SH020", "SH030"] and all(len(e[1]) <= 8 for e in events)
    record = [(otio.opentime.from_timecode(e[6], FPS).to_frames(), otio.opentime.from_timecode(e[7], FPS).to_frames())
              for e in events]
    assert all(record[i][1] == record[i + 1][0] for i in range(len(record) - 1))
    assert record[-1][1] - record[0][0] == cut.total_frames
    assert "* FROM CLIP: media/SH010_T001_j_000000000000.mp4" in text
    assert len(clips[0].markers) == 2 and "\n* LOC" in text


def test_fcp7_xml_has_clipitems_in_order_with_in_out_start_end_and_logging_info(cut: Cut, tmp_path: Path) -> None:
    out = export_cut(cut, "fcp7xml", tmp_path / "cut.xml")
    root = ET.parse(out).getroot()  # noqa: S314 - our own export
    assert root.tag == "xmeml"
    sequence = root.find(".//sequence")
    assert sequence is not None and sequence.findtext("duration") == "73"
    items = sequence.findall("./media/video/track")[0].findall("clipitem")
    got = [(i.findtext("name"), int(i.findtext("in")), int(i.findtext("out")), int(i.findtext("start")),
            int(i.findtext("end"))) for i in items]
    assert got == [("SH010 T001", 6, 30, 0, 24), ("SH020 T002", 0, 48, 24, 72), ("SH030 T003", 12, 13, 72, 73)]
    first = items[0]
    assert first.findtext("logginginfo/description") == "rain & <b>fog</b> 0"
    assert first.findtext("logginginfo/scene") == "SH010" and first.findtext("logginginfo/shottake") == "T001"
    assert "Kie.ai" in first.findtext("logginginfo/lognote") and "j_000000000000" in first.findtext(
        "logginginfo/lognote")
    assert first.findtext("comments/mastercomment3") == "0.15"
    assert first.findtext("file/pathurl") == "media/SH010_T001_j_000000000000.mp4"
    marker = first.findall("marker")[0]
    assert (marker.findtext("in"), marker.findtext("out"), marker.findtext("comment")) == (
        "12", "24", "too <b>dark</b>\nfix & relight")
    assert b"<b>" not in out.read_bytes()  # the markup is escaped text, never elements


def _seconds(value: str) -> Fraction:
    assert value.endswith("s")
    return Fraction(value[:-1])


def test_fcpxml_has_clips_with_rational_offsets_durations_and_metadata(cut: Cut, tmp_path: Path) -> None:
    out = export_cut(cut, "fcpxml", tmp_path / "cut.fcpxml")
    root = ET.parse(out).getroot()  # noqa: S314 - our own export
    assert root.tag == "fcpxml"
    fmt = root.find("./resources/format")
    assert fmt is not None and _seconds(fmt.get("frameDuration")) == Fraction(1, 24)
    assets = {a.get("id"): a for a in root.findall("./resources/asset")}
    spine = root.find(".//sequence/spine")
    clips = [c for c in spine if c.tag in ("clip", "asset-clip")]
    got = [(c.get("name"), _seconds(c.get("offset")) * FPS, _seconds(c.get("start", "0s")) * FPS,
            _seconds(c.get("duration")) * FPS) for c in clips]
    assert got == [("SH010 T001", 0, 6, 24), ("SH020 T002", 24, 0, 48), ("SH030 T003", 72, 12, 1)]
    refs = [(c.find("video").get("ref") if c.tag == "clip" else c.get("ref")) for c in clips]
    assert [assets[r].get("src") for r in refs] == [s.media_name for s in cut.shots]
    first = clips[0]
    assert first.findtext("note") == "rain & <b>fog</b> 0"
    md = {m.get("key"): m.get("value") for m in first.findall("metadata/md")}
    assert md["com.klinglab.kling_lab_take_id"] == "j_000000000000" and md["com.klinglab.cost_usd"] == "0.15"
    assert md["com.klinglab.host"] == "Kie.ai" and md["com.klinglab.status"] == "approved"
    marker = first.find("marker")
    assert _seconds(marker.get("start")) == Fraction(1, 2) and marker.get("note") == "too <b>dark</b>\nfix & relight"


def test_the_zip_holds_every_timeline_and_the_media_they_reference(cut: Cut, tmp_path: Path) -> None:
    out = export_cut(cut, "zip", tmp_path / "cut.zip")
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        assert {"Opening-one.otio", "Opening-one.xml", "Opening-one.fcpxml", "Opening-one.edl",
                "manifest.json"} <= names
        media = {n for n in names if n.startswith("media/")}
        assert media == {s.media_name for s in cut.shots}
        for name in ("Opening-one.otio", "Opening-one.xml", "Opening-one.fcpxml", "Opening-one.edl"):
            text = archive.read(name).decode()
            referenced = set(re.findall(r"media/[A-Za-z0-9_]+\.mp4", text))
            assert referenced == media, name
        manifest = json.loads(archive.read("manifest.json"))
        assert [s["code"] for s in manifest["shots"]] == ["SH010", "SH020", "SH030"]
        assert manifest["frames"] == 73 and manifest["shots"][0]["markers"][0]["author"] == "Ann <i>"
        assert archive.read(cut.shots[1].media_name) == cut.shots[1].clip_path.read_bytes()


def test_bad_input_is_a_sentence_and_leaves_nothing(cut: Cut, clips: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no shots"):
        export_cut(Cut(sequence_id="s_2", name="Empty", shots=()), "otio", tmp_path / "empty.otio")
    with pytest.raises(ValueError, match="not an export format"):
        export_cut(cut, "mov", tmp_path / "cut.mov")
    assert set(EXPORT_FORMATS) == {"otio", "fcp7xml", "fcpxml", "edl", "mp4", "zip"}
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(clips["b"].read_bytes())
    shots = (cut.shots[0], cut_shot(1, gone, trim_in=0, trim_out=48, source_frames=48))
    broken = Cut(sequence_id="s_3", name="Broken", shots=shots)
    gone.unlink()
    for fmt in ("zip", "mp4"):
        with pytest.raises(ValueError, match="SH020.*no longer on disk"):
            export_cut(broken, fmt, tmp_path / f"broken.{fmt}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_clip_vanishing_mid_zip_leaves_no_file_and_no_temp(cut: Cut, clips: dict[str, Path], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from kling_lab.sequences import export

    real = export.manifest

    def vanish(c: Cut) -> dict:  # the check passed; the file goes before its copy
        c.shots[1].clip_path.unlink()
        return real(c)

    spare = tmp_path / "src" / "b.mp4"
    spare.parent.mkdir()
    spare.write_bytes(clips["b"].read_bytes())
    shaky = Cut(sequence_id="s_4", name="Shaky", shots=(cut.shots[0], cut_shot(
        1, spare, trim_in=0, trim_out=48, source_frames=48)))
    monkeypatch.setattr(export, "manifest", vanish)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ValueError, match="SH020 could not be read"):
        export_cut(shaky, "zip", out_dir / "shaky.zip")
    assert list(out_dir.iterdir()) == []


def test_last_frame_png_is_the_clips_last_frame(clips: dict[str, Path], tmp_path: Path) -> None:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(last_frame_png(clips["b"])))
    assert image.format == "PNG" and image.size == (320, 180)
    top = np.asarray(image.convert("RGB"))[5, 5]
    assert abs(int(top[1]) - 47 * 2) <= 8  # the green of frame 47, the last of 48
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="could not be read as a video"):
        last_frame_png(bad)
    with pytest.raises(ValueError, match="not on disk"):
        last_frame_png(tmp_path / "missing.mp4")
