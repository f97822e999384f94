"""The synchronized grid in a real browser: Debian's Chromium against tests/e2e/grid_harness_app.py.

Every timing assertion reads HTMLVideoElement.currentTime straight from the <video> elements, all
in one page.evaluate so the readings are simultaneous. The harness serves ten generated clips
(clip 4 runs 10 s, the rest 5 s; clips 1 and 4 have sound) from Streamlit's static folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "e2e" / "grid_harness_app.py"
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
FRAME = 1 / 24
LONG_CLIP = "job-4"

# One snapshot of every cell, taken in a single task so the readings are simultaneous.
READ_CELLS = """() => {
  const root = document.querySelector('[data-testid="stBidiComponentIsolated"]').shadowRoot;
  return [...root.querySelectorAll('.kl-cell')].map((cell) => {
    const v = cell.querySelector('video');
    return {
      id: cell.dataset.clipId,
      hasVideo: !!v,
      t: v ? v.currentTime : null,
      paused: v ? v.paused : null,
      seeking: v ? v.seeking : null,
      muted: v ? v.muted : null,
      duration: v ? v.duration : null,
      readyState: v ? v.readyState : 0,
      src: v ? v.getAttribute('src') : null,
      pending: cell.querySelector('.kl-pending').hidden ? '' : cell.querySelector('.kl-pending').textContent,
      detail: cell.querySelector('.kl-detail').textContent,
    };
  });
}"""


SHADOW = "document.querySelector('[data-testid=\"stBidiComponentIsolated\"]').shadowRoot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_harness(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the harness app; return the process and its base URL once /_stcore/health says ok."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(HARNESS),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.enableStaticServing",
        "true",
        "--global.developmentMode",
        "false",
    ]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"harness exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return proc, url
        except OSError:
            pass
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"harness did not become healthy:\n{log_path.read_text()}")


def stop_harness(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="module")
def harness_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_harness(Path(tmp) / "harness.log")
        try:
            yield url
        finally:
            stop_harness(proc)


@pytest.fixture(scope="module")
def grid_browser() -> Iterator[BrowserContext]:
    """One browser context for the module: pages share its HTTP cache, so each load is quick.

    Playwright is started and stopped within this module (not pytest-playwright's session
    fixture): its sync API keeps an event loop running in this thread while it is open.
    """
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium); never download one"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1200})
        yield context
        context.close()
        browser.close()


def open_grid(context: BrowserContext, url: str, query: str = "", videos: int = 10) -> Page:
    """A fresh page (a new Streamlit session) with every clip's first frame decoded."""
    page = context.new_page()
    page.goto(f"{url}/{query}")
    # First frames decoded everywhere (readyState >= HAVE_CURRENT_DATA).
    page.wait_for_function(
        """(n) => {
          const host = document.querySelector('[data-testid="stBidiComponentIsolated"]');
          const vids = host && host.shadowRoot ? [...host.shadowRoot.querySelectorAll('video')] : [];
          return vids.length === n && vids.every((v) => v.readyState >= 2);
        }""",
        arg=videos,
        timeout=20_000,
    )
    return page


@pytest.fixture(scope="module")
def shared_grid(grid_browser: BrowserContext, harness_url: str) -> Iterator[list[Page]]:
    """One loaded harness page reused across tests (a Streamlit boot costs seconds on a busy box)."""
    holder = [open_grid(grid_browser, harness_url)]
    yield holder
    holder[0].close()


def reset_transport(page: Page) -> None:
    """Back to the initial transport state through the grid's own controls."""
    pause = page.get_by_role("button", name="Pause all", exact=True)
    if pause.count():
        pause.click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => !document.fullscreenElement && !{SHADOW}.querySelector('.is-fullscreen')")
    first = page.get_by_role("button", name="Solo Take 1", exact=True)
    if first.get_attribute("aria-pressed") != "true":  # back to the default: the first take is heard
        first.click()
    loop = page.get_by_role("button", name="Loop", exact=True)
    if loop.get_attribute("aria-pressed") == "true":
        loop.click()
    page.get_by_label("Speed").select_option("1")
    scrub_to(page, 0)
    page.wait_for_function(
        "() => [...document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
        ".shadowRoot.querySelectorAll('video')].every((v) => v.paused && !v.seeking && v.currentTime < 0.001)",
        timeout=5_000,
    )
    page.evaluate("document.activeElement && document.activeElement.blur()")


