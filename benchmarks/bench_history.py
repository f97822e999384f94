"""History with 5,000 clips: first page and one filter change (bar: 300 ms each).

Seeds 500 batches of ten synthetic clips (real JPEG thumbnails on disk, no
videos loaded), then times the History page script in-process with AppTest:
the first page (median of several loads) and a text-filter change. AppTest's
own overhead is included, so the figures are upper bounds.
"""

from __future__ import annotations

import io
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from kling_lab.request import GenerationRequest  # noqa: E402
from kling_lab.store import NewJob, Store  # noqa: E402

BAR_MS = 300.0
CLIPS = 5000
WORDS = ["fox", "lighthouse", "harbour", "neon street", "forest", "desert", "snowfield", "rain", "owl", "train"]


def seed(data_dir: Path) -> None:
    store = Store(data_dir / "kling_lab.sqlite3")
    thumbs = data_dir / "media" / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    palette = []
    for i in range(20):
        image = Image.new("RGB", (320, 180), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        ImageDraw.Draw(image).ellipse((100 + i, 40, 220 + i, 140), fill=(240, 200, 80))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=80)
        palette.append(buf.getvalue())
    start = time.time() - 14 * 86400
    for b in range(CLIPS // 10):
        word = WORDS[b % len(WORDS)]
        jobs = [
            NewJob(f"take {i}", ["fal", "kie", "replicate", "animatic"][i % 4],
                   GenerationRequest(prompt=f"a {word} at dusk, take {i} of batch {b}", duration=[5, 10][i % 2],
                                     audio=i % 3 == 0), Decimal("0.35"))
            for i in range(10)
        ]
        store.create_batch(template=f"a {word} at dusk", provider="fal", jobs=jobs, now=start + b * 2400)
    conn = sqlite3.connect(store.path)
    rows = conn.execute("SELECT id FROM jobs").fetchall()
    for n, (job_id,) in enumerate(rows):
        path = thumbs / f"{job_id}.jpg"
        path.write_bytes(palette[n % len(palette)])
        conn.execute("UPDATE jobs SET state='done', thumb_path=?, video_path=? WHERE id=?",
                     (str(path), str(data_dir / "media" / "clips" / f"{job_id}.mp4"), job_id))
    conn.commit()
    conn.close()


def main() -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="kling-lab-history-"))
    os.environ["KLING_LAB_DATA_DIR"] = str(data_dir)
    began = time.time()
    seed(data_dir)
    print(f"seeded {CLIPS:,} clips with thumbnails in {time.time() - began:.1f} s")
    from streamlit.testing.v1 import AppTest

    first_page: list[float] = []
    for _ in range(5):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page("pages/history.py")
        t = time.perf_counter()
        at.run()
        first_page.append((time.perf_counter() - t) * 1000)
        assert not at.exception, at.exception
    filter_change: list[float] = []
    for word in ("lighthouse", "owl", "forest"):
        at.text_input(key="history_text").set_value(word)
        t = time.perf_counter()
        at.run()
        filter_change.append((time.perf_counter() - t) * 1000)
        assert not at.exception
    cold, warm = first_page[0], statistics.median(first_page[1:])
    change = statistics.median(filter_change)
    ok = warm <= BAR_MS and change <= BAR_MS
    print(f"History first page: {cold:.0f} ms on the first load (cold caches), median {warm:.0f} ms after; "
          f"filter change median {change:.0f} ms (bar {BAR_MS:.0f} ms) {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
