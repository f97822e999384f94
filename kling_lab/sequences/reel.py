"""The cut rendered as one MP4 (PyAV): every pick's trimmed frames in order, on one frame, with its sound.

The reel's frame is 16:9, as wide as the widest pick (at most 1280×720, even sides); each take is scaled to fit
and letterboxed or pillarboxed on black, so takes of mixed aspect sit on one frame size. Video is H.264 at
24 fps, one frame out for every frame of the cut (a clip that runs short holds its last frame); sound is AAC at
48 kHz stereo when any pick has sound, with silence under the silent shots, and there is no audio stream when
none has. `slate` burns "SH010 · T003" into the top-left corner of each shot.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from kling_lab.sequences.model import Cut, CutShot

MAX_WIDTH, MAX_HEIGHT = 1280, 720
SAMPLE_RATE = 48_000
AAC_FRAME = 1024
X264_PRESET = "veryfast"
X264_CRF = "23"


def reel_size(cut: Cut) -> tuple[int, int]:
    """The reel's 16:9 frame: as wide as the widest pick, at most 1280×720, both sides even."""
    widest = max((min(s.width, s.height * 16 / 9) if s.width and s.height else 0) for s in cut.shots)
    width = int(min(MAX_WIDTH, max(widest, 320)))
    width -= width % 16  # 16:9 with even sides: width a multiple of 16 gives height a multiple of 9 (even)
    return width, width * 9 // 16


def fit(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """`width`×`height` scaled to fit inside `box` keeping its aspect, even sides."""
    bw, bh = box
    if not width or not height:
        return bw, bh
    scale = min(bw / width, bh / height)
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    return min(w, bw), min(h, bh)


def _slate_overlay(text: str, height: int) -> np.ndarray:
    """The slate as an RGBA array: white text on a half-black plate."""
    from PIL import Image, ImageDraw, ImageFont

    size = max(12, height // 22)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # older Pillow
        font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    pad = max(4, size // 3)
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 150))
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(image)


def _burn(canvas: np.ndarray, overlay: np.ndarray, margin: int) -> None:
    h = min(overlay.shape[0], canvas.shape[0] - margin)
    w = min(overlay.shape[1], canvas.shape[1] - margin)
    region = canvas[margin:margin + h, margin:margin + w].astype(np.float32)
    alpha = overlay[:h, :w, 3:4].astype(np.float32) / 255.0
    region = region * (1 - alpha) + overlay[:h, :w, :3].astype(np.float32) * alpha
    canvas[margin:margin + h, margin:margin + w] = region.astype(np.uint8)


def _open(shot: CutShot):  # noqa: ANN202
    import av

    path = Path(shot.clip_path)
    if not path.is_file():
        raise ValueError(f"The video file of {shot.code} is no longer on disk: pick another take and export again.")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise ValueError(f"The video file of {shot.code} could not be read as a video.") from exc


def shot_frames(shot: CutShot, size: tuple[int, int], fps: int, *, slate: bool):  # noqa: ANN201
    """The shot's trimmed frames as RGB arrays of the reel's size, exactly `shot.frames` of them."""
    import av

    width, height = size
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    overlay = _slate_overlay(f"{shot.code} · {shot.take_code}", height) if slate else None
    wanted, last = shot.frames, None
    sent = 0
    container = _open(shot)
    try:
        if not container.streams.video:
            raise ValueError(f"The video file of {shot.code} has no picture.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        inner = fit(stream.codec_context.width, stream.codec_context.height, size)
        x0, y0 = (width - inner[0]) // 2, (height - inner[1]) // 2
        index = -1
        for frame in container.decode(stream):
            if frame.pts is not None and frame.time_base is not None:
                index = int(round(float(frame.pts * frame.time_base) * fps))
            else:
                index += 1
            if index < shot.trim_in:
                continue
            if index >= shot.trim_out or sent >= wanted:
                break
            canvas[y0:y0 + inner[1], x0:x0 + inner[0]] = frame.to_ndarray(
                width=inner[0], height=inner[1], format="rgb24")
            if overlay is not None:
                _burn(canvas, overlay, max(8, height // 40))
            last = canvas.copy()
            sent += 1
            yield last
    except av.error.FFmpegError as exc:
        raise ValueError(f"The video file of {shot.code} could not be decoded to the end.") from exc
    finally:
        container.close()
    if last is None:
        raise ValueError(f"The video file of {shot.code} has no frame at its in point ({shot.trim_in}).")
    for _ in range(wanted - sent):
        yield last


def shot_samples(shot: CutShot, fps: int) -> np.ndarray:
    """The shot's trimmed sound as a (2, n) float32 array at 48 kHz, silence when it has none; n = frames × 2000."""
    import av

    count = shot.frames * SAMPLE_RATE // fps
    start = shot.trim_in * SAMPLE_RATE // fps
    out = np.zeros((2, count), dtype=np.float32)
    if not shot.has_audio:
        return out
    container = _open(shot)
    try:
        if not container.streams.audio:
            return out
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            for converted in resampler.resample(frame):
                chunks.append(converted.to_ndarray())
        for converted in resampler.resample(None):
            chunks.append(converted.to_ndarray())
    except av.error.FFmpegError as exc:
        raise ValueError(f"The sound of {shot.code} could not be decoded.") from exc
    finally:
        container.close()
    if chunks:
        samples = np.concatenate(chunks, axis=1)[:, start:start + count]
        out[:, : samples.shape[1]] = samples
    return out


def render_reel(cut: Cut, out_path: Path | str, *, slate: bool = False) -> Path:
    """Write the reel MP4 at `out_path` (the caller makes that atomic); ValueError with a sentence on a bad clip."""
    import av

    if not cut.shots:
        raise ValueError("This sequence has no shots to put in a reel.")
    fps = cut.fps
    size = reel_size(cut)
    with_sound = any(s.has_audio for s in cut.shots)
    with av.open(str(out_path), mode="w", format="mp4", container_options={"movflags": "+faststart"}) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, fps)
        video.codec_context.thread_count = 1
        video.codec_context.gop_size = fps
        video.options = {"preset": X264_PRESET, "crf": X264_CRF, "threads": "1"}
        sound = None
        if with_sound:
            sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
            sound.bit_rate = 128_000
            sound.options = {"aac_coder": "fast"}
        pts, sample_pts = 0, 0
        pending = np.zeros((2, 0), dtype=np.float32)
        for shot in cut.shots:
            for rgb in shot_frames(shot, size, fps, slate=slate):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
                frame.pts = pts
                frame.time_base = Fraction(1, fps)
                container.mux(video.encode(frame))
                pts += 1
            if sound is not None:
                pending = np.concatenate([pending, shot_samples(shot, fps)], axis=1)
                while pending.shape[1] >= AAC_FRAME:
                    sample_pts = _send(container, sound, pending[:, :AAC_FRAME], sample_pts)
                    pending = pending[:, AAC_FRAME:]
        container.mux(video.encode(None))
        if sound is not None:
            if pending.shape[1]:
                sample_pts = _send(container, sound, pending, sample_pts)
            container.mux(sound.encode(None))
    return Path(out_path)


def _send(container, stream, chunk: np.ndarray, pts: int) -> int:  # noqa: ANN001
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="stereo")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = Fraction(1, SAMPLE_RATE)
    container.mux(stream.encode(frame))
    return pts + chunk.shape[1]