@pytest.fixture
def grid(shared_grid: list[Page], grid_browser: BrowserContext, harness_url: str) -> Page:
    try:
        reset_transport(shared_grid[0])
    except Exception:  # noqa: BLE001 - a test left the page unusable: start a fresh session
        shared_grid[0].close()
        shared_grid[0] = open_grid(grid_browser, harness_url)
    return shared_grid[0]


def cells(page: Page) -> list[dict]:
    return page.evaluate(READ_CELLS)


def by_id(page: Page) -> dict[str, dict]:
    return {c["id"]: c for c in cells(page)}


def spread(readings: list[dict]) -> float:
    times = [c["t"] for c in readings if c["hasVideo"] and not c["paused"]]
    return max(times) - min(times)


def play_all(page: Page) -> None:
    page.get_by_role("button", name="Play all", exact=True).click()
    expect(page.get_by_role("button", name="Pause all", exact=True)).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
        ".shadowRoot.querySelector('.kl-grid').dataset.state === 'playing'"
    )


def scrub_to(page: Page, seconds: float) -> None:
    page.get_by_role("slider", name="Scrub all clips").fill(str(seconds))


def test_ten_cells_render_with_label_host_cost_and_state(grid: Page) -> None:
    readings = cells(grid)

    assert [c["id"] for c in readings] == [f"job-{n}" for n in range(1, 11)]
    assert all(c["src"].startswith("/app/static/grid_test/clip_") for c in readings)
    first = grid.get_by_role("group", name="Take 1", exact=True)
    for text in ("Take 1", "Animatic (offline draft)", "$0.35", "done"):
        expect(first).to_contain_text(text)
    video = first.locator("video")
    assert video.evaluate("v => [v.preload, v.muted, v.playsInline, v.controls]") == ["auto", False, True, False]
    second = grid.get_by_role("group", name="Take 2", exact=True).locator("video")
    assert second.evaluate("v => v.muted") is True  # only the first take is heard


def test_play_all_starts_every_video(grid: Page) -> None:
    play_all(grid)

    grid.wait_for_function(
        "() => [...document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
        ".shadowRoot.querySelectorAll('video')].every((v) => !v.paused)",
        timeout=5_000,
    )
    assert all(c["paused"] is False for c in cells(grid))


def test_clips_stay_within_50ms_of_each_other_after_3s(grid: Page) -> None:
    play_all(grid)
    grid.wait_for_timeout(3_000)

    readings = cells(grid)

    playing = [c for c in readings if not c["paused"]]
    assert len(playing) == 10
    assert spread(readings) <= 0.050, [round(c["t"], 3) for c in readings]


def test_scrubber_moves_every_clip_while_paused_and_while_playing(grid: Page) -> None:
    scrub_to(grid, 2.5)
    grid.wait_for_function(
        "() => [...document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
        ".shadowRoot.querySelectorAll('video')].every((v) => !v.seeking && Math.abs(v.currentTime - 2.5) < 0.05)",
        timeout=5_000,
    )
    play_all(grid)
    grid.wait_for_timeout(500)

    scrub_to(grid, 1.0)
    grid.wait_for_timeout(700)

    readings = cells(grid)
    assert all(not c["paused"] for c in readings)
    assert all(1.0 <= c["t"] < 2.0 for c in readings), [round(c["t"], 3) for c in readings]
    assert spread(readings) <= 0.050


def test_short_clip_holds_its_last_frame_while_the_long_clip_plays_on(grid: Page) -> None:
    scrub_to(grid, 4.5)
    play_all(grid)
    grid.wait_for_timeout(1_500)

    first = by_id(grid)
    grid.wait_for_timeout(500)
    later = by_id(grid)

    assert later[LONG_CLIP]["paused"] is False
    assert later[LONG_CLIP]["t"] > first[LONG_CLIP]["t"] > 5.5
    for clip_id in ("job-1", "job-2", "job-10"):
        assert first[clip_id]["paused"] is True
        assert first[clip_id]["t"] == pytest.approx(5.0, abs=FRAME)
        assert later[clip_id]["t"] == first[clip_id]["t"]  # held, not restarted
    expect(grid.get_by_role("button", name="Pause all", exact=True)).to_be_visible()


