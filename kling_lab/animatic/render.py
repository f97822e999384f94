"""Render an animatic: the plan's picture, overlays and sound, encoded in-process to an H.264 MP4.

`render_animatic` is a module-level function with picklable arguments so it
can run in a process pool. The file is written to a temporary name in the
destination directory and moved into place only when complete, so a reader
never sees half a clip. Encoder settings are pinned (one x264 thread,
bit-exact muxing, no timestamps) so the same request gives the same bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from kling_lab.animatic.camera import FOCAL, SPEEDS, camera_pose
from kling_lab.animatic.dialogue import Subtitle, shot_title
from kling_lab.animatic.mood import palette_for
from kling_lab.animatic.overlay import Overlay, label_overlay, subtitle_overlay, title_overlay
from kling_lab.animatic.photo import FrameDecodeError, KenBurns, decode_frame
from kling_lab.animatic.plan import AnimaticPlan, plan_animatic
from kling_lab.animatic.scene import MoodCard
from kling_lab.animatic.sound import SAMPLE_RATE, synthesize_audio
from kling_lab.atomic import atomic_path, atomic_write_text
from kling_lab.request import GenerationRequest

X264_PRESET = "superfast"
"""About twice as fast as veryfast at 640×360 for files still well under 1 MB per 5 s: right for drafts."""
X264_CRF = "23"
AUDIO_BITRATE = 96_000
AAC_FRAME = 1024
SUBTITLE_FADE = 0.12
"""Seconds over which a subtitle fades in and out: a hard cut on a line reads as a glitch."""
PROGRESS_EVERY = 12
BT601 = 6  # AVCOL_SPC/PRI/TRC_SMPTE170M
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG


class AnimaticRenderError(RuntimeError):
    """The render could not be made; the message is a sentence for the user."""


class _Progress:
    """Writes 0..1 as text to a file, atomically, so a poller never reads a half-written number."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None

    def write(self, value: float) -> None:
        if self.path is None:
            return
        # Progress is a courtesy; a full disk must fail the render on the video, not here.
        with contextlib.suppress(OSError):
            atomic_write_text(self.path, f"{min(1.0, max(0.0, value)):.3f}", fsync=False, encoding="ascii")


def read_progress(path: Path) -> float | None:
    """The last progress written to `path` (0..1), or None when there is none yet or it is unreadable."""
    try:
        return min(1.0, max(0.0, float(Path(path).read_text(encoding="ascii").strip())))
    except (OSError, ValueError):
        return None


def render_animatic(
    request: GenerationRequest,
    out_path: Path,
    *,
    start_frame: bytes | None = None,
    end_frame: bytes | None = None,
    progress_path: Path | None = None,
) -> AnimaticPlan:
    """Render the draft for `request` to `out_path` and return the plan it followed.

    Promises: an H.264 (yuv420p, moov first) MP4 of exactly `plan.frame_count`
    frames at 24 fps and the plan's size; an AAC track if and only if
    `request.audio` is True; the file appears atomically (complete or not at
    all); the same request and frame bytes give the same bytes out. With
    `start_frame` bytes the picture animates that image (crossfading to
    `end_frame` when given; an end frame without a start frame is ignored);
    otherwise it is a mood card. Progress 0..1 is written to `progress_path`.
    Raises AnimaticRenderError with a user-facing sentence for bad frames.
    """
    plan = plan_animatic(request)
    # The picture follows the bytes actually given, so the returned plan never claims a frame it didn't use.
    picture = "mood card" if not start_frame else "start and end frames" if end_frame else "start frame"
    plan = replace(plan, picture=picture)
    out_path = Path(out_path)
    progress = _Progress(progress_path)
    progress.write(0.0)
    try:
        with atomic_path(out_path) as tmp:
            frames = _frames(request, plan, start_frame, end_frame)
            audio = (
                synthesize_audio(plan.ambience, plan.subtitles, float(plan.duration), plan.seed)
                if plan.ambience is not None else None
            )
            _encode(tmp, plan, frames, audio, progress)
    except FrameDecodeError as exc:
        raise AnimaticRenderError(str(exc)) from exc
    progress.write(1.0)
    return plan


def _frames(
    request: GenerationRequest, plan: AnimaticPlan, start_frame: bytes | None, end_frame: bytes | None
) -> Iterator[np.ndarray]:
    width, height = plan.width, plan.height
    fixed: list[Overlay] = []
    label = label_overlay(width, height)
    painter: KenBurns | MoodCard
    if start_frame:
        start = decode_frame(start_frame, "The start frame")
        end = decode_frame(end_frame, "The end frame") if end_frame else None
        painter = KenBurns(width, height, FOCAL * max(width, height), start, end)
    else:
        palette = palette_for(plan.mood, request.prompt)
        painter = MoodCard(width, height, plan.fps, palette, plan.scenery, plan.weather, plan.landmark, plan.seed,
                           plan.mood)
        title = title_overlay(shot_title(request.prompt), width, height, top=label.y + label.image.height + 6)
        if title is not None:
            fixed.append(title)
    fixed.append(label)
    subtitles = [(line, subtitle_overlay(line.text, width, height)) for line in plan.subtitles]
    return _frame_stream(plan, painter, fixed, subtitles)


