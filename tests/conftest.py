"""Shared fixtures: isolated data dirs and a small real MP4."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest


def make_mp4(seconds: float = 1.0, width: int = 160, height: int = 90, audio: bool = False) -> bytes:
    """A real H.264 MP4 with a moving bar (and a tone when `audio`), made with PyAV."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        astream = out.add_stream("aac", rate=48000) if audio else None
        frames = int(seconds * 24)
        for i in range(frames):
            img = np.zeros((height, width, 3), dtype=np.uint8)
            x = int(i / max(frames, 1) * width)
            img[:, x : x + 8] = (255, 200, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            samples = int(seconds * 48000)
            t = np.arange(samples) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = Fraction(1, 48000)
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_mp4() -> bytes:
    return make_mp4()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir, also exported as KLING_LAB_DATA_DIR."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("KLING_LAB_DATA_DIR", str(path))
    return path
