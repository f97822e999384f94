"""Benchmark the sequence exporters on a 10-shot sequence of 5 s takes.

Run: python benchmarks/bench_sequence_export.py

1. The four editor files (OTIO, FCP 7 XML, FCPXML, CMX 3600 EDL) of the cut, written one after another:
   median wall time of 5 runs after one untimed warm-up (imports, adapter plug-ins). Bar: all four in 1.0 s.
2. The reel MP4 of the same cut (640×360 animatic drafts, half of them with sound, every shot trimmed),
   rendered in this process pinned to one core. Bar: at most 1.5 × the reel's running time.

The takes are real offline drafts from the animatic renderer (two of them, used five times each). Prints the
figures and exits 1 when a bar is missed; the load average is printed alongside.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kling_lab.animatic import render_animatic  # noqa: E402 - needs the path above when run as a script
from kling_lab.request import GenerationRequest  # noqa: E402
from kling_lab.sequences.export import export_cut  # noqa: E402
from kling_lab.sequences.model import Cut, CutShot, Marker  # noqa: E402

TIMELINE_BAR_SECONDS = 1.0
REEL_FACTOR = 1.5
SHOTS = 10
FPS = 24
TAKE_FRAMES = 5 * FPS


def _cut(loud: Path, quiet: Path) -> Cut:
    shots = []
    for i in range(SHOTS):
        code = f"SH{(i + 1) * 10:03d}"
        job = f"j_{i:012d}"
        with_sound = i % 2 == 0
        markers = (Marker(at=1.0, until=2.0, author="Director", text=f"note {i}: <b>hold</b> longer"),
                   Marker(at=0.5, until=None, author="Lead", text="Approved", kind="status"))
        shots.append(CutShot(
            shot_id=f"h_{i}", code=code, name=f"shot {i}", take_code="T001", job_id=job,
            clip_path=loud if with_sound else quiet, media_name=f"media/{code}_T001_{job}.mp4",
            source_frames=TAKE_FRAMES, trim_in=i % 3, trim_out=TAKE_FRAMES - (i % 4), width=640, height=360,
            has_audio=with_sound, prompt=f"a lighthouse at dusk, take {i}", host="Animatic (offline draft)",
            provider="animatic", cost="0", status="approved", markers=markers))
    return Cut(sequence_id="s_bench", name="Bench sequence", shots=tuple(shots))


def _timelines(cut: Cut, folder: Path) -> float:
    start = time.perf_counter()
    for fmt, ext in (("otio", "otio"), ("fcp7xml", "xml"), ("fcpxml", "fcpxml"), ("edl", "edl")):
        export_cut(cut, fmt, folder / f"cut.{ext}")
    return time.perf_counter() - start


def main() -> int:
    cores = os.cpu_count() or 1
    print(f"cores: {cores}   load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loud, quiet = folder / "loud.mp4", folder / "quiet.mp4"
        render_animatic(GenerationRequest(prompt="a lighthouse at dusk, slow push-in", audio=True, duration=5,
                                          aspect_ratio="16:9"), loud)
        render_animatic(GenerationRequest(prompt="an office at night, static", audio=False, duration=5,
                                          aspect_ratio="16:9"), quiet)
        cut = _cut(loud, quiet)
        print(f"\ncut: {SHOTS} shots, {cut.total_frames} frames ({cut.seconds:.2f} s) at {FPS} fps")

        _timelines(cut, folder)
        runs = [_timelines(cut, folder) for _ in range(5)]
        median = statistics.median(runs)
        print("\n(1) OTIO + FCP 7 XML + FCPXML + EDL, all four")
        print("    runs: " + ", ".join(f"{r:.3f} s" for r in runs))
        print(f"    median: {median:.3f} s   bar: <= {TIMELINE_BAR_SECONDS:.1f} s")
        timelines_ok = median <= TIMELINE_BAR_SECONDS
        print(f"    {'PASS' if timelines_ok else 'FAIL'}")

        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        wall, cpu = time.perf_counter(), time.process_time()
        export_cut(cut, "mp4", folder / "reel.mp4")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        bar = REEL_FACTOR * cut.seconds
        print("\n(2) reel MP4, 640x360, one core")
        print(f"    wall: {wall:.3f} s   cpu: {cpu:.3f} s   reel: {cut.seconds:.2f} s   "
              f"({cut.seconds / wall:.2f}x real time)")
        print(f"    bar: <= {REEL_FACTOR} x {cut.seconds:.2f} s = {bar:.2f} s")
        reel_ok = wall <= bar
        print(f"    {'PASS' if reel_ok else 'FAIL'}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if timelines_ok and reel_ok else 1


if __name__ == "__main__":
    sys.exit(main())
