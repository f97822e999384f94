"""A demo room may have no network: no page asks the browser to fetch anything from another machine."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import GRID_VIDEOS_JS, run_app, wait_for_app
from tests.e2e.links import review_path
from tests.reliability.live import cli_env, json_of, run_cli

pytestmark = pytest.mark.e2e

LOCAL = {"127.0.0.1", "localhost", "::1", ""}


def test_no_page_fetches_anything_from_another_machine(tab, tmp_path: Path) -> None:
    outside: list[str] = []

    def watch(route) -> None:  # noqa: ANN001 - a Playwright Route
        url = route.request.url
        if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname not in LOCAL:
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    tab.context.route("**/*", watch)
    data_dir = tmp_path / "data"
    with run_app(data_dir) as app:
        made = run_cli(["generate", 'a harbour at night {push-in|pan left}, "Cast off."', "--provider", "animatic"],
                       cli_env(data_dir))
        assert made.returncode == 0, made.stderr
        batch_id = json_of(made)["batch_id"]
        board = review_path(data_dir, batch_id)
        for path in ("/", f"/compare?batch={batch_id}", board, "/history", "/pricing", "/settings"):
            tab.goto(app.url + path)
            wait_for_app(tab)
            if path.startswith("/compare") or path == board:
                tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.every(v => v.readyState >= 2) "
                                      f"&& {GRID_VIDEOS_JS}.length === 2", timeout=30_000)
            tab.wait_for_timeout(500)
    assert outside == []
