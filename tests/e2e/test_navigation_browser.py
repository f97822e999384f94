"""Pages live in pages/, and no route shows Streamlit's legacy page list: the sidebar lists the five pages
by their titles, once each, and the review board shows no navigation at all.

Streamlit decides from the first session of a process whether `pages/` makes a legacy multipage app,
so each case starts a fresh server whose very first visit is the route under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, run_app, wait_for_app
from tests.e2e.links import review_path
from tests.e2e.test_compare_browser import _enqueue, _wait_ready

pytestmark = pytest.mark.e2e

TITLES = ["Compose", "Compare", "Sequence", "History", "Pricing", "Settings"]
NAV = "[data-testid='stSidebarNav']"


def _nav_titles(tab) -> list[str]:  # noqa: ANN001
    # Each link reads "<icon name> <title>": the icon is a font ligature.
    return [t.split()[-1] for t in tab.locator(f"{NAV} a").all_inner_texts()]


def test_the_pages_folder_is_named_as_the_design_card_says():
    assert sorted(p.stem for p in (ROOT / "pages").glob("*.py")) == sorted(t.lower() for t in TITLES)
    assert not (ROOT / "app_pages").exists()


def test_a_first_visit_to_the_review_board_shows_no_navigation(tab, tmp_path: Path) -> None:
    data = tmp_path / "data"
    batch_id = _enqueue(data, "a quiet pier at dawn")
    with run_app(data) as app:
        link = review_path(data, batch_id)  # "/?review=<token>"
        tab.goto(f"{app.url}{link}")  # the process's first session
        wait_for_app(tab)
        _wait_ready(tab, 1)  # the board is up, its take loaded, and its fragment has rerun
        assert tab.locator(NAV).count() == 0
        query = link.removeprefix("/")
        for route in (f"/history{query}", f"/compare{query}&batch={batch_id}", f"/settings{query}"):
            tab.goto(f"{app.url}{route}")
            wait_for_app(tab)
            assert tab.locator(NAV).count() == 0, route


@pytest.mark.parametrize("first", ["/compare", "/settings"])
def test_every_page_lists_the_five_titled_pages_and_nothing_else(tab, tmp_path: Path, first: str) -> None:
    with run_app(tmp_path / "data") as app:
        tab.goto(f"{app.url}{first}")  # the process's first session
        wait_for_app(tab)
        seen = {first: _nav_titles(tab)}
        for route in ("/", "/compare", "/history", "/pricing", "/settings"):
            tab.goto(f"{app.url}{route}")
            wait_for_app(tab)
            seen[route] = _nav_titles(tab)
    assert all(titles == TITLES for titles in seen.values()), seen
