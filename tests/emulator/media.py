"""Real MP4 clips for the emulator's download URLs, rendered once per process with PyAV.

The base clip is 1 s, 24 fps, 320×180 H.264 (yuv420p) with a color bar moving
across; with audio it also has an AAC tone. A larger size is reached by
appending a top-level MP4 `free` box, so a 20 MB file is still a valid MP4
that players and probes open.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import threading

import av
import numpy as np

CLIP_SECONDS = 1.0
CLIP_FPS = 24
CLIP_WIDTH = 320
CLIP_HEIGHT = 180
AUDIO_RATE = 48_000
FREE_BOX_HEADER = 8
"""A box header: 32-bit big-endian size (including the header) then the 4-byte type."""

_render_lock = threading.Lock()


def _video_frame(index: int, total: int) -> np.ndarray:
    image = np.zeros((CLIP_HEIGHT, CLIP_WIDTH, 3), dtype=np.uint8)
    image[:, :] = (24, 28, 40)
    bar_width = CLIP_WIDTH // 8
    left = int((CLIP_WIDTH - bar_width) * index / max(1, total - 1))
    hue = index / max(1, total)
    color = (
        int(127 + 127 * math.sin(2 * math.pi * hue)),
        int(127 + 127 * math.sin(2 * math.pi * (hue + 1 / 3))),
        int(127 + 127 * math.sin(2 * math.pi * (hue + 2 / 3))),
    )
    image[:, left : left + bar_width] = color
    return image


@functools.cache
def base_clip(with_audio: bool = False) -> bytes:
    """The rendered clip's bytes (cached): H.264 video, plus an AAC tone when `with_audio`."""
    with _render_lock:
        buffer = io.BytesIO()
        with av.open(buffer, mode="w", format="mp4") as container:
            video = container.add_stream("libx264", rate=CLIP_FPS)
            video.width = CLIP_WIDTH
            video.height = CLIP_HEIGHT
            video.pix_fmt = "yuv420p"
            video.options = {"preset": "ultrafast", "tune": "zerolatency"}
            audio = container.add_stream("aac", rate=AUDIO_RATE) if with_audio else None
            if audio is not None:
                audio.layout = "mono"
            total = int(CLIP_SECONDS * CLIP_FPS)
            for index in range(total):
                frame = av.VideoFrame.from_ndarray(_video_frame(index, total), format="rgb24")
                frame.pts = index
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode():
                container.mux(packet)
            if audio is not None:
                samples_per_frame = 1024
                total_samples = int(CLIP_SECONDS * AUDIO_RATE)
                for start in range(0, total_samples, samples_per_frame):
                    t = (np.arange(start, start + samples_per_frame) / AUDIO_RATE).astype(np.float32)
                    tone = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32).reshape(1, -1)
                    frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                    frame.sample_rate = AUDIO_RATE
                    frame.pts = start
                    for packet in audio.encode(frame):
                        container.mux(packet)
                for packet in audio.encode():
                    container.mux(packet)
        return buffer.getvalue()


def free_box(size: int) -> bytes:
    """A top-level MP4 `free` box of exactly `size` bytes (at least the 8-byte header)."""
    if size < FREE_BOX_HEADER or size > 0xFFFFFFFF:
        raise ValueError(f"a free box must be 8 bytes to 4 GiB, not {size}")
    return struct.pack(">I", size) + b"free" + bytes(size - FREE_BOX_HEADER)


@functools.lru_cache(maxsize=8)
def clip_bytes(with_audio: bool = False, size: int | None = None) -> bytes:
    """A valid MP4 of at least `size` bytes (exactly, when `size` exceeds the clip by 8 or more)."""
    base = base_clip(with_audio)
    if size is None or size <= len(base):
        return base
    padding = max(FREE_BOX_HEADER, size - len(base))
    return base + free_box(padding)


def parse_range(header: str | None, length: int) -> tuple[int, int] | None | str:
    """The (first, last) byte positions a single `Range: bytes=` header asks for.

    None means serve the whole file (no header, or a form we do not support such
    as several ranges); the string "unsatisfiable" means answer 416.
    """
    if not header:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes=") or "," in header:
        return None
    spec = header[6:].strip()
    first_text, _, last_text = spec.partition("-")
    try:
        if not first_text:
            suffix = int(last_text)
            if suffix <= 0:
                return "unsatisfiable"
            return max(0, length - suffix), length - 1
        first = int(first_text)
        last = int(last_text) if last_text else length - 1
    except ValueError:
        return None
    if first >= length or first < 0:
        return "unsatisfiable"
    if last < first:
        return None
    return first, min(last, length - 1)
