"""Benchmark the offline animatic renderer.

Run: python benchmarks/bench_animatic.py

1. One 5 s 16:9 clip with audio, in this process: median wall time of 3 runs
   (after one untimed warm-up that loads fonts and libraries). Bar: 2.0 s.
2. Ten clips (the same shot under ten camera moves) through a
   ProcessPoolExecutor with one worker per core (workers warmed up first, as
   the app's long-lived pool would be). Bar: the batch takes at most
   1.5 × (10 ÷ cores) × the single-clip time.

Prints the figures and exits 1 when a bar is missed. Wall times depend on
what else the machine is doing; the load average is printed alongside.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kling_lab.animatic import render_animatic  # noqa: E402 - needs the path above when run as a script
from kling_lab.request import GenerationRequest  # noqa: E402

SINGLE_BAR_SECONDS = 2.0
BATCH_FACTOR = 1.5
BATCH_SIZE = 10
PROMPT = 'a lighthouse at dusk, slow push-in, a keeper says "We made it."'
# The batch is a camera sweep over the single-clip prompt (what a variation template produces), so its
# per-clip cost matches the single-clip figure the bar is built from.
BATCH_MOVES = ("slow push-in", "pull-out", "pan left", "pan right", "tilt up", "crane up", "orbit", "dolly in",
               "static", "handheld")
BATCH_PROMPTS = [f'a lighthouse at dusk, {move}, a keeper says "We made it."' for move in BATCH_MOVES]


def _render_timed(prompt: str, out: str) -> tuple[float, float]:
    """Render one 5 s 16:9 clip with audio; (wall seconds, CPU seconds of this process)."""
    request = GenerationRequest(prompt=prompt, audio=True, duration=5, aspect_ratio="16:9")
    wall, cpu = time.perf_counter(), time.process_time()
    render_animatic(request, Path(out))
    return time.perf_counter() - wall, time.process_time() - cpu


def _warm(_: int) -> int:
    # Imports and fonts load on a worker's first render; the app's pool stays up, so measure it warm.
    with tempfile.TemporaryDirectory() as tmp:
        _render_timed("warm-up", os.path.join(tmp, "warm.mp4"))
    return os.getpid()


def main() -> int:
    cores = os.cpu_count() or 1
    print(f"cores: {cores}   load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        _render_timed(PROMPT, os.path.join(tmp, "warm.mp4"))
        runs = [_render_timed(PROMPT, os.path.join(tmp, f"single{i}.mp4")) for i in range(3)]
        single = statistics.median(wall for wall, _ in runs)
        single_cpu = statistics.median(cpu for _, cpu in runs)
        print("\n(1) one 5 s 16:9 clip with audio, single process")
        print("    runs (wall / cpu): " + ", ".join(f"{w:.3f} s / {c:.3f} s" for w, c in runs))
        print(f"    median wall: {single:.3f} s   median cpu: {single_cpu:.3f} s   bar: <= {SINGLE_BAR_SECONDS:.1f} s")
        single_ok = single <= SINGLE_BAR_SECONDS
        print(f"    {'PASS' if single_ok else 'FAIL'}")

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
            list(pool.map(_warm, range(cores)))
            start = time.perf_counter()
            futures = [pool.submit(_render_timed, prompt, os.path.join(tmp, f"batch{i}.mp4"))
                       for i, prompt in enumerate(BATCH_PROMPTS[:BATCH_SIZE])]
            per_clip = [f.result() for f in futures]
            batch = time.perf_counter() - start
        bar = BATCH_FACTOR * (BATCH_SIZE / cores) * single
        print(f"\n(2) batch of {BATCH_SIZE} through ProcessPoolExecutor(max_workers={cores})")
        print(f"    per-clip wall in workers: min {min(w for w, _ in per_clip):.3f} s, "
              f"max {max(w for w, _ in per_clip):.3f} s")
        print(f"    per-clip cpu in workers: min {min(c for _, c in per_clip):.3f} s, "
              f"max {max(c for _, c in per_clip):.3f} s, total {sum(c for _, c in per_clip):.3f} s")
        print(f"    batch wall: {batch:.3f} s   ({batch / BATCH_SIZE:.3f} s per clip)")
        print(f"    bar: <= {BATCH_FACTOR} x ({BATCH_SIZE} / {cores}) x {single:.3f} s = {bar:.3f} s")
        batch_ok = batch <= bar
        print(f"    {'PASS' if batch_ok else 'FAIL'}")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if single_ok and batch_ok else 1


if __name__ == "__main__":
    sys.exit(main())
