"""Compose in a real browser: the README's server, a template typed by hand, the table and the total."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import run_app, wait_for_app

pytestmark = pytest.mark.e2e

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-compose.png"


def test_typing_a_template_shows_its_variations_and_total(tab, tmp_path: Path) -> None:
    with run_app(tmp_path / "data") as app:
        tab.goto(app.url)
        wait_for_app(tab)
        prompt = tab.get_by_role("textbox", name="Prompt template")
        prompt.fill('a lighthouse at dusk, {slow push-in|orbit around the subject|static wide shot}, '
                    'the keeper says "We made it."')
        prompt.press("Control+Enter")
        wait_for_app(tab)
        table = tab.locator("[data-testid='stDataFrame']").first
        table.wait_for(timeout=20_000)
        badge = tab.locator("[data-testid='stMetric']").first
        expect(badge).to_contain_text("3 takes", timeout=20_000)
        expect(badge).to_contain_text("$0.00")
        tab.get_by_role("combobox", name="Provider").click()
        tab.get_by_role("option", name="fal.ai · no key").click()
        wait_for_app(tab)
        expect(badge).to_contain_text("$1.05", timeout=20_000)
        expect(badge).to_contain_text("3 takes")
        if not SCREENSHOT.exists():
            SCREENSHOT.parent.mkdir(exist_ok=True)
            tab.screenshot(path=str(SCREENSHOT), full_page=True)
