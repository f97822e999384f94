"""The grid's review in a real browser: timecoded comments, statuses and picks by name.

Runs Debian's Chromium against tests/e2e/grid_harness_app.py with ``?review=1``: four clips (clip 4
runs 10 s, so the timeline is 10 s), Take 1 carries a comment at 1.0 s by Ann whose text is markup
and the viewer's own range comment 2.5–3.5 s; Take 2 is approved by Ann and picked by Ann and Bo;
Take 3 has changes requested by Bo, a badge and a lineage. The harness applies each event as the
door would and prints the last one as JSON, which is what these tests read back.
"""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import BrowserContext, Page, expect  # noqa: E402

from tests.e2e.test_video_grid import (  # noqa: E402,F401 - fixtures shared with the playback tests
    SHADOW,
    grid_browser,
    harness_url,
    open_grid,
    scrub_to,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

FRAME = 1 / 24
TIMELINE = 10.0
MARKUP = '<b>bold</b> **not bold** <img src=x onerror="window.__pwned=1">'
EVENT = re.compile(r"event json: (.*)")


@pytest.fixture
def board(grid_browser: BrowserContext, harness_url: str) -> Page:  # noqa: F811 - the imported fixtures
    """A fresh review session per test (the harness keeps its review state per session)."""
    page = open_grid(grid_browser, harness_url, "?review=1", videos=4)
    yield page
    page.close()


def last_event(page: Page, kind: str) -> dict:
    """The harness's last event once it is of `kind` (waits for the rerun the event caused)."""
    locator = page.get_by_text(re.compile(rf'event json: .*"kind": "{kind}"'))
    expect(locator).to_be_visible(timeout=10_000)
    return json.loads(EVENT.search(locator.inner_text()).group(1))


def markers(page: Page, testid: str = "comment-marker") -> list[dict]:
    return page.evaluate(
        f"""() => [...{SHADOW}.querySelectorAll('[data-testid="{testid}"]')].map((m) => {{
          const track = m.parentElement.getBoundingClientRect();
          const box = m.getBoundingClientRect();
          return {{ at: Number(m.dataset.at), clip: m.dataset.clipId, until: m.dataset.until ?? null,
                   title: m.title, left: box.left - track.left, width: box.width, trackWidth: track.width,
                   classes: m.className }};
        }})"""
    )


def videos(page: Page) -> list[dict]:
    return page.evaluate(
        f"() => [...{SHADOW}.querySelectorAll('video')].map((v) => ({{t: v.currentTime, paused: v.paused,"
        f" seeking: v.seeking, muted: v.muted}}))"
    )


def cell(page: Page, n: int):  # noqa: ANN201 - a Playwright Locator
    return page.get_by_role("group", name=f"Take {n}", exact=True)


def test_comments_are_marks_on_the_takes_track_at_their_frames(board: Page) -> None:
    marks = [m for m in markers(board) if m["clip"] == "job-1"]

    assert [(m["at"], m["until"]) for m in marks] == [(1.0, None), (2.5, "3.500")]
    point, band = marks
    # A point sits centred on its time; a range is a band from at to until (the track spans the 10 s timeline).
    assert point["left"] + point["width"] / 2 == pytest.approx(point["trackWidth"] * 1.0 / TIMELINE, abs=1.5)
    assert band["left"] == pytest.approx(band["trackWidth"] * 2.5 / TIMELINE, abs=1.5)
    assert band["width"] == pytest.approx(band["trackWidth"] * 1.0 / TIMELINE, abs=1.5)
    assert point["title"] == f"Ann: {MARKUP}" and band["title"] == "Lead: range note"
    # The same comments tick the shared scrubber, in the take's colour.
    ticks = markers(board, "scrub-marker")
    assert [(t["at"], t["clip"]) for t in ticks] == [(1.0, "job-1"), (2.5, "job-1")]
    assert ticks[0]["left"] + ticks[0]["width"] / 2 == pytest.approx(ticks[0]["trackWidth"] / TIMELINE, abs=1.5)
    assert not [m for m in markers(board) if m["clip"] != "job-1"]


def test_c_at_a_frame_opens_a_box_whose_send_emits_a_comment_at_that_frame(board: Page) -> None:
    scrub_to(board, 2.5)
    board.get_by_role("button", name="Step forward one frame", exact=True).click()  # frame 61
    board.keyboard.press("c")

    box = board.get_by_role("textbox", name="Comment on Take 1", exact=True)
    expect(box).to_be_focused()
    expect(cell(board, 1).locator(".kl-compose-when")).to_have_text("at 0:02.54 · frame 61")
    muted_before = [v["muted"] for v in videos(board)]
    box.press_sequentially("<i>fog</i> & rain f 1 ")  # space, f and 1 are transport keys elsewhere
    assert board.evaluate(f"() => {SHADOW}.querySelector('.kl-grid').dataset.state") == "paused"
    assert board.evaluate("() => document.fullscreenElement === null")
    assert [v["muted"] for v in videos(board)] == muted_before
    assert all(v["paused"] for v in videos(board))
    board.get_by_role("button", name="Send comment on Take 1", exact=True).click()

    event = last_event(board, "comment")
    assert event["clip_id"] == "job-1"
    assert event["value"]["at"] == pytest.approx(61 / 24, abs=1 / 48)
    assert event["value"]["until"] is None and event["value"]["text"] == "<i>fog</i> & rain f 1"
    expect(box).to_be_hidden()
    row = cell(board, 1).locator('[data-testid="comment-row"][data-at="2.542"]')
    expect(row).to_have_text(re.compile(r"0:02\.54\s*Lead\s*<i>fog</i> & rain f 1"))
    assert board.evaluate(f"() => {SHADOW}.querySelectorAll('i').length") == 0
    assert any(m["at"] == 2.542 and m["clip"] == "job-1" for m in markers(board))


def test_clicking_a_comment_row_seeks_every_take_to_its_frame(board: Page) -> None:
    board.get_by_role("button", name="Play all", exact=True).click()
    board.wait_for_timeout(600)

    cell(board, 1).locator('[data-testid="comment-row"][data-at="2.500"]').click()

    board.wait_for_function(
        f"() => [...{SHADOW}.querySelectorAll('video')].every((v) => v.paused && !v.seeking"
        " && Math.abs(v.currentTime - 2.5) < 0.002)",
        timeout=5_000,
    )
    assert board.evaluate(f"() => {SHADOW}.querySelector('.kl-grid').dataset.position") == "2.500"


def test_markup_in_a_comment_shows_literally_on_the_row_and_the_marker(board: Page) -> None:
    row = cell(board, 1).locator('[data-testid="comment-row"][data-at="1.000"]')

    expect(row.locator(".kl-comment-text")).to_have_text(MARKUP)
    expect(row.locator(".kl-comment-author")).to_have_text("Ann")
    assert row.locator(".kl-comment-text").evaluate("n => n.childElementCount") == 0  # one text node
    stray = f"() => [...{SHADOW}.querySelectorAll('b, img')].filter((n) => !n.closest('.kl-pending')).length"
    assert board.evaluate(stray) == 0  # the only images are the cells' own posters
    assert board.evaluate("() => window.__pwned") is None
    # Ann's comment is not the viewer's: no Edit/Delete on it; the viewer's own range comment has both.
    expect(cell(board, 1).get_by_role("button", name=re.compile("your comment at 0:01.00"))).to_have_count(0)
    expect(cell(board, 1).get_by_role("button", name="Edit your comment at 0:02.50–0:03.50")).to_be_visible()


def test_status_buttons_emit_status_events_and_the_badge_says_who(board: Page) -> None:
    expect(cell(board, 2).get_by_test_id("take-status")).to_have_text("Approved · by Ann")
    expect(cell(board, 3).get_by_test_id("take-status")).to_have_text("Changes requested · by Bo")
    expect(board.get_by_role("button", name="Request changes Take 3", exact=True)).to_have_attribute(
        "aria-pressed", "true")
    expect(cell(board, 4).get_by_test_id("take-status")).to_be_hidden()

    board.get_by_role("button", name="Reject Take 4", exact=True).click()
    event = last_event(board, "status")
    assert (event["clip_id"], event["value"]) == ("job-4", "rejected")
    expect(cell(board, 4).get_by_test_id("take-status")).to_have_text("Rejected · by Lead")
    assert cell(board, 4).get_by_test_id("take-status").get_attribute("data-status") == "rejected"

    board.get_by_role("button", name="Reject Take 4", exact=True).click()  # the current one again clears it
    expect(board.get_by_text('event json: {"kind": "status", "clip_id": "job-4", "value": null}')).to_be_visible(
        timeout=10_000)
    expect(cell(board, 4).get_by_test_id("take-status")).to_be_hidden()
    expect(board.get_by_role("button", name="Reject Take 4", exact=True)).to_have_attribute("aria-pressed", "false")


def test_picks_by_name_badge_and_lineage_show_as_text(board: Page) -> None:
    expect(cell(board, 2).locator(".kl-picked-by")).to_have_text("Picked by Ann, Bo")
    expect(cell(board, 3).locator(".kl-badge")).to_have_text("Pinned · T003 from an earlier batch")
    expect(cell(board, 3).locator(".kl-lineage")).to_have_text("T006 from T003: cfg 0.5 → 0.7")
    expect(cell(board, 1).locator(".kl-picked-by")).to_be_hidden()


def test_shift_drag_on_a_takes_track_comments_on_that_range(board: Page) -> None:
    track = cell(board, 2).locator(".kl-track").bounding_box()
    y = track["y"] + track["height"] / 2
    board.keyboard.down("Shift")
    board.mouse.move(track["x"] + track["width"] * 0.2, y)
    board.mouse.down()
    board.mouse.move(track["x"] + track["width"] * 0.3, y, steps=4)
    board.mouse.move(track["x"] + track["width"] * 0.4, y, steps=4)
    board.mouse.up()
    board.keyboard.up("Shift")

    when = cell(board, 2).locator(".kl-compose-when")
    expect(when).to_contain_text("from 0:02.")
    box = board.get_by_role("textbox", name="Comment on Take 2", exact=True)
    expect(box).to_be_focused()
    box.fill("hold this beat")
    board.get_by_role("button", name="Send comment on Take 2", exact=True).click()

    event = last_event(board, "comment")
    assert event["clip_id"] == "job-2"
    assert event["value"]["at"] == pytest.approx(2.0, abs=2 * FRAME)
    assert event["value"]["until"] == pytest.approx(4.0, abs=2 * FRAME)
    for t in (event["value"]["at"], event["value"]["until"]):
        assert t * 24 == pytest.approx(round(t * 24), abs=1e-6)  # whole frames
    assert [m["clip"] for m in markers(board) if m["until"]] == ["job-1", "job-2"]


def test_mark_in_and_mark_out_set_a_range_from_the_transport(board: Page) -> None:
    scrub_to(board, 1.0)
    board.get_by_role("button", name="Comment on Take 4", exact=True).click()
    scrub_to(board, 3.0)
    cell(board, 4).get_by_role("button", name="Mark out", exact=True).click()
    expect(cell(board, 4).locator(".kl-compose-when")).to_have_text("from 0:01.00 to 0:03.00 · frames 24–72")
    board.get_by_role("textbox", name="Comment on Take 4", exact=True).fill("  ")
    expect(board.get_by_role("button", name="Send comment on Take 4", exact=True)).to_be_disabled()  # blank
    board.get_by_role("textbox", name="Comment on Take 4", exact=True).fill("slower here")
    board.get_by_role("button", name="Send comment on Take 4", exact=True).click()

    event = last_event(board, "comment")
    assert event["value"] == {"at": 1.0, "until": 3.0, "text": "slower here"}


def test_the_viewers_own_comment_can_be_edited_and_deleted(board: Page) -> None:
    take = cell(board, 1)
    take.get_by_role("button", name="Edit your comment at 0:02.50–0:03.50", exact=True).click()
    editor = take.get_by_role("textbox", name="Edit your comment at 0:02.50–0:03.50", exact=True)
    expect(editor).to_be_focused()
    editor.fill("range note, <u>longer</u>")
    take.get_by_role("button", name="Save", exact=True).click()

    event = last_event(board, "edit_comment")
    assert event["value"] == {"id": 2, "text": "range note, <u>longer</u>"}
    row = take.locator('[data-testid="comment-row"][data-at="2.500"]')
    expect(row.locator(".kl-comment-text")).to_have_text("range note, <u>longer</u>")

    delete = take.get_by_role("button", name="Delete your comment at 0:02.50–0:03.50", exact=True)
    delete.click()
    expect(delete).to_have_text("Confirm delete")  # one press alone deletes nothing
    delete.click()
    event = last_event(board, "delete_comment")
    assert event["value"] == {"id": 2}
    expect(row).to_have_count(0)
    assert [m["at"] for m in markers(board)] == [1.0]


def test_playback_keeps_running_while_reviews_change(board: Page) -> None:
    board.evaluate(f"() => {{ window.__videos = [...{SHADOW}.querySelectorAll('video')]; }}")
    board.get_by_role("button", name="Play all", exact=True).click()
    board.wait_for_timeout(700)
    before = videos(board)

    board.get_by_role("button", name="Approve Take 3", exact=True).click()
    last_event(board, "status")
    expect(cell(board, 3).get_by_test_id("take-status")).to_have_text("Approved · by Lead")
    board.wait_for_timeout(300)
    after = videos(board)

    same = board.evaluate(f"() => [...{SHADOW}.querySelectorAll('video')].every((v, i) => v === window.__videos[i])")
    assert same  # not one <video> was recreated by the rerun
    assert all(not v["paused"] for v in after)
    assert all(a["t"] > b["t"] for a, b in zip(after, before, strict=True))
