"""Server memory while ten 20 MB clips download and play in the Compare grid (bar: RSS growth ≤ 50 MB).

Starts the host emulator serving 20 MB MP4s and the real app (the README's
command), enqueues ten fal.ai clips with `kling-lab generate --detach` so the
app's own runner downloads them, opens Compare in headless Chromium, plays all
ten for a while, and samples the server's resident memory throughout. Clips are
streamed to disk and served from disk with Range requests, so the server should
not hold them in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, run_app, wait_for_app  # noqa: E402
from tests.e2e.conftest import GRID_VIDEOS_JS as VIDEOS  # noqa: E402
from tests.emulator import Emulator  # noqa: E402

BAR_MB = 50.0
CLIP_BYTES = 20_000_000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="kling-lab-bench-")) / "data"
    with Emulator(latency=(1, 2), video_size=CLIP_BYTES) as emu, run_app(data, emu.env()) as app, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(app.url)
        wait_for_app(tab)
        time.sleep(2)
        baseline = rss_mb(app.process.pid)
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss_mb(app.process.pid))
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        env = {**os.environ, **emu.env(), "KLING_LAB_DATA_DIR": str(data)}
        out = subprocess.run(
            [sys.executable, "-m", "kling_lab", "generate", "a fox in {snow|rain|fog|dust|ash}, {dawn|dusk}",
             "--provider", "fal", "--detach", "--json"],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )
        batch_id = json.loads(out.stdout)["batch_id"]
        started = time.time()
        tab.goto(f"{app.url}/compare?batch={batch_id}")
        tab.wait_for_function(f"() => {{ const v = {VIDEOS}; return v.length === 10 && "
                              "v.every(x => x.readyState >= 2); }", timeout=180_000)
        ready = time.time() - started
        tab.get_by_role("button", name="Play all").click()
        time.sleep(8)
        stop.set()
        sampler.join()
        browser.close()
    peak = max(samples)
    growth = peak - baseline
    ok = growth <= BAR_MB
    print(f"(c) ten {CLIP_BYTES / 1e6:.0f} MB clips downloaded and played: server RSS {baseline:.0f} MB before, "
          f"peak {peak:.0f} MB, growth {growth:.1f} MB (bar ≤ {BAR_MB:.0f} MB); all ten playable after "
          f"{ready:.1f} s {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
