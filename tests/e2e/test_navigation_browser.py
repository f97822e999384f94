"""Pages live in pages/, and no route shows Streamlit's legacy page list: the sidebar lists the five pages
by their titles, once each, and the review board shows no navigation at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, run_app, wait_for_app
from tests.e2e.test_compare_browser import _enqueue

pytestmark = pytest.mark.e2e

TITLES = ["Compose", "Compare", "History", "Pricing", "Settings"]
ROUTES = ["/", "/compare", "/history", "/pricing", "/settings"]
NAV_LINKS = "[data-testid='stSidebarNav'] a"


def test_the_pages_folder_is_named_as_the_design_card_says():
    assert sorted(p.stem for p in (ROOT / "pages").glob("*.py")) == sorted(t.lower() for t in TITLES)
    assert not (ROOT / "app_pages").exists()


def test_no_route_shows_a_legacy_page_list(tab, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_app(data) as app:
        batch_id = _enqueue(data, "a quiet pier at dawn")
        seen = {}
        for route in ROUTES:
            tab.goto(f"{app.url}{route}")
            wait_for_app(tab)
            # Each link reads "<icon name> <title>": the icon is a font ligature.
            seen[route] = [t.split()[-1] for t in tab.locator(NAV_LINKS).all_inner_texts()]
        for route in ROUTES:
            assert seen[route] == TITLES, (route, seen[route])
        for route in (f"/compare?batch={batch_id}&view=review", "/?view=review", "/history?view=review"):
            tab.goto(f"{app.url}{route}")
            wait_for_app(tab)
            assert tab.locator("[data-testid='stSidebarNav']").count() == 0, route
            assert tab.locator(NAV_LINKS).count() == 0, route
