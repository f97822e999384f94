"""Hostile text: markup and links typed by people are shown as text on every page and in every export.

The strings go everywhere a person's words are kept: template choices (which
become the takes' labels and prompts), notes, reviewer names and comments,
typed template errors, and a shared link's batch id. Each page is then
checked in Chromium: no dialog opens, no console or page error comes from the
text, no <script>, event-handler attribute, `javascript:` link, `src=x` image
or markdown link made from the text exists in the document or in any shadow
root (the grid's labels live in its shadow DOM), and the text reads exactly as
typed. A 5,000-character word rides along everywhere it fits. The batches are
animatics: free, offline, ~1–2 s a take.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from kling_lab.providers.base import JobState
from kling_lab.store import MAX_TEXT_CHARS, Store
from tests.e2e.conftest import GRID_VIDEOS_JS, run_app, wait_for_app
from tests.e2e.links import review_path
from tests.reliability.helpers import wait_final
from tests.reliability.live import cli_env, json_of, page_text, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
SVG = '"><svg onload=alert(1)>'
HOSTILE = (SCRIPT, IMG, LINK, SVG)
FORMULA = "+SUM(1;2)"
LONG = "kling" * 1000  # one 5,000-character word
assert len(LONG) == 5000 and " " not in LONG
TEMPLATE = "{" + "|".join((*HOSTILE, FORMULA)) + "} a fox at dusk"

FIND_ACTIVE_JS = """() => {
    const found = [];
    const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data'];
    const unsafe = (v) => /^\\s*(javascript|vbscript|data:text\\/html)/i.test(v || '');
    const walk = (root, where) => {
        for (const el of root.querySelectorAll('*')) {
            const tag = el.tagName.toLowerCase();
            if (tag === 'script' && /alert\\(|onerror|javascript:/.test(el.textContent + (el.src || ''))) {
                found.push(`${where}: <script> ${el.textContent.slice(0, 80)}`);
            }
            for (const attr of el.attributes) {
                const name = attr.name.toLowerCase();
                if (name.startsWith('on') || (urlAttrs.includes(name) && unsafe(attr.value))) {
                    found.push(`${where}: <${tag} ${name}="${attr.value.slice(0, 60)}">`);
                }
            }
            if (tag === 'img' && el.getAttribute('src') === 'x') found.push(`${where}: <img src=x>`);
            if (tag === 'a' && el.textContent.trim() === 'click') {
                found.push(`${where}: a link made from markdown: "click" -> ${el.getAttribute('href')}`);
            }
            if (el.shadowRoot) walk(el.shadowRoot, `${where} > ${tag} shadow root`);
        }
    };
    walk(document, 'document');
    return found;
}"""
"""A JS function: descriptions of every active element that user text could have made, shadow roots included."""


@dataclass
class Watch:
    """What a browser tab did that it should not have: dialogs, errors, and requests for `src=x`."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    injected_requests: list[str] = field(default_factory=list)
    checks: list[tuple[str, str]] = field(default_factory=list)

    def attach(self, page: Any) -> None:  # noqa: ANN401 - a Playwright Page
        def on_dialog(dialog: Any) -> None:  # noqa: ANN401
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(
            f"{m.text} @ {m.location.get('url', '')}"))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", lambda r: urllib.parse.urlsplit(r.url).path.endswith("/x")
                and self.injected_requests.append(r.url))

    def caused_by_text(self) -> list[str]:
        markers = ("alert", "onerror", "onload", "javascript:", "<script", "/x ", "/x@", "kling" * 4)
        errors = self.console_errors + self.page_errors
        return [e for e in errors if any(m in e for m in markers) or e.rstrip().endswith("/x")]


def _check(page, watch: Watch, where: str, shown: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    """The page in its current state: nothing active from user text, and `shown` readable exactly as typed."""
    wait_for_app(page)
    deadline = time.monotonic() + 15  # a rerun may still be on its way
    while not all(item in page_text(page) for item in shown) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    wait_for_app(page)
    page.wait_for_timeout(300)  # let an injected handler (an image's onerror) fire if it was going to
    active = page.evaluate(FIND_ACTIVE_JS)
    assert active == [], (where, active)
    text = page_text(page)
    for item in shown:
        assert item in text, (where, item, "is not shown as typed")
    assert watch.dialogs == [], (where, watch.dialogs)
    assert watch.injected_requests == [], (where, watch.injected_requests)
    assert watch.caused_by_text() == [], (where, watch.caused_by_text())
    # The 5,000-character word wraps or scrolls inside its own box; it never widens the page.
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], (where, widths)
    watch.checks.append((where, ", ".join(s[:30] for s in shown)))