def test_solo_unmutes_exactly_one_clip_and_pressing_again_unsolos(grid: Page) -> None:
    assert [c["id"] for c in cells(grid) if not c["muted"]] == ["job-1"]  # the first take is heard by default
    play_all(grid)

    grid.get_by_role("button", name="Solo Take 4", exact=True).click()  # the long clip, with sound
    assert [c["id"] for c in cells(grid) if not c["muted"]] == [LONG_CLIP]
    grid.get_by_role("button", name="Solo Take 1", exact=True).click()
    assert [c["id"] for c in cells(grid) if not c["muted"]] == ["job-1"]
    expect(grid.get_by_role("button", name="Solo Take 1", exact=True)).to_have_attribute("aria-pressed", "true")
    grid.wait_for_timeout(300)
    assert not by_id(grid)["job-1"]["paused"]  # unmuting mid-play did not trip the autoplay policy
    grid.get_by_role("button", name="Solo Take 1", exact=True).click()
    assert all(c["muted"] for c in cells(grid))


def test_number_key_solos_the_matching_cell_and_zero_solos_the_tenth(grid: Page) -> None:
    grid.evaluate("document.activeElement.blur()")  # keys go to <body>, as when nothing is focused

    grid.keyboard.press("2")
    assert [c["id"] for c in cells(grid) if not c["muted"]] == ["job-2"]
    grid.keyboard.press("0")
    assert [c["id"] for c in cells(grid) if not c["muted"]] == ["job-10"]


def test_pick_sends_an_event_that_reaches_python_and_comes_back_as_picked(grid: Page) -> None:
    grid.get_by_role("button", name="Pick Take 2", exact=True).click()

    expect(grid.get_by_text("last event: pick job-2 True")).to_be_visible(timeout=10_000)
    expect(grid.get_by_role("button", name="Pick Take 2", exact=True)).to_have_attribute("aria-pressed", "true")


