"""Generate in a real browser against the host emulator: ten playable clips in the Compare grid."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import GRID_VIDEOS_JS as VIDEOS
from tests.e2e.conftest import run_app, wait_for_app
from tests.emulator import Emulator

pytestmark = pytest.mark.e2e

TEMPLATE = "a fox in {snow|rain|fog|dust|ash}, {slow push-in|orbit around the subject}"


def _choose_provider(tab, label: str) -> None:  # noqa: ANN001
    tab.get_by_role("combobox", name="Provider").click()
    tab.get_by_role("option", name=label).click()
    wait_for_app(tab)


def test_generate_ten_takes_and_see_ten_playable_videos(tab, tmp_path: Path) -> None:
    with Emulator(latency=(1, 3)) as emu, run_app(tmp_path / "data", emu.env()) as app:
        tab.goto(app.url)
        wait_for_app(tab)
        _choose_provider(tab, "fal.ai")
        prompt = tab.get_by_role("textbox", name="Prompt template")
        prompt.fill(TEMPLATE)
        prompt.press("Control+Enter")
        wait_for_app(tab)
        tab.get_by_role("button", name="Generate").click()
        tab.wait_for_url("**/compare?batch=*", timeout=30_000)
        tab.wait_for_function(
            f"""() => {{
                const videos = {VIDEOS};
                return videos.length === 10 && videos.every(v => v.readyState >= 2 && v.videoWidth > 0);
            }}""",
            timeout=90_000,
        )
        sources = tab.evaluate(f"() => {VIDEOS}.map(v => v.currentSrc)")
        assert all("/clips/j_" in src for src in sources)
        assert emu.stats()["accepted_creates"]["fal"] == 10
        first = sources[0]
        ranged = httpx.get(first, headers={"Range": "bytes=0-99"})
        assert ranged.status_code == 206 and len(ranged.content) == 100
        # A reload shows the same batch from the store.
        tab.reload()
        wait_for_app(tab)
        tab.wait_for_function(f"() => {VIDEOS}.length === 10", timeout=30_000)
        assert "Error" not in app.log()


def test_with_no_key_generate_makes_a_grid_of_playable_animatics(tab, tmp_path: Path) -> None:
    with run_app(tmp_path / "data") as app:
        tab.goto(app.url)
        wait_for_app(tab)
        assert tab.get_by_role("combobox", name="Provider").input_value().startswith("Animatic")
        prompt = tab.get_by_role("textbox", name="Prompt template")
        prompt.fill('a lighthouse at dusk {slow push-in|orbit}, a keeper says "We made it."')
        prompt.press("Control+Enter")
        wait_for_app(tab)
        tab.get_by_text("Native audio").click()
        wait_for_app(tab)
        tab.get_by_role("button", name="Generate").click()
        tab.wait_for_url("**/compare?batch=*", timeout=30_000)
        tab.wait_for_function(
            f"""() => {{
                const videos = {VIDEOS};
                return videos.length === 2 && videos.every(v => v.readyState >= 2 && v.videoWidth === 640);
            }}""",
            timeout=60_000,
        )
        durations = tab.evaluate(f"() => {VIDEOS}.map(v => v.duration)")
        assert all(abs(d - 5.0) < 0.05 for d in durations)
        assert tab.get_by_text("Animatic (offline draft)", exact=True).count() == 2  # each cell says it is a draft
