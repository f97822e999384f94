"""MediaStore: where files live, and the sweep of what a killed process left half-written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kling_lab.media import ABANDONED_AFTER_SECONDS, MediaStore


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_partial_download_of_a_dead_process_is_swept_and_a_live_ones_is_kept(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    mine = media.temp_path("j_live")
    assert mine.name.startswith(f"j_live.{os.getpid()}.") and mine.name.endswith(".part")
    orphan = tmp_path / "media" / "tmp" / f"j_dead.{_dead_pid()}.x1y2.part"
    orphan.write_bytes(b"\x00" * 1000)

    assert media.sweep_abandoned() == [orphan]
    assert mine.exists() and not orphan.exists()


def test_files_without_a_process_id_and_stray_atomic_temps_go_only_once_they_are_old(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media")
    old_style = tmp_path / "media" / "tmp" / "j_old.abc123.part"
    stray_clip = tmp_path / "media" / "clips" / "j_1.mp4.k3j2.tmp"
    stray_thumb = tmp_path / "media" / "thumbs" / "j_1.tmp.jpg"
    finished = tmp_path / "media" / "clips" / "j_1.mp4"
    for path in (old_style, stray_clip, stray_thumb, finished):
        path.write_bytes(b"data")

    assert media.sweep_abandoned() == []  # young: maybe another process is writing it right now
    later = time.time() + ABANDONED_AFTER_SECONDS + 1
    assert sorted(media.sweep_abandoned(now=later)) == sorted([old_style, stray_clip, stray_thumb])
    assert finished.exists()