def test_keep_and_rating_reach_python(grid: Page) -> None:
    grid.get_by_role("button", name="Keep Take 6", exact=True).click()
    expect(grid.get_by_text("last event: star job-6 True")).to_be_visible(timeout=10_000)

    grid.get_by_role("button", name="Rate Take 6 4 stars", exact=True).click()
    expect(grid.get_by_text("last event: rate job-6 4")).to_be_visible(timeout=10_000)
    expect(grid.get_by_role("button", name="Rate Take 6 4 stars", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(grid.get_by_role("button", name="Keep Take 6", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(grid.get_by_role("button", name="Keep Take 6", exact=True)).to_have_text("Kept")


def test_pending_clips_show_their_state_then_join_without_resetting_the_others(
    grid_browser: BrowserContext, harness_url: str
) -> None:
    page = open_grid(grid_browser, harness_url, "?pending=9,10", videos=8)
    try:
        before = by_id(page)
        assert not before["job-9"]["hasVideo"] and not before["job-10"]["hasVideo"]
        assert "running" in before["job-9"]["pending"] and "rendering" in before["job-9"]["pending"]
        waiting = page.get_by_role("button", name="Pick Take 9", exact=True)
        expect(waiting).to_be_disabled()
        assert waiting.get_attribute("title").startswith("Not yet: available once")  # says why it is disabled
        play_all(page)
        page.wait_for_timeout(1_500)
        playing = by_id(page)

        page.get_by_role("button", name="Finish clips").click()
        page.wait_for_function(
            """() => [...document.querySelector('[data-testid="stBidiComponentIsolated"]')
                 .shadowRoot.querySelectorAll('video')].filter((v) => !v.paused && !v.seeking).length === 10""",
            timeout=10_000,
        )
        page.wait_for_timeout(700)  # let the newcomers settle onto the shared clock
        after = by_id(page)
    finally:
        page.close()

    for n in range(1, 9):
        clip_id = f"job-{n}"
        assert after[clip_id]["t"] > playing[clip_id]["t"] > 1.0, clip_id  # kept playing, never back to 0
        assert after[clip_id]["src"] == playing[clip_id]["src"]
    assert after["job-9"]["hasVideo"] and after["job-10"]["hasVideo"]
    assert spread(list(after.values())) <= 0.050


def test_grid_inside_a_refreshing_fragment_keeps_playing_and_admits_clips_as_they_arrive(
    grid_browser: BrowserContext, harness_url: str
) -> None:
    # The Compare page's pattern: st.fragment(run_every=...) re-sends every cell's status text.
    page = open_grid(grid_browser, harness_url, "?pending=9,10&fragment=1", videos=8)
    try:
        page.evaluate("window.gridHost = document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')")
        play_all(page)
        page.wait_for_timeout(1_000)
        early = by_id(page)
        page.wait_for_function(  # the harness finishes the pending clips after a few refreshes
            """() => [...document.querySelector('[data-testid="stBidiComponentIsolated"]')
                 .shadowRoot.querySelectorAll('video')].filter((v) => !v.paused && !v.seeking).length === 10""",
            timeout=10_000,
        )
        page.wait_for_timeout(700)
        late = by_id(page)
        same_element = page.evaluate(
            "window.gridHost === document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
        )
    finally:
        page.close()

    assert same_element  # never remounted by the fragment's reruns
    assert "refreshed" in late["job-1"]["detail"] and late["job-1"]["detail"] != early["job-1"]["detail"]
    for n in range(1, 9):
        assert late[f"job-{n}"]["t"] > early[f"job-{n}"]["t"] > 0.5
    assert spread(list(late.values())) <= 0.050


def test_space_toggles_playback_and_arrows_step_one_frame(grid: Page) -> None:
    grid.evaluate("document.activeElement.blur()")

    grid.keyboard.press(" ")
    expect(grid.get_by_role("button", name="Pause all", exact=True)).to_be_visible()
    grid.wait_for_timeout(400)
    grid.keyboard.press(" ")
    expect(grid.get_by_role("button", name="Play all", exact=True)).to_be_visible()
    scrub_to(grid, 1.0)
    grid.wait_for_timeout(300)
    grid.get_by_role("button", name="Step forward one frame", exact=True).click()
    grid.keyboard.press("ArrowRight")
    grid.keyboard.press("ArrowRight")
    grid.get_by_role("button", name="Step back one frame", exact=True).click()
    grid.wait_for_timeout(300)
    two_ahead = cells(grid)
    grid.keyboard.press("ArrowLeft")
    grid.wait_for_timeout(300)
    one_ahead = cells(grid)

    assert all(c["paused"] for c in one_ahead)
    assert all(c["t"] == pytest.approx(1.0 + 2 * FRAME, abs=0.002) for c in two_ahead)
    assert all(c["t"] == pytest.approx(1.0 + FRAME, abs=0.002) for c in one_ahead)


def test_loop_restarts_the_whole_timeline_after_the_longest_clip(grid: Page) -> None:
    loop = grid.get_by_role("button", name="Loop", exact=True)
    loop.click()
    expect(loop).to_have_attribute("aria-pressed", "true")
    scrub_to(grid, 9.6)
    play_all(grid)
    grid.wait_for_timeout(1_500)

    readings = by_id(grid)
    assert readings[LONG_CLIP]["t"] < 2.0 and not readings[LONG_CLIP]["paused"]
    assert all(not c["paused"] for c in readings.values())  # the short clips restarted too


def test_speed_select_plays_every_clip_at_the_chosen_rate(grid: Page) -> None:
    grid.get_by_label("Speed").select_option("2")
    play_all(grid)
    start = by_id(grid)[LONG_CLIP]["t"]
    grid.wait_for_timeout(1_000)

    readings = cells(grid)
    leader = next(c for c in readings if c["id"] == LONG_CLIP)
    assert leader["t"] - start > 1.5
    assert spread(readings) <= 0.050


def test_double_click_enlarges_a_clip_and_escape_returns(grid: Page) -> None:
    cell = grid.get_by_role("group", name="Take 7", exact=True)

    cell.locator("video").dblclick()
    expect(cell).to_have_class("kl-cell is-enlarged")
    grid.wait_for_function(f"() => {SHADOW}.fullscreenElement?.classList.contains('kl-grid')")
    grid.keyboard.press("Escape")
    expect(cell).to_have_class("kl-cell")
    grid.wait_for_function("() => document.fullscreenElement === null")


def _rect(page: Page, selector: str) -> dict:
    return page.evaluate(f"() => {SHADOW}.querySelector({selector!r}).getBoundingClientRect().toJSON()")


def test_transport_stays_in_view_when_ten_takes_scroll_under_it(grid: Page) -> None:
    grid.set_viewport_size({"width": 1280, "height": 800})
    try:
        grid.mouse.move(640, 500)
        grid.mouse.wheel(0, 3_000)
        grid.wait_for_function(f"() => {SHADOW}.querySelector('[data-clip-id=\"job-10\"]')"
                               ".getBoundingClientRect().bottom < 800")
        bar = _rect(grid, ".kl-transport")
        first = _rect(grid, '[data-clip-id="job-1"]')
        # The first take scrolled away under it, yet the transport sits just below Streamlit's header,
        # on top of everything there (the Play button is what a click at its centre reaches).
        assert first["top"] < bar["top"]
        assert 0 <= bar["top"] <= 80 and bar["bottom"] < 800
        on_top = grid.evaluate(
            f"""() => {{ const b = {SHADOW}.querySelector('.kl-play').getBoundingClientRect();
                 const hit = {SHADOW}.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
                 return !!hit && !!hit.closest('.kl-play'); }}"""
        )
        assert on_top
        play_all(grid)  # and it still works from there
    finally:
        grid.mouse.wheel(0, -5_000)
        grid.set_viewport_size({"width": 1600, "height": 1200})


def test_play_all_plays_the_first_takes_sound_and_says_how_to_hear_another(grid: Page) -> None:
    hint = grid.locator(".kl-sound")
    expect(hint).to_contain_text("Sound: Take 1")
    expect(hint).to_contain_text("Press 1–9, 0")

    play_all(grid)
    grid.wait_for_timeout(600)

    readings = by_id(grid)
    heard = [c["id"] for c in readings.values() if not c["muted"]]
    assert heard == ["job-1"]
    assert not readings["job-1"]["paused"] and readings["job-1"]["t"] > 0.2  # playing with its sound on
    expect(hint).not_to_contain_text("held back")  # the browser did not refuse the sound
    grid.evaluate("document.activeElement && document.activeElement.blur()")
    grid.keyboard.press("4")
    expect(hint).to_contain_text("Sound: Take 4")
    assert [c["id"] for c in cells(grid) if not c["muted"]] == [LONG_CLIP]
    grid.keyboard.press("4")  # the same take again mutes every take, and the hint says so
    expect(hint).to_contain_text("Every take is muted")
    assert all(c["muted"] for c in cells(grid))


def test_sound_the_browser_refuses_does_not_stall_play_all_and_the_hint_says_so(grid: Page) -> None:
    # A stricter autoplay policy than this Chromium's: any play() with sound on is refused.
    grid.evaluate("""() => {
      const real = HTMLMediaElement.prototype.play;
      window.__realPlay = real;
      HTMLMediaElement.prototype.play = function () {
        return this.muted ? real.call(this) : Promise.reject(new DOMException('no gesture', 'NotAllowedError'));
      };
    }""")
    try:
        play_all(grid)
        grid.wait_for_timeout(800)
        readings = cells(grid)
        assert all(not c["paused"] and c["muted"] for c in readings)  # every take plays on, muted
        assert spread(readings) <= 0.050
        expect(grid.locator(".kl-sound")).to_contain_text("held back the sound")
    finally:
        grid.evaluate("() => { HTMLMediaElement.prototype.play = window.__realPlay; }")
    grid.get_by_role("button", name="Solo Take 1", exact=True).click()  # a click is a gesture: sound back
    expect(grid.locator(".kl-sound")).to_contain_text("Sound: Take 1")
    assert [c["id"] for c in cells(grid) if not c["muted"]] == ["job-1"]


def test_fullscreen_button_shows_the_whole_grid_through_the_fullscreen_api(grid: Page) -> None:
    button = grid.get_by_role("button", name="Fullscreen: every take", exact=True)
    button.click()

    grid.wait_for_function(f"() => document.fullscreenElement !== null && "
                           f"{SHADOW}.fullscreenElement?.classList.contains('kl-grid')")
    exit_button = grid.get_by_role("button", name="Exit fullscreen", exact=True)
    expect(exit_button).to_have_attribute("aria-pressed", "true")
    grid.get_by_role("button", name="Fullscreen Take 3", exact=True).click()  # one take, still fullscreen
    expect(grid.get_by_role("group", name="Take 3", exact=True)).to_have_class("kl-cell is-enlarged")
    grid.get_by_role("button", name="Fullscreen Take 3", exact=True).click()  # back to the grid
    expect(grid.get_by_role("group", name="Take 3", exact=True)).to_have_class("kl-cell")
    assert grid.evaluate("() => document.fullscreenElement !== null")
    exit_button.click()
    grid.wait_for_function("() => document.fullscreenElement === null")
    expect(button).to_have_attribute("aria-pressed", "false")


def test_a_refused_fullscreen_falls_back_to_the_in_page_view(grid: Page) -> None:
    grid.evaluate("""() => {
      window.__realRequestFullscreen = Element.prototype.requestFullscreen;
      Element.prototype.requestFullscreen = () => Promise.reject(new TypeError('Permissions check failed'));
    }""")
    try:
        cell = grid.get_by_role("group", name="Take 5", exact=True)
        grid.get_by_role("button", name="Fullscreen Take 5", exact=True).click()
        expect(cell).to_have_class("kl-cell is-enlarged")  # the in-page enlarge
        assert grid.evaluate("() => document.fullscreenElement === null")
        grid.keyboard.press("Escape")
        expect(cell).to_have_class("kl-cell")

        grid.get_by_role("button", name="Fullscreen: every take", exact=True).click()
        expect(grid.locator(".kl-grid")).to_have_class("kl-grid is-fullscreen is-pseudo-fullscreen")
        box = _rect(grid, ".kl-grid")
        assert box["width"] == 1600 and box["height"] == 1200  # covers the window
        grid.keyboard.press("Escape")
        expect(grid.locator(".kl-grid")).to_have_class("kl-grid")
    finally:
        grid.evaluate("() => { Element.prototype.requestFullscreen = window.__realRequestFullscreen; }")


def test_keep_is_a_labelled_bookmark_apart_from_the_five_star_rating(grid: Page) -> None:
    keep = grid.get_by_role("button", name="Keep Take 8", exact=True)
    expect(keep).to_have_text("Keep")
    assert "★" not in keep.inner_text() and "☆" not in keep.inner_text()
    assert "Not a rating" in keep.get_attribute("title")
    assert keep.evaluate("b => !b.closest('.kl-rating')")  # not inside the rating group
    rating = grid.get_by_role("group", name="Rating for Take 8", exact=True)
    assert "1 to 5" in rating.get_attribute("title")
    expect(rating.get_by_role("button")).to_have_count(5)


def test_picked_stays_on_one_line_and_keeps_the_cell_height(grid: Page) -> None:
    grid.set_viewport_size({"width": 1280, "height": 800})
    try:
        pick = grid.get_by_role("button", name="Pick Take 3", exact=True)
        cell = grid.get_by_role("group", name="Take 3", exact=True)
        before = (cell.bounding_box()["height"], pick.bounding_box())
        was = pick.get_attribute("aria-pressed")
        pick.click()
        expect(pick).to_have_attribute("aria-pressed", "false" if was == "true" else "true", timeout=10_000)
        after = (cell.bounding_box()["height"], pick.bounding_box())
        if pick.get_attribute("aria-pressed") == "true":
            pick.click()  # leave it unpicked for the other tests
    finally:
        grid.set_viewport_size({"width": 1600, "height": 1200})

    assert after[0] == before[0]
    assert after[1]["width"] == before[1]["width"] and after[1]["height"] == before[1]["height"]
    line = pick.evaluate("b => parseFloat(getComputedStyle(b).lineHeight)")
    assert after[1]["height"] < 2 * line  # one line of text
