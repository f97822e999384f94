"""Compose work survives a reload, a new tab and a server restart, in a real browser (one app server, then the
same data folder served again); the uploader's ✕ removes the frame; Load into Compose restores the template and
Undo goes back. Screenshots at 1280×800 and 1440×900 go to /tmp (checked by eye, never kept in the repo)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kling_lab.media import MediaStore, make_thumbnail
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from tests.conftest import make_mp4
from tests.e2e.conftest import RunningApp, run_app, wait_for_app
from tests.emulator.testing import make_png

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/kling-lab-drafts-shots")
TEMPLATE = "a lighthouse at dusk, {slow push-in|orbit around the subject}, {weather}"
VARIABLES = "weather = fog | rain"
SEEDED_TEMPLATE = "a fox in {snow|rain}, {close-up|wide}"


def _seed(data_dir: Path) -> None:
    """One finished take of a templated batch, with its clip and thumbnail on disk."""
    store = Store(data_dir / "kling_lab.sqlite3")
    media = MediaStore(data_dir / "media")
    batch_id = store.create_batch(template=SEEDED_TEMPLATE, provider="animatic", settings={"variables": {}},
                                  jobs=[NewJob("snow · wide", "animatic",
                                               GenerationRequest(prompt="a fox in snow, wide"), Decimal(0))])
    job = store.jobs_for_batch(batch_id)[0]
    clip, thumb = media.clip_path(job.id), media.thumb_path(job.id)
    clip.write_bytes(make_mp4())
    make_thumbnail(clip, thumb)
    store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb))
    store.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drafts") / "data"
    path.mkdir()
    _seed(path)
    return path


@pytest.fixture(scope="module")
def app(data_dir: Path) -> Iterator[RunningApp]:
    with run_app(data_dir) as running:
        yield running


@pytest.fixture
def page_at(chromium):  # noqa: ANN001, ANN201 - opens a tab of a given size in a fresh context (a new browser)
    contexts = []

    def open_tab(width: int = 1280, height: int = 800):  # noqa: ANN202
        context = chromium.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield open_tab
    for context in contexts:
        context.close()


def _prompt(tab):  # noqa: ANN001, ANN202
    return tab.get_by_role("textbox", name="Prompt template")


def _type(tab, name: str, text: str) -> None:  # noqa: ANN001
    box = tab.get_by_role("textbox", name=name)
    box.fill(text)
    box.press("Tab")  # the value is committed (sent to the server) when the box loses focus
    wait_for_app(tab)


def _draft_in_url(tab) -> str:  # noqa: ANN001
    tab.wait_for_url(re.compile(r"[?&]draft=d_[0-9a-f]{12}"), timeout=20_000)
    return re.search(r"draft=(d_[0-9a-f]{12})", tab.url).group(1)


def _settled(tab) -> None:  # noqa: ANN001
    tab.wait_for_timeout(300)  # the change is written in its own run; this lets that run finish
    wait_for_app(tab)


def _in_view(tab, locator) -> bool:  # noqa: ANN001
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= tab.viewport_size["height"]


def test_a_template_and_variables_come_back_after_a_reload_and_in_a_new_tab(app: RunningApp, page_at) -> None:
    tab = page_at()
    tab.goto(app.url)
    wait_for_app(tab)
    _type(tab, "Prompt template", TEMPLATE)
    _type(tab, "Template variables", VARIABLES)
    draft_id = _draft_in_url(tab)
    _settled(tab)
    badge = tab.locator("[data-testid='stMetric']").first
    expect(badge).to_contain_text("4 takes", timeout=20_000)
    generate = tab.get_by_role("button", name="Generate")
    assert _in_view(tab, badge) and _in_view(tab, generate), "badge and Generate above the fold at 1280×800"
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / "compose-1280x800.png"))
    tab.locator("[data-testid='stDataFrame']").first.scroll_into_view_if_needed()
    tab.screenshot(path=str(SHOTS / "compose-table-1280.png"))

    tab.reload()
    wait_for_app(tab)
    expect(_prompt(tab)).to_have_value(TEMPLATE, timeout=20_000)
    expect(tab.get_by_role("textbox", name="Template variables")).to_have_value(VARIABLES)
    assert _draft_in_url(tab) == draft_id

    other = page_at(1440, 900)  # a new tab with no ?draft= (its own browser context): the latest draft
    other.goto(app.url)
    wait_for_app(other)
    expect(_prompt(other)).to_have_value(TEMPLATE, timeout=20_000)
    assert _draft_in_url(other) == draft_id
    other.locator("[data-testid='stDataFrame']").first.scroll_into_view_if_needed()
    other.screenshot(path=str(SHOTS / "compose-table-1440.png"))


def test_the_uploaders_own_x_removes_the_frame(app: RunningApp, page_at, tmp_path: Path) -> None:
    frame = tmp_path / "start.png"
    frame.write_bytes(make_png(640, 360))
    tab = page_at()
    tab.goto(app.url)
    wait_for_app(tab)
    uploader = tab.locator("[data-testid='stFileUploader']").first
    uploader.locator("input[type='file']").set_input_files(str(frame))
    wait_for_app(tab)
    preview = tab.get_by_text("640×360")
    expect(preview).to_be_visible(timeout=20_000)
    refused = tmp_path / "notes.gif"  # a file the browser would have refused silently before
    refused.write_bytes(b"GIF89a" + bytes(100))
    uploader.locator("input[type='file']").set_input_files(str(refused))
    wait_for_app(tab)
    expect(preview).to_have_count(0, timeout=20_000)  # the previous frame is gone, not kept behind the error
    expect(tab.locator("[data-testid='stAlertContentError']")).to_have_count(1)
    uploader.locator("input[type='file']").set_input_files(str(frame))
    wait_for_app(tab)
    expect(preview).to_be_visible(timeout=20_000)
    expect(tab.locator("[data-testid='stAlertContentError']")).to_have_count(0)  # and its error with it
    uploader.get_by_role("button", name="Remove start.png").click()  # the uploader's own ✕
    wait_for_app(tab)
    expect(preview).to_have_count(0, timeout=20_000)
    expect(tab.get_by_role("button", name="Remove")).to_have_count(0)
    _settled(tab)
    tab.reload()  # and the draft does not bring it back
    wait_for_app(tab)
    expect(tab.get_by_text("640×360")).to_have_count(0)


def test_load_into_compose_restores_the_template_and_undo_goes_back(app: RunningApp, page_at) -> None:
    tab = page_at(1440, 900)
    tab.goto(app.url)
    wait_for_app(tab)
    before = "a kite over the dunes, {dawn|dusk}"  # the draft this person has open (whatever an earlier test left)
    _type(tab, "Prompt template", before)
    _draft_in_url(tab)
    tab.get_by_role("link", name="History").click()  # in the same session, as a person would
    wait_for_app(tab)
    tab.locator("[class*='st-key-open_j_'] button").first.click()  # the card's Open
    wait_for_app(tab)
    tab.get_by_role("button", name="Load into Compose").click()
    wait_for_app(tab)
    expect(_prompt(tab)).to_have_value(SEEDED_TEMPLATE, timeout=20_000)
    expect(tab.locator("[data-testid='stMetric']").first).to_contain_text("4 takes")
    tab.get_by_role("button", name="Undo").click()
    wait_for_app(tab)
    expect(_prompt(tab)).to_have_value(before, timeout=20_000)
    tab.get_by_role("button", name="Recent drafts").click()
    expect(tab.get_by_role("button", name=re.compile(r"a fox in \{snow\|rain\}"))).to_be_visible()

    tab.goto(f"{app.url}/history")  # a fresh page load (a new session): Undo still goes back to the latest draft
    wait_for_app(tab)
    tab.locator("[class*='st-key-open_j_'] button").first.click()
    wait_for_app(tab)
    tab.get_by_role("button", name="Load into Compose").click()
    wait_for_app(tab)
    expect(_prompt(tab)).to_have_value(SEEDED_TEMPLATE, timeout=20_000)
    tab.get_by_role("button", name="Undo").click()
    wait_for_app(tab)
    expect(_prompt(tab)).to_have_value(before, timeout=20_000)


def test_a_server_restart_brings_the_same_draft_back(app: RunningApp, page_at) -> None:
    tab = page_at()
    tab.goto(app.url)
    wait_for_app(tab)
    _type(tab, "Prompt template", "after the restart, {dawn|dusk}")
    draft_id = _draft_in_url(tab)
    _settled(tab)
    app.process.terminate()
    app.process.wait(10)
    with run_app(app.data_dir) as again:
        fresh = page_at()
        fresh.goto(f"{again.url}/?draft={draft_id}")
        wait_for_app(fresh)
        expect(_prompt(fresh)).to_have_value("after the restart, {dawn|dusk}", timeout=20_000)
        newest = page_at()
        newest.goto(again.url)
        wait_for_app(newest)
        expect(_prompt(newest)).to_have_value("after the restart, {dawn|dusk}", timeout=20_000)