def _frame_stream(
    plan: AnimaticPlan, painter: KenBurns | MoodCard, fixed: list[Overlay], subtitles: list[tuple[Subtitle, Overlay]]
) -> Iterator[np.ndarray]:
    """Each frame as yuv420p planes stacked the way PyAV takes them ((height × 3/2) × width, uint8)."""
    speed = SPEEDS[plan.camera_speed]
    count = plan.frame_count
    to_yuv = Yuv420Converter(plan.width, plan.height)
    for index in range(count):
        u = index / (count - 1)
        pose = camera_pose(plan.camera_move, u, speed=speed, duration=plan.duration, seed=plan.seed)
        if isinstance(painter, MoodCard):
            planes = painter.frame(index, pose)
        else:
            planes = np.asarray(painter.frame(u, pose), dtype=np.float32).transpose(2, 0, 1).copy()
        seconds = index / plan.fps
        for line, overlay in subtitles:
            if line.visible_at(seconds):
                fade = min(seconds - line.start, line.end - seconds) / SUBTITLE_FADE
                overlay.blend_into(planes, opacity=min(1.0, max(0.25, fade)))
        for overlay in fixed:
            overlay.blend_into(planes)
        yield to_yuv(planes)


class Yuv420Converter:
    """Planar RGB (3 × H × W, 0..255 float32) to stacked yuv420p bytes, BT.601 limited range.

    Done in numpy rather than by swscale: the frame is already planar, and the same numbers come
    out on every CPU, which keeps renders byte-identical across machines. Buffers are allocated
    once per size; the returned array is new each call (the encoder may still hold the last one).
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._luma = np.empty((height, width), dtype=np.float32)
        self._term = np.empty((height, width), dtype=np.float32)
        self._quad = np.empty((3, height // 2, width // 2), dtype=np.float32)
        self._chroma = np.empty((height // 2, width // 2), dtype=np.float32)
        self._chroma_term = np.empty((height // 2, width // 2), dtype=np.float32)

    def _weighted(self, planes: np.ndarray, weights: tuple[float, float, float], offset: float,
                  out: np.ndarray, term: np.ndarray) -> np.ndarray:
        np.multiply(planes[0], np.float32(weights[0]), out=out)
        for plane, weight in zip(planes[1:], weights[1:], strict=True):
            np.multiply(plane, np.float32(weight), out=term)
            out += term
        out += np.float32(offset)
        return out

    def __call__(self, planes: np.ndarray) -> np.ndarray:
        height, width = self.height, self.width
        out = np.empty((height * 3 // 2, width), dtype=np.uint8)
        luma = self._weighted(planes, (0.256788, 0.504129, 0.097906), 16.5, self._luma, self._term)
        np.clip(luma, 16, 235, out=luma)
        out[:height] = luma
        # Chroma from the 2×2 sum (the conversion is linear, so averaging RGB first is exact and cheaper).
        quad = self._quad
        np.add(planes[:, 0::2, 0::2], planes[:, 1::2, 0::2], out=quad)
        quad += planes[:, 0::2, 1::2]
        quad += planes[:, 1::2, 1::2]
        chroma_rows = out[height:].reshape(2, -1)
        # Weights are the BT.601 ones divided by 4: the quad holds sums of four pixels.
        for row, weights in ((0, (-0.0370558, -0.0727483, 0.109804)), (1, (0.109804, -0.091947, -0.0178568))):
            value = self._weighted(quad, weights, 128.5, self._chroma, self._chroma_term)
            np.clip(value, 16, 240, out=value)
            chroma_rows[row] = value.reshape(-1)
        return out


def _encode(
    path: Path, plan: AnimaticPlan, frames: Iterator[np.ndarray], audio: np.ndarray | None, progress: _Progress
) -> None:
    # Bit-exact flags keep library version strings out of the file; with one encoder thread and
    # no creation time, the bytes depend only on the request.
    with av.open(
        str(path), mode="w", format="mp4",
        container_options={"movflags": "+faststart", "fflags": "+bitexact"},
    ) as container:
        video = container.add_stream("libx264", rate=plan.fps)
        video.width, video.height = plan.width, plan.height
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, plan.fps)
        context = video.codec_context
        context.thread_count = 1
        context.gop_size = plan.fps  # a keyframe a second keeps scrubbing in the browser snappy
        # Say what the pixels are (BT.601, limited range) so browsers don't guess.
        context.colorspace = context.color_primaries = context.color_trc = BT601
        context.color_range = LIMITED_RANGE
        context.flags |= av.codec.context.Flags.bitexact
        video.options = {"preset": X264_PRESET, "crf": X264_CRF, "threads": "1"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
            sound.bit_rate = AUDIO_BITRATE
            # The fast coder is four times quicker than the default; synthesized ambience doesn't need more.
            sound.options = {"aac_coder": "fast"}
            sound.codec_context.flags |= av.codec.context.Flags.bitexact
        sent = 0
        count = plan.frame_count
        for index, yuv in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, plan.fps)
            container.mux(video.encode(frame))
            if sound is not None and audio is not None:
                # Feed audio up to this frame's time so the muxer can interleave without buffering it all.
                until = min(audio.size, (index + 1) * SAMPLE_RATE // plan.fps)
                sent = _send_audio(container, sound, audio, sent, until)
            if index % PROGRESS_EVERY == 0:
                progress.write(0.95 * index / count)
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            _send_audio(container, sound, audio, sent, audio.size, final=True)
            container.mux(sound.encode(None))


def _send_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray, sent: int, until: int,
    final: bool = False,
) -> int:
    while until - sent >= AAC_FRAME or (final and until > sent):
        chunk = audio[sent: min(until, sent + AAC_FRAME)]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk[None, :]), format="fltp", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = sent
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))
        sent += chunk.size
    return sent
