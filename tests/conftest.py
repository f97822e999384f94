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


# The slowest files, longest first (measured from a full run's junit XML, setup and teardown included).
# xdist hands out whole files (`--dist loadfile`) in collection order, kept by pyproject's
# `--no-loadscope-reorder` (by default xdist hands out the files with the MOST tests first, so these
# few-test browser files came last and one ran alone at the end while the other worker idled). Started
# first, the long files overlap and the many quick unit files fill the gaps at the end. A file missing
# here keeps its place after these; a renamed one only loses its head start, never a test.
SLOW_FIRST = (
    "tests/reliability/test_two_sessions.py",  # two app servers x two backends, three browser sessions, CLI races
    "tests/e2e/test_drafts_browser.py",  # two app servers and a restart
    "tests/reliability/test_crash_restart.py",  # an app server killed mid-batch and restarted, x two backends
    "tests/e2e/test_navigation_browser.py",  # three fresh app servers: each route must be a process's first visit
    "tests/reliability/test_callbacks.py",  # webhooks on every host x two backends, with a real app server
    "tests/reliability/test_secrets.py",  # every page, the CLI and exports read for a key
    "tests/e2e/test_sign_in_browser.py",  # an OIDC provider and password sign-in against a real server
    "tests/reliability/test_hostile_text.py",  # every page in Chromium with hostile text
    "tests/e2e/test_review_link_browser.py",
    "tests/e2e/test_sequence_browser.py",  # a real app: a three-shot reel, an export, a sequence review link
    "tests/e2e/test_review_loop_browser.py",  # a real app, a reviewer and the lead in two contexts
    "tests/e2e/test_reel_player.py",  # playback timed in the browser, like the grid's
    "tests/e2e/test_video_grid_review.py",
    "tests/e2e/test_video_grid.py",  # playback is timed in the browser: its waits are what it measures
    "tests/e2e/test_generate_browser.py",
    "tests/e2e/test_offline_browser.py",
    "tests/reliability/test_team_workers.py",  # real worker processes on PostgreSQL, one SIGKILLed
    "tests/reliability/test_downloads.py",
    "tests/reliability/test_storage_faults.py",
    "tests/reliability/test_bad_input_surfaces.py",
    "tests/reliability/test_fault_soak.py",
    "tests/unit/test_runner_emulator.py",
    "tests/e2e/test_compose_browser.py",
    "tests/e2e/test_compare_browser.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the known-slow files first, longest first; every file's own tests keep their order and stay together."""
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    root = Path(str(config.rootpath))

    def key(indexed: tuple[int, pytest.Item]) -> tuple[int, int]:
        index, item = indexed
        try:
            path = Path(str(item.path)).relative_to(root).as_posix()
        except ValueError:
            path = ""
        return rank.get(path, len(SLOW_FIRST)), index

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]
