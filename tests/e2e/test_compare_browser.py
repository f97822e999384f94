"""Compare and History in a real browser: a pick reaches the store; History cards show the prompt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kling_lab.store import Store
from tests.e2e.conftest import GRID_VIDEOS_JS, ROOT, run_app, wait_for_app

pytestmark = pytest.mark.e2e

SHADOW_HTML = ("() => document.documentElement.outerHTML + "
               "(document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')?.shadowRoot?.innerHTML ?? '')")


def _enqueue(data_dir: Path, template: str) -> str:
    env = {**os.environ, "KLING_LAB_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-m", "kling_lab", "generate", template, "--provider", "animatic",
                          "--detach", "--json"], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["batch_id"]


def _wait_ready(tab, count: int, app=None) -> None:  # noqa: ANN001
    """Every cell's video has its first frame; on a timeout, what the cells and the app were doing."""
    try:
        tab.wait_for_function(
            f"() => {{ const v = {GRID_VIDEOS_JS}; return v.length === {count} && v.every(x => x.readyState >= 2); }}",
            timeout=60_000,
        )
    except Exception as exc:
        cells = tab.evaluate(f"() => {GRID_VIDEOS_JS}.map(v => [v.readyState, v.networkState, v.error?.code ?? null,"
                             " v.currentSrc.replace(/token=[^&]*/, 'token=…')])")
        log = app.log()[-4000:] if app is not None else "(not given)"
        raise AssertionError(f"grid videos not ready: {cells}\napp log:\n{log}") from exc


def _all_done(app, batch_id: str) -> None:  # noqa: ANN001
    """The app's worker rendered every take (the animatic is a few seconds a take; CI shares two cores)."""
    store = Store(app.data_dir / "kling_lab.sqlite3")
    done = _until(lambda: all(j.state.value == "done" for j in store.jobs_for_batch(batch_id)), timeout=120)
    states = [(j.label, j.state.value) for j in store.jobs_for_batch(batch_id)]
    assert done, f"takes not rendered: {states}\napp log:\n{app.log()[-4000:]}"


def _until(predicate, timeout: float = 15) -> bool:  # noqa: ANN001
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):  # noqa: ANN001, ANN201 - (the running app, the batch id), one per module
    data = tmp_path_factory.mktemp("compare") / "data"
    with run_app(data) as app:
        yield app, _enqueue(data, "a harbour at night, {slow push-in|pan left}")


def test_pick_in_the_compare_grid_is_stored_as_the_batch_winner(tab, harbour) -> None:  # noqa: ANN001
    app, batch_id = harbour
    _all_done(app, batch_id)
    tab.goto(f"{app.url}/compare?batch={batch_id}")
    wait_for_app(tab)
    _wait_ready(tab, 2, app)
    tab.get_by_role("button", name="Pick pan left").click()
    store = Store(app.data_dir / "kling_lab.sqlite3")
    pan_left = next(j for j in store.jobs_for_batch(batch_id) if j.label == "pan left")
    assert _until(lambda: store.get_batch(batch_id).winner_job_id == pan_left.id)


def test_history_cards_show_the_prompt_with_what_differs_highlighted(tab, harbour) -> None:  # noqa: ANN001
    app, batch_id = harbour
    _all_done(app, batch_id)
    store = Store(app.data_dir / "kling_lab.sqlite3")
    pan_left = next(j for j in store.jobs_for_batch(batch_id) if j.label == "pan left")
    tab.goto(f"{app.url}/history")
    wait_for_app(tab)

    card = tab.locator(f".st-key-card_{pan_left.id}")
    expect(card).to_contain_text("a harbour at night, pan left")  # the prompt itself, not only its label
    marked = card.locator("[data-testid='stMarkdownContainer'] span").filter(has_text="pan left")
    expect(marked.first).to_be_visible()
    background = marked.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # highlighted: what this take changes
    expect(card).to_contain_text("Batch: a harbour at night, {slow push-in|pan left}")
    assert batch_id not in card.inner_text()


# The review board (a review link's only page) is tested in test_review_link_browser.py.
