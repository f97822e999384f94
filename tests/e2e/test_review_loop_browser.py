"""The review loop in a real browser: a reviewer's comment at a frame and approval reach the lead's Compare and History.

One app server (the README's run command) and two browser contexts. The lead's
Compare is open first; the reviewer, holding only a review link made by the CLI
(`kling-lab review-link`), types a name, pauses the grid at a known frame,
comments there with markup in the text and approves a take. The lead's Compare
then shows, without a reload, a marker at that frame on that take, the comment
as literal text and the Approved badge; History shows the status on its card.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from kling_lab.store import Store
from tests.e2e.conftest import GRID_VIDEOS_JS, RunningApp, run_app, wait_for_app
from tests.e2e.links import review_link
from tests.e2e.test_compare_browser import _enqueue, _until, _wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

FPS = 24
FRAME = 30  # 1.25 s into the takes
TEXT = "<b>x</b> hold here & slower"
SHADOW = "document.querySelector('[data-testid=\"stBidiComponentIsolated\"]').shadowRoot"


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, str, dict[str, str], dict]]:
    data = tmp_path_factory.mktemp("review_loop") / "data"
    with run_app(data) as app:
        batch_id = _enqueue(data, "a forest in fog, {crane up|orbit}")
        store = Store(data / "kling_lab.sqlite3")
        assert _until(lambda: not store.has_unfinished(), timeout=60)
        takes = {j.label: j.id for j in store.jobs_for_batch(batch_id)}
        yield app, batch_id, takes, review_link(data, batch_id, public_url=app.url)


def _markers(page: Page) -> list[dict]:
    return page.evaluate(f"""() => [...{SHADOW}.querySelectorAll('[data-testid="comment-marker"]')]
        .map((m) => ({{ at: Number(m.dataset.at), clip: m.dataset.clipId }}))""")


def _paused_at(page: Page, seconds: float) -> None:
    page.get_by_role("slider", name="Scrub all clips").fill(str(seconds))
    page.wait_for_function(
        f"(t) => {GRID_VIDEOS_JS}.every((v) => v.paused && !v.seeking && Math.abs(v.currentTime - t) < 0.01)",
        arg=seconds, timeout=10_000)


def test_a_reviewers_frame_comment_and_approval_show_in_the_leads_compare_and_history(chromium, loop) -> None:  # noqa: ANN001
    app, batch_id, takes, link = loop
    store = Store(app.data_dir / "kling_lab.sqlite3")
    orbit, crane = takes["orbit"], takes["crane up"]
    at = FRAME / FPS
    lead_context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    reviewer_context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        # The lead's Compare, open while the board is in use.
        lead = lead_context.new_page()
        lead.goto(f"{app.url}/compare?batch={batch_id}")
        wait_for_app(lead)
        _wait_ready(lead, 2)
        assert _markers(lead) == []

        # The reviewer: only the link; a name, then a paused frame, Comment, text with markup, Send; Approve.
        board = reviewer_context.new_page()
        board.goto(link["url"])
        wait_for_app(board)
        name = board.get_by_role("textbox", name="Your name")
        name.fill("Ana")
        name.press("Enter")
        wait_for_app(board)
        _wait_ready(board, 2)
        comment = board.get_by_role("button", name="Comment on orbit", exact=True)
        expect(comment).to_be_visible(timeout=15_000)
        _paused_at(board, at)
        comment.click()
        cell = board.get_by_role("group", name="orbit", exact=True)
        expect(cell.locator(".kl-compose-when")).to_have_text(f"at 0:01.25 · frame {FRAME}")
        board.get_by_role("textbox", name="Comment on orbit", exact=True).fill(TEXT)
        board.get_by_role("button", name="Send comment on orbit", exact=True).click()
        assert _until(lambda: len(store.take_notes.for_jobs([orbit, crane])) == 1)
        [stored] = store.take_notes.for_jobs([orbit, crane])
        assert (stored.job_id, stored.text, stored.author_name) == (orbit, TEXT, "Ana")
        assert stored.at == pytest.approx(at, abs=1 / 48) and stored.until is None
        wait_for_app(board)
        board.get_by_role("button", name="Approve orbit", exact=True).click()
        assert _until(lambda: orbit in store.take_notes.statuses_for_jobs([orbit, crane]))
        assert store.take_notes.statuses_for_jobs([orbit, crane])[orbit].status == "approved"
        expect(cell.get_by_test_id("take-status")).to_have_text("Approved · by Ana", timeout=15_000)

        # The lead's Compare picks them up live (no reload): the marker at that frame on orbit only.
        lead.wait_for_function(
            f"() => {SHADOW}.querySelectorAll('[data-testid=\"comment-marker\"]').length === 1", timeout=20_000)
        [mark] = _markers(lead)
        assert mark["clip"] == orbit
        assert abs(mark["at"] - at) <= 1 / 48
        lead_cell = lead.get_by_role("group", name="orbit", exact=True)
        expect(lead_cell.get_by_test_id("take-status")).to_have_text("Approved · by Ana", timeout=15_000)
        expect(lead.get_by_role("group", name="crane up", exact=True).get_by_test_id("take-status")).to_be_hidden()
        row = lead_cell.locator('[data-testid="comment-row"]')
        expect(row.locator(".kl-comment-text")).to_have_text(TEXT)
        expect(row.locator(".kl-comment-author")).to_have_text("Ana")
        assert row.locator(".kl-comment-text").evaluate("n => n.childElementCount") == 0  # one text node
        assert lead.evaluate(f"() => {SHADOW}.querySelectorAll('b').length") == 0
        assert lead.locator("b").count() == 0

        # A reload reads the same from the store.
        lead.reload()
        wait_for_app(lead)
        _wait_ready(lead, 2)
        assert [(m["clip"], abs(m["at"] - at) <= 1 / 48) for m in _markers(lead)] == [(orbit, True)]
        expect(lead.get_by_role("group", name="orbit", exact=True).get_by_test_id("take-status")).to_have_text(
            "Approved · by Ana")

        # History: the status on that take's card, and not on the other's.
        lead.goto(f"{app.url}/history")
        wait_for_app(lead)
        card = lead.locator(f".st-key-card_{orbit}")
        expect(card).to_contain_text("Approved")
        expect(card).to_contain_text("by Ana")
        expect(lead.locator(f".st-key-card_{crane}")).to_be_visible()
        expect(lead.locator(f".st-key-card_{crane}")).not_to_contain_text("Approved")
        assert lead.locator("b").count() == 0
    finally:
        lead_context.close()
        reviewer_context.close()
