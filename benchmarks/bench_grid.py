"""Benchmark the synchronized comparison grid (components.video_grid) in headless Chromium.

Starts tests/e2e/grid_harness_app.py, opens it in Debian's Chromium (/usr/bin/chromium; never a
downloaded browser) and measures:

  (a) first frames: time from navigation start until all ten <video> elements have their first
      frame decoded (readyState >= 2, i.e. 'loadeddata'), cold (fresh browser cache) and warm;
  (b) server memory: growth of the Streamlit server's VmRSS (/proc/<pid>/status) from before the
      measured session opens until the end of playback;                        bar <= 50 MB
  (c) sync: the largest currentTime spread across playing clips, read in the page on every
      animation frame (one simultaneous snapshot per frame);                   bar <= 50 ms

Playback runs with Loop on for two passes of the 10 s timeline: the 5 s clips hold their last
frame for the second half of each pass, so this is ~10 s of all ten clips playing together,
plus one loop restart.

Run:  python benchmarks/bench_grid.py        (exit status 1 when a bar is missed)
The figures are only meaningful on a machine that is not saturated: the load average is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_video_grid import start_harness  # noqa: E402 - the browser tests' own harness launcher

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CLIPS = 10
PLAY_SECONDS = 20.0
RSS_BAR_MB = 50.0
SPREAD_BAR_MS = 50.0

GRID_MOUNTED = """(n) => {
  const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
  return !!host && !!host.shadowRoot && host.shadowRoot.querySelectorAll('video').length === n;
}"""

ALL_FIRST_FRAMES = """(n) => {
  const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
  const vids = host && host.shadowRoot ? [...host.shadowRoot.querySelectorAll('video')] : [];
  return vids.length === n && vids.every((v) => v.readyState >= 2);
}"""

# Samples every animation frame for `ms`; each sample is one simultaneous snapshot of all clips.
SAMPLE_SPREAD = """async (ms) => {
  const root = document.querySelector('[data-testid="stBidiComponentIsolated"]').shadowRoot;
  const vids = [...root.querySelectorAll('video')];
  const spreads = [];
  let longestGap = 0;
  let last = performance.now();
  const t0 = last;
  while (performance.now() - t0 < ms) {
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    const times = vids.filter((v) => !v.paused).map((v) => v.currentTime);
    if (times.length > 1) spreads.push((Math.max(...times) - Math.min(...times)) * 1000);
  }
  return { spreads, longestGap };
}"""


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB, from /proc (psutil is not a dependency)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def first_frames_ms(page: Page, url: str) -> tuple[float, float]:
    """Milliseconds from navigation start until the grid's ten <video> elements exist (Streamlit's
    boot and script run), and until every one has its first frame decoded."""
    page.goto(url, wait_until="commit")
    page.wait_for_function(GRID_MOUNTED, arg=CLIPS, polling="raf", timeout=60_000)
    mounted = page.evaluate("performance.now()")
    page.wait_for_function(ALL_FIRST_FRAMES, arg=CLIPS, polling="raf", timeout=60_000)
    return mounted, page.evaluate("performance.now()")


def main() -> int:
    if not os.path.exists(CHROMIUM):
        print(f"no Chromium at {CHROMIUM}; install the Debian package (never download a browser)")
        return 2
    load1, load5, _ = os.getloadavg()
    print(f"host: {os.cpu_count()} CPUs, load average {load1:.2f} (1 min) {load5:.2f} (5 min)")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_harness(Path(tmp) / "harness.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                # The first session renders the test clips and imports PyAV: harness cost, kept
                # out of every figure.
                setup = browser.new_page()
                first_frames_ms(setup, url)
                setup.close()
                time.sleep(1.0)

                rss_before = rss_mb(proc.pid)
                context = browser.new_context(viewport={"width": 1600, "height": 1200})
                cold = context.new_page()  # empty HTTP cache: Streamlit's own JS is fetched too
                cold_ms = first_frames_ms(cold, url)
                cold.close()
                page = context.new_page()
                warm_ms = first_frames_ms(page, url)
                page.get_by_role("button", name="Loop", exact=True).click()
                page.get_by_role("button", name="Play all", exact=True).click()
                result = page.evaluate(SAMPLE_SPREAD, PLAY_SECONDS * 1000)
                rss_after = rss_mb(proc.pid)
                page.close()
                context.close()
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    spreads = sorted(result["spreads"])
    worst = spreads[-1] if spreads else 0.0
    p99 = spreads[int(0.99 * (len(spreads) - 1))] if spreads else 0.0
    median = spreads[len(spreads) // 2] if spreads else 0.0
    growth = rss_after - rss_before
    print(
        f"(a) first frames of all {CLIPS} clips after navigation: cold {cold_ms[1]:.0f} ms, warm {warm_ms[1]:.0f} ms"
        f" (grid mounted at {cold_ms[0]:.0f} / {warm_ms[0]:.0f} ms, so {cold_ms[1] - cold_ms[0]:.0f} /"
        f" {warm_ms[1] - warm_ms[0]:.0f} ms from <video> to first frame)"
    )
    print(
        f"(b) server RSS: {rss_before:.1f} MB -> {rss_after:.1f} MB, growth {growth:+.1f} MB (bar {RSS_BAR_MB:.0f} MB)"
    )
    print(
        f"(c) currentTime spread over {len(spreads)} frames with several clips playing ({PLAY_SECONDS:.0f} s "
        f"looped): max {worst:.1f} ms, "
        f"p99 {p99:.1f} ms, median {median:.1f} ms (bar {SPREAD_BAR_MS:.0f} ms); "
        f"longest frame gap {result['longestGap']:.0f} ms"
    )
    missed = []
    if growth > RSS_BAR_MB:
        missed.append("server memory growth")
    if worst > SPREAD_BAR_MS:
        missed.append("sync spread")
    if missed:
        print("MISSED: " + ", ".join(missed))
        return 1
    print("all bars met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
