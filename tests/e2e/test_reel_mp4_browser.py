"""The rendered reel MP4 plays in Chromium: served from a loopback server, it loads and plays past one second."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator

import pytest

from kling_lab.sequences.export import export_cut
from kling_lab.sequences.model import Cut
from tests.unit.test_sequence_export import cut_shot, make_clip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("reel_browser")
    loud = make_clip(work / "loud.mp4", seconds=1.0, width=320, height=180, audio=True)
    tall = make_clip(work / "tall.mp4", seconds=1.0, width=180, height=320, colour=(250, 250, 250))
    cut = Cut(sequence_id="s_1", name="Browser", shots=(
        cut_shot(0, loud, trim_in=0, trim_out=24, source_frames=24, audio=True),
        cut_shot(1, tall, trim_in=0, trim_out=24, source_frames=24, width=180, height=320),
    ))
    site = work / "site"
    export_cut(cut, "mp4", site / "reel.mp4", slate=True)
    (site / "index.html").write_text('<!doctype html><video id="reel" src="reel.mp4" muted playsinline></video>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def test_the_reel_mp4_loads_and_plays_past_one_second(served: str, tab) -> None:  # noqa: ANN001
    tab.goto(served)
    tab.wait_for_function("document.getElementById('reel').readyState >= 2", timeout=15_000)
    duration = tab.evaluate("document.getElementById('reel').duration")
    assert abs(duration - 2.0) <= 1 / 24 + 0.03
    tab.evaluate("document.getElementById('reel').play()")
    tab.wait_for_function("document.getElementById('reel').currentTime > 1.0", timeout=15_000)
    assert tab.evaluate("document.getElementById('reel').error") is None
    size = tab.evaluate("[document.getElementById('reel').videoWidth, document.getElementById('reel').videoHeight]")
    assert size == [320, 180]