def _open(page, url: str, heading: str) -> None:  # noqa: ANN001
    page.goto(url)
    wait_for_app(page)
    try:
        page.get_by_role("heading", name=heading, exact=True).first.wait_for()
    except PlaywrightError as exc:  # say what the page showed instead, so a failure in CI can be read
        raise AssertionError(f"{url}: no “{heading}” heading; the page reads: {page_text(page)[:1500]!r}") from exc
    wait_for_app(page)


def _type_template(page, template: str, variables: str = "") -> None:  # noqa: ANN001
    prompt = page.get_by_role("textbox", name="Prompt template")
    prompt.fill(template)
    prompt.press("Control+Enter")
    wait_for_app(page)
    box = page.get_by_role("textbox", name="Template variables")
    box.fill(variables)
    box.press("Control+Enter")
    wait_for_app(page)


def test_hostile_text_is_inert_and_shown_as_typed_on_every_page_and_in_exports(tab, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    watch = Watch()
    watch.attach(tab)
    with run_app(data_dir) as app:
        env = cli_env(data_dir)
        generated = run_cli(["generate", TEMPLATE, "--provider", "animatic", "--detach"], env)
        assert generated.returncode == 0, (generated.stdout, generated.stderr)
        batch_id = json_of(generated)["batch_id"]
        store = Store(data_dir / "kling_lab.sqlite3")

        # Compose, while the batch renders: the takes' preview, the counter and typed mistakes.
        _open(tab, app.url, "Compose")
        _type_template(tab, "{" + "|".join((*HOSTILE, LONG)) + "} a fox", f"{LINK} = a | b\n{SCRIPT} = c | d")
        tab.get_by_test_id("stDataFrame").first.wait_for()
        _check(tab, watch, "Compose: hostile choices, a 5,000-character take, bad variable names",
               (f"“{LINK}” is not a usable name", f"“{SCRIPT}” is not a usable name"))
        _type_template(tab, "a fox {" + LINK + "} and {" + SCRIPT + "}")
        _check(tab, watch, "Compose: template errors quoting the text", (LINK, SCRIPT))

        jobs = wait_final(store, [batch_id], timeout=90)
        assert [j.state for j in jobs] == [JobState.DONE] * 5, [(j.label, j.state, j.error) for j in jobs]
        assert [j.label for j in jobs] == [*HOSTILE, FORMULA]
        noted = jobs[2]  # the take labelled with a markdown link
        kept_notes = (" ".join(HOSTILE) + " " + LONG)[:MAX_TEXT_CHARS]  # the store keeps the first 4,000
        store.annotate(noted.id, notes=" ".join(HOSTILE) + " " + LONG, starred=True)
        store.annotate(jobs[1].id, notes='=HYPERLINK("https://evil.example","x")')
        store.add_review(batch_id, name=SCRIPT, kind="comment", text=LONG)

        # The review board: a reviewer with a hostile name picks a take and comments.
        _open(tab, app.url + review_path(app.data_dir, batch_id), "Review")
        tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.length === 5", timeout=30_000)
        name = tab.get_by_role("textbox", name="Your name")
        name.fill(IMG)
        name.press("Enter")
        wait_for_app(tab)
        tab.get_by_role("button", name=f"Pick {LINK}", exact=True).click()
        wait_for_app(tab)
        comment = " ".join(HOSTILE) + " " + "y" * 1500
        tab.get_by_role("textbox", name="Comment").fill(comment)
        tab.get_by_role("button", name="Send comment").click()
        wait_for_app(tab)
        tab.get_by_text("Thanks, your comment is saved.").wait_for()
        kept = LONG[:MAX_TEXT_CHARS]
        _check(tab, watch, "review board", (*HOSTILE, f"{IMG} picked {LINK}", f"{SCRIPT} said: {kept}"))
        reviews = store.reviews_for_batch(batch_id)
        assert [(r.name, r.kind) for r in reviews] == [(SCRIPT, "comment"), (IMG, "pick"), (IMG, "comment")]
        assert reviews[0].text == kept and reviews[-1].text == comment

        # Compare: the grid's labels (in its shadow root), the template, and every clip's details.
        _open(tab, f"{app.url}/compare?batch={batch_id}", "Compare")
        tab.wait_for_function(f"() => {{ const v = {GRID_VIDEOS_JS}; return v.length === 5 "
                              "&& v.every(c => c.readyState >= 2); }", timeout=60_000)
        tab.get_by_text("Clip details: exact requests, task ids, costs, events").click()
        wait_for_app(tab)
        _check(tab, watch, "Compare", (*HOSTILE, TEMPLATE))
        grid_labels = tab.evaluate(
            "() => [...document.querySelector('[data-testid=\"stBidiComponentIsolated\"]').shadowRoot"
            ".querySelectorAll('.kl-label')].map(e => e.textContent)")
        assert grid_labels == [*HOSTILE, FORMULA], grid_labels

        # A shared link whose batch id is itself hostile.
        for bad in (LINK, SCRIPT):
            _open(tab, f"{app.url}/compare?batch={urllib.parse.quote(bad)}", "Compare")
            _check(tab, watch, f"Compare ?batch={bad}", (f"There is no batch “{bad}”",))

        # History: the cards, grouped by batch with its reviews, and the open clip's panel.
        _open(tab, f"{app.url}/history", "History")
        _check(tab, watch, "History cards", (*HOSTILE, FORMULA))
        tab.get_by_text("Group by batch", exact=True).click()
        _check(tab, watch, "History grouped", (*HOSTILE, f"{IMG} said: {' '.join(HOSTILE)}"))
        tab.locator(f".st-key-card_{noted.id} button").filter(has_text="Open").click()
        wait_for_app(tab)
        tab.get_by_text("Exact request, task id and events").click()
        panel = tab.locator(".st-key-history_panel")
        # Auto-retrying expectations: on a loaded machine the panel may still be on its way.
        expect(panel.get_by_role("textbox", name="Notes")).to_have_value(kept_notes, timeout=30_000)
        _check(tab, watch, "History clip panel", (LINK, f"{IMG} said: {' '.join(HOSTILE)}"))
        expect(panel.get_by_role("heading").first).to_have_text(LINK)

        # Pricing (the batch picker shows the template) and Settings.
        _open(tab, f"{app.url}/pricing", "Pricing")
        _check(tab, watch, "Pricing")
        assert tab.get_by_role("combobox", name="Batch").input_value() == TEMPLATE[:70]  # the batch picker
        tab.get_by_role("tab", name="Spend").click()
        _check(tab, watch, "Pricing spend")
        _open(tab, f"{app.url}/settings", "Settings")
        budget = tab.get_by_role("textbox", name="Per day (USD)")
        budget.fill(LINK)
        budget.press("Enter")
        wait_for_app(tab)
        tab.get_by_role("button", name="Save settings").click()
        _check(tab, watch, "Settings: a budget typed as a link", (f"“{LINK}” is not an amount in dollars.",))

        # Exports: manifest.json keeps the text as JSON data; clips.csv defuses formulas.
        out = tmp_path / "export.zip"
        exported = run_cli(["history", "export", "--batch", batch_id, "--out", str(out)], env)
        assert exported.returncode == 0, exported.stderr
        store.close()
        assert "Traceback" not in app.log()
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("clips.csv").decode("utf-8"))))
    assert [c["label"] for c in manifest["clips"]] == [*HOSTILE, FORMULA]
    assert manifest["clips"][2]["notes"] == kept_notes
    assert manifest["batch"]["template"] == TEMPLATE
    assert [r["name"] for r in manifest["reviews"]] == [SCRIPT, IMG, IMG]
    assert [r["label"] for r in rows] == [*HOSTILE, "'" + FORMULA]
    assert rows[-1]["prompt"] == "'" + FORMULA + " a fox at dusk"
    assert rows[1]["notes"] == '\'=HYPERLINK("https://evil.example","x")'
    assert rows[2]["notes"] == manifest["clips"][2]["notes"]
    assert all(not r[key].startswith(("=", "+", "-", "@")) for r in rows for key in r)

    print(f"\nhostile text: {len(HOSTILE)} markup strings + a 5,000-character word + a formula, checked in "
          f"{len(watch.checks)} page states; console errors (none from the text): {len(watch.console_errors)}; "
          f"dialogs: {len(watch.dialogs)}")
    for error in sorted({e[:160] for e in watch.console_errors + watch.page_errors}):
        print(f"  console: {error}")
    for where, shown in watch.checks:
        print(f"  {where}: {shown or 'no user text expected'}")
