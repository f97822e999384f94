"""Holding only a review link, a second browser reaches that one board and nothing else (pages, routes, batches).

One app server for the module. The link is made by the CLI (`kling-lab review-link`),
so the CLI and the app agree on the server secret; the visitor's browser context
has nothing but the link.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from kling_lab.store import Store
from tests.e2e.conftest import GRID_VIDEOS_JS, RunningApp, run_app, wait_for_app
from tests.e2e.links import review_link
from tests.e2e.test_compare_browser import _enqueue, _until, _wait_ready

pytestmark = pytest.mark.e2e

NAV = "[data-testid='stSidebarNav']"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApp, str, str, dict]]:
    data = tmp_path_factory.mktemp("review") / "data"
    with run_app(data) as app:
        shown = _enqueue(data, "a forest in fog, {crane up|orbit}")
        other = _enqueue(data, "a lighthouse at dusk")
        store = Store(data / "kling_lab.sqlite3")
        assert _until(lambda: not store.has_unfinished(), timeout=60)
        yield app, shown, other, review_link(data, shown, public_url=app.url)


def _token(link: dict) -> str:
    return link["url"].split("review=", 1)[1]


def _board(tab, url: str) -> None:  # noqa: ANN001
    tab.goto(url)
    wait_for_app(tab)
    _wait_ready(tab, 2)


def _pick_of(store: Store, batch_id: str, link: dict) -> str | None:
    return store.review_pick(batch_id, link_id=link["link_id"], name="Ana")


def test_the_board_pick_changes_un_picks_and_survives_reload(tab, lab) -> None:  # noqa: ANN001
    app, batch_id, _, link = lab
    assert link["url"].startswith(app.url + "/?review=")
    _board(tab, link["url"])
    body = tab.inner_text("body")
    assert "$" not in body and "task" not in body.lower() and tab.locator(NAV).count() == 0
    assert tab.get_by_role("button", name="Generate").count() == 0
    name = tab.get_by_role("textbox", name="Your name")
    name.fill("Ana")
    name.press("Enter")
    wait_for_app(tab)
    store = Store(app.data_dir / "kling_lab.sqlite3")
    takes = {j.label: j.id for j in store.jobs_for_batch(batch_id)}
    tab.get_by_role("button", name="Pick orbit").click()
    assert _until(lambda: _pick_of(store, batch_id, link) == takes["orbit"])
    wait_for_app(tab)
    tab.get_by_role("button", name="Pick crane up").click()
    assert _until(lambda: _pick_of(store, batch_id, link) == takes["crane up"])
    assert [r.job_id for r in store.reviews_for_batch(batch_id) if r.kind == "pick"] == [takes["crane up"]]
    tab.reload()  # a new session: the name comes back from the URL, the pick from the store
    wait_for_app(tab)
    _wait_ready(tab, 2)
    tab.get_by_text("Your pick: crane up").wait_for(timeout=15_000)
    tab.get_by_role("button", name="Take back my pick").click()
    assert _until(lambda: _pick_of(store, batch_id, link) is None)
    tab.reload()
    wait_for_app(tab)
    tab.get_by_text("You have not picked a take yet").wait_for(timeout=15_000)


@pytest.mark.parametrize("path", ["/", "/compare", "/history", "/settings", "/pricing"])
def test_every_page_path_with_the_link_shows_only_the_board(tab, lab, path: str) -> None:  # noqa: ANN001
    app, _, other, link = lab
    _board(tab, f"{app.url}{path}?review={_token(link)}&batch={other}")
    assert tab.get_by_role("heading", name="Review").count() == 1
    assert tab.locator(NAV).count() == 0
    body = tab.inner_text("body")
    for word in ("Compose", "Settings", "History", "lighthouse", "$"):
        assert word not in body, (path, word)


def test_the_link_fetches_its_batch_files_only(tab, lab) -> None:  # noqa: ANN001
    app, batch_id, other, link = lab
    _board(tab, link["url"])
    sources = tab.evaluate(f"() => {GRID_VIDEOS_JS}.map(v => v.currentSrc || v.src)")
    assert len(sources) == 2 and all("?t=v1." in s for s in sources)
    with httpx.Client(base_url=app.url, timeout=30) as http:
        assert http.get(sources[0]).status_code == 200
        token = sources[0].split("?t=", 1)[1]
        other_clip = Store(app.data_dir / "kling_lab.sqlite3").jobs_for_batch(other)[0].id
        refused = [http.get(f"/clips/{other_clip}.mp4", params={"t": token}),
                   http.get(f"/thumbs/{other_clip}.jpg", params={"t": token}),
                   http.get(f"/exports/{batch_id}.zip", params={"t": token}),
                   http.get(f"/exports/{other}.zip", params={"t": token}),
                   http.get(f"/frames/{'0' * 64}.png", params={"t": token}),
                   http.get(f"/clips/{other_clip}.mp4"),
                   http.get(f"/exports/{other}.zip"),
                   http.get(f"/exports/{other}.zip", params={"t": _token(link)})]  # a review link is no file token
        for response in refused:
            assert response.status_code == 403, response.url
            assert response.headers["content-type"].startswith("text/plain")
            assert "Traceback" not in response.text and "/" not in response.text.rstrip(".")


def test_a_tampered_and_a_revoked_link_show_the_plain_sentence(tab, lab) -> None:  # noqa: ANN001
    app, batch_id, _, _ = lab
    link = review_link(app.data_dir, batch_id, public_url=app.url)
    _board(tab, link["url"])
    clip_url = tab.evaluate(f"() => {GRID_VIDEOS_JS}[0].currentSrc")
    token = _token(link)
    tab.goto(f"{app.url}/?review={token[:-4]}{'AAAA' if not token.endswith('AAAA') else 'BBBB'}")
    wait_for_app(tab)
    tab.get_by_text("This review link is not valid.").wait_for(timeout=15_000)
    Store(app.data_dir / "kling_lab.sqlite3").revoke_review_link(link["link_id"])
    tab.goto(link["url"])
    wait_for_app(tab)
    tab.get_by_text("This review link was revoked.").wait_for(timeout=15_000)
    body = tab.inner_text("body")
    assert "Traceback" not in body and str(app.data_dir) not in body and tab.locator(NAV).count() == 0
    assert tab.evaluate(f"() => {GRID_VIDEOS_JS}.length") == 0
    assert httpx.get(clip_url, timeout=30).status_code == 403  # its file token ended with it
