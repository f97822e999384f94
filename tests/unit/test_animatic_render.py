"""Rendered animatics, probed with PyAV: format, timing, motion, subtitles, sound, frames, determinism."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from kling_lab.animatic import AnimaticPlan, AnimaticRenderError, read_progress, render_animatic
from kling_lab.images import inspect_frame
from kling_lab.request import GenerationRequest

LIGHTHOUSE = 'a lighthouse at dusk, slow push-in, a keeper says "We made it."'
OFFICE = 'a quiet office, static, she says "Hello there, how are you today?"'


def _probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.width, video.height),
            "frames": frames,
            "fps": float(video.average_rate),
            "video_seconds": float(video.duration * video.time_base),
            "audio": [(a.codec_context.name, a.rate) for a in container.streams.audio],
        }


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _audio(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray()[0] for frame in container.decode(stream)]
        return np.concatenate(chunks), stream.rate


def _top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset: offset + 4], "big")
        boxes.append(data[offset + 4: offset + 8])
        if size < 8:
            break
        offset += size
    return boxes


def _bright_pixels(frame: np.ndarray, top: float) -> int:
    band = frame[int(frame.shape[0] * top):]
    return int((band.min(axis=2) > 200).sum())


def _png(color: tuple[int, int, int], size: tuple[int, int] = (1200, 800), disc: bool = True) -> bytes:
    """A test frame: a flat colour with white stripes (so pans show) and a yellow disc in the middle."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 100):
        draw.line((x, 0, x, size[1]), fill=(255, 255, 255), width=4)
    if disc:
        cx, cy, r = size[0] / 2, size[1] / 2, min(size) / 5
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(250, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("animatic")


@pytest.fixture(scope="module")
def lighthouse(work: Path) -> tuple[Path, AnimaticPlan]:
    path = work / "lighthouse.mp4"
    plan = render_animatic(GenerationRequest(prompt=LIGHTHOUSE, audio=True), path, progress_path=work / "lh.progress")
    return path, plan


@pytest.fixture(scope="module")
def lighthouse_frames(lighthouse: tuple[Path, AnimaticPlan]) -> list[np.ndarray]:
    return _frames(lighthouse[0])


@pytest.fixture(scope="module")
def lighthouse_silent(work: Path) -> Path:
    path = work / "lighthouse-silent.mp4"
    render_animatic(GenerationRequest(prompt=LIGHTHOUSE, audio=False), path)
    return path


@pytest.fixture(scope="module")
def office(work: Path) -> tuple[Path, AnimaticPlan]:
    path = work / "office.mp4"
    return path, render_animatic(GenerationRequest(prompt=OFFICE, audio=True), path)


def test_lighthouse_is_browser_ready_h264(lighthouse: tuple[Path, AnimaticPlan]) -> None:
    path, plan = lighthouse
    info = _probe(path)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert info["size"] == (640, 360)
    assert info["frames"] == 120
    assert info["fps"] == 24.0
    assert abs(info["video_seconds"] - 5.0) <= 1 / 24
    assert info["audio"] == [("aac", 48000)]
    boxes = _top_level_boxes(path)
    assert boxes.index(b"moov") < boxes.index(b"mdat"), "moov must come first so browsers can stream"
    assert (plan.camera_move, plan.camera_speed, plan.mood, plan.ambience) == ("push_in", "slow", "dusk", "sea")


def test_no_audio_stream_when_audio_is_off(lighthouse_silent: Path) -> None:
    info = _probe(lighthouse_silent)
    assert info["audio"] == []
    assert info["frames"] == 120


def test_audio_does_not_change_the_picture(lighthouse_frames: list[np.ndarray], lighthouse_silent: Path) -> None:
    loud, quiet = lighthouse_frames, _frames(lighthouse_silent)
    assert all(np.array_equal(a, b) for a, b in zip(loud, quiet, strict=True))


def test_cfg_scale_and_negative_prompt_change_nothing(lighthouse_silent: Path, work: Path) -> None:
    path = work / "lighthouse-cfg.mp4"
    request = GenerationRequest(prompt=LIGHTHOUSE, audio=False, cfg_scale=0.9, negative_prompt="blurry, rain")
    render_animatic(request, path)
    assert path.read_bytes() == lighthouse_silent.read_bytes()


def test_camera_push_in_really_moves_and_static_does_not(
    lighthouse_frames: list[np.ndarray], office: tuple[Path, AnimaticPlan]
) -> None:
    top = int(360 * 0.7)  # above the subtitle band
    frames = lighthouse_frames
    moving = np.abs(frames[0][:top].astype(np.int16) - frames[100][:top].astype(np.int16)).mean()
    still = _frames(office[0])
    drift = np.abs(still[0][:top].astype(np.int16) - still[100][:top].astype(np.int16)).mean()
    # A static, weatherless shot differs only by encoder noise (about one level on average).
    assert drift < 1.5
    assert moving > 4.0 and moving > 4 * drift
    assert office[1].camera_move == "static"


def test_subtitle_shows_only_during_its_interval(
    lighthouse: tuple[Path, AnimaticPlan], lighthouse_frames: list[np.ndarray]
) -> None:
    (line,) = lighthouse[1].subtitles
    assert line.text == "We made it."
    frames = lighthouse_frames
    inside = [i for i in range(120) if line.start + 0.2 <= i / 24 < line.end - 0.2]
    outside = [i for i in range(120) if not line.start - 0.05 <= i / 24 < line.end + 0.05]
    assert inside and outside
    for index in inside[:: len(inside) // 5]:
        assert _bright_pixels(frames[index], 0.75) > 150, index
    for index in outside:
        assert _bright_pixels(frames[index], 0.75) < 10, index


def test_corner_label_is_on_every_frame(lighthouse_frames: list[np.ndarray]) -> None:
    for frame in lighthouse_frames[::17]:
        corner = frame[4:26, 4:170]
        assert (corner.min(axis=2) > 200).sum() > 60  # white label text
        assert (corner.max(axis=2) < 40).sum() > 200  # on a dark pill


def test_audio_is_audible_with_a_tone_under_dialogue(office: tuple[Path, AnimaticPlan]) -> None:
    path, plan = office
    samples, rate = _audio(path)
    assert abs(samples.size / rate - 5.0) < 0.1
    assert np.sqrt(np.mean(samples**2)) > 0.01
    (line,) = plan.subtitles

    def rms(a: float, b: float) -> float:
        part = samples[int(a * rate): int(b * rate)]
        return float(np.sqrt(np.mean(part**2)))

    assert rms(line.start + 0.3, line.end - 0.3) > 2 * rms(line.end + 0.05, 5.0)


def test_progress_reaches_one(lighthouse: tuple[Path, AnimaticPlan], work: Path) -> None:
    assert read_progress(work / "lh.progress") == 1.0
    assert not [p for p in work.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_same_request_gives_identical_file(
    lighthouse: tuple[Path, AnimaticPlan], lighthouse_frames: list[np.ndarray], work: Path
) -> None:
    again = work / "lighthouse-again.mp4"
    render_animatic(GenerationRequest(prompt=LIGHTHOUSE, audio=True), again)
    first, second = lighthouse_frames, _frames(again)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert again.read_bytes() == lighthouse[0].read_bytes()


def test_seed_changes_the_draft_but_not_the_plan_reading(work: Path) -> None:
    path = work / "seeded.mp4"
    request = GenerationRequest(prompt="rolling hills, static", seed=1, duration=5, aspect_ratio="1:1")
    render_animatic(request, path)
    other = work / "seeded-2.mp4"
    plan = render_animatic(request.with_changes(seed=2), other)
    assert plan.camera_move == "static" and plan.seed == 2
    assert not np.array_equal(_frames(path)[0], _frames(other)[0])


def test_start_and_end_frames_animate_and_crossfade(work: Path) -> None:
    start, end = _png((30, 60, 140), disc=False), _png((150, 30, 60), disc=False)
    request = GenerationRequest(
        prompt='pan right over the flower, she says "Look."', aspect_ratio="9:16",
        start_frame=inspect_frame(start).ref, end_frame=inspect_frame(end, "The end frame").ref,
    )
    path = work / "photo.mp4"
    plan = render_animatic(request, path, start_frame=start, end_frame=end)
    assert plan.picture == "start and end frames" and plan.camera_move == "pan_right"
    info = _probe(path)
    assert info["size"] == (360, 640) and info["frames"] == 120 and info["audio"] == []
    frames = _frames(path)
    first, middle, last = (f[100:400].reshape(-1, 3).mean(axis=0) for f in (frames[0], frames[60], frames[-1]))
    assert first[2] > first[0] + 40  # the blue start frame
    assert last[0] > last[2] + 40  # ends on the red end frame
    pan = np.abs(frames[0].astype(np.int16) - frames[60].astype(np.int16)).mean()
    assert pan > 5.0
    assert middle[2] > middle[0]  # still the start frame half way through


def test_start_frame_alone_is_animated(work: Path) -> None:
    start = _png((20, 120, 60), size=(900, 900))
    request = GenerationRequest(prompt="zoom in on the sun", start_frame=inspect_frame(start).ref)
    path = work / "photo-zoom.mp4"
    render_animatic(request, path, start_frame=start)
    frames = _frames(path)
    assert np.abs(frames[0].astype(np.int16) - frames[110].astype(np.int16)).mean() > 3.0
    centre = frames[-1][150:210, 290:350].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 200 and centre[1] > 150  # zoomed in on the yellow disc


def test_long_prompt_ten_seconds_square(work: Path) -> None:
    words = "a cinematic shot of rolling hills under drifting clouds with a lone tree and sheep "
    prompt = (words * 40)[:2500]
    path = work / "long.mp4"
    plan = render_animatic(GenerationRequest(prompt=prompt, duration=10, aspect_ratio="1:1"), path)
    info = _probe(path)
    assert info["size"] == (480, 480)
    assert info["frames"] == 240 == plan.frame_count
    assert abs(info["video_seconds"] - 10.0) <= 1 / 24


def test_bad_start_frame_fails_with_a_sentence_and_leaves_nothing(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="x", start_frame=inspect_frame(_png((1, 2, 3))).ref)
    with pytest.raises(AnimaticRenderError, match="start frame could not be decoded"):
        render_animatic(request, tmp_path / "bad.mp4", start_frame=b"not an image at all")
    assert list(tmp_path.iterdir()) == []
