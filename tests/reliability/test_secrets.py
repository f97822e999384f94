"""Keys never leave memory: not in the store, the data dir, the log, exports, CLI output or any page.

Recognisable fake keys reach the app by every route it reads them from: the
environment (Kie.ai, fal.ai, the official Kling pair), `.streamlit/secrets.toml`
in the app's working directory (Replicate; the file is written in a temporary
directory the app runs from, never in the repository), and the Settings page's
session-only password field (AI/ML API). The emulator accepts exactly these
keys, so every batch below really authenticates with them. Then each key, and
the marker they share, is searched for everywhere the app writes or shows text.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from kling_lab.providers.base import JobState
from kling_lab.store import Store
from tests.e2e.conftest import GRID_VIDEOS_JS, run_app, wait_for_app
from tests.e2e.links import person_token, review_path
from tests.emulator import Emulator
from tests.reliability.helpers import wait_final
from tests.reliability.live import cli_env, json_of, page_html, page_text, run_cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MARKER = "SECRET-canary"
ENV_KEYS = {
    "KIE_API_KEY": "kie-SECRET-canary-1234567890",
    "FAL_KEY": "fal-SECRET-canary-id:fal-SECRET-canary-0987654321",
    "KLING_ACCESS_KEY": "kling-access-SECRET-canary-2468",
    "KLING_SECRET_KEY": "kling-secret-SECRET-canary-13579",
}
FILE_KEYS = {"REPLICATE_API_TOKEN": "r8_SECRET-canary-secrets-file-5555"}
SESSION_KEYS = {"AIMLAPI_API_KEY": "aiml-SECRET-canary-session-7777"}
ALL_KEYS = {**ENV_KEYS, **FILE_KEYS, **SESSION_KEYS}
NEEDLES = [*ALL_KEYS.values(), MARKER]


@dataclass
class Search:
    """Every place searched and every key found there."""

    places: list[str] = field(default_factory=list)
    hits: list[tuple[str, str]] = field(default_factory=list)

    def text(self, where: str, content: str | bytes) -> None:
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        self.places.append(where)
        for needle in NEEDLES:
            if needle.encode() in data:
                self.hits.append((where, needle))
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:  # deflated members hide text from a byte search
                for name in archive.namelist():
                    self.text(f"{where}!{name}", archive.read(name))

    def tree(self, root: Path) -> None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            self.text(str(path.relative_to(root.parent)), path.read_bytes())

    def page(self, where: str, tab) -> None:  # noqa: ANN001
        self.text(f"page {where} (HTML + shadow roots)", page_html(tab))
        values = tab.evaluate("""() => {
            const out = [];
            const walk = (root) => {
                for (const el of root.querySelectorAll('*')) {
                    if ('value' in el && typeof el.value === 'string') out.push(el.value);
                    if (el.shadowRoot) walk(el.shadowRoot);
                }
            };
            walk(document);
            return out.join('\\n');
        }""")
        self.text(f"page {where} (form values)", values)


def _go(tab, url: str) -> None:  # noqa: ANN001 - a new page load: a new session
    tab.goto(url)
    wait_for_app(tab)


def _nav(tab, page: str) -> None:  # noqa: ANN001 - through the sidebar: the same session, its keys kept
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name=page).click()
    wait_for_app(tab)
    tab.get_by_role("heading", name=page).first.wait_for()


def _generate_in_this_session(tab, provider_label: str, template: str) -> str:  # noqa: ANN001
    _nav(tab, "Compose")
    tab.get_by_role("combobox", name="Provider").click()
    tab.get_by_role("option", name=provider_label, exact=True).click()
    wait_for_app(tab)
    prompt = tab.get_by_role("textbox", name="Prompt template")
    prompt.fill(template)
    prompt.press("Control+Enter")
    wait_for_app(tab)
    tab.get_by_role("button", name="Generate").click()
    tab.wait_for_url("**/compare?batch=*", timeout=30_000)
    wait_for_app(tab)
    return tab.url.split("batch=")[1].split("&")[0]


def test_no_key_appears_in_the_store_files_log_exports_cli_output_or_pages(tab, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app_cwd = tmp_path / "app-cwd"  # the app's working directory: where st.secrets finds .streamlit/secrets.toml
    (app_cwd / ".streamlit").mkdir(parents=True)
    (app_cwd / ".streamlit" / "secrets.toml").write_text(
        "".join(f'{name} = "{value}"\n' for name, value in FILE_KEYS.items()), encoding="utf-8")
    search = Search()
    cli_outputs: list[tuple[str, str, str]] = []
    try:
        with Emulator(latency=0.5, keys=ALL_KEYS) as emu:
            app_env = {k: v for k, v in emu.env().items() if k not in FILE_KEYS and k not in SESSION_KEYS}
            assert {k: app_env[k] for k in ENV_KEYS} == ENV_KEYS
            env = cli_env(data_dir, app_env)
            with run_app(data_dir, app_env, cwd=app_cwd) as app:
                # The CLI, with the environment's keys, on three hosts.
                generated = run_cli(["generate", "a fox at {dawn|dusk}", "--provider", "kie",
                                     "--sweep", "provider=kie,fal,kling"], env)
                cli_outputs.append(("generate", generated.stdout, generated.stderr))
                assert generated.returncode == 0, (generated.stdout, generated.stderr)
                batches = [json_of(generated)["batch_id"]]

                # Settings shows where each key came from, and takes one for this session only.
                _go(tab, f"{app.url}/settings")
                settings_text = page_text(tab)
                assert "Kie.ai · key set from environment" in settings_text
                assert "fal.ai · key set from environment" in settings_text
                assert "Kling official API · key set from environment" in settings_text
                assert "Replicate · key set from secrets file" in settings_text
                assert "AI/ML API · no key" in settings_text
                field_ = tab.get_by_label("AIMLAPI_API_KEY")
                assert field_.get_attribute("type") == "password"
                field_.fill(SESSION_KEYS["AIMLAPI_API_KEY"])
                field_.press("Enter")
                wait_for_app(tab)
                tab.get_by_role("button", name="Use these keys in this session").click()
                wait_for_app(tab)
                wait_until(lambda: "AI/ML API · key set from this session" in page_text(tab), 10,
                           "the session key's status")
                search.page("Settings", tab)

                # The browser, with the secrets file's key and the session's key.
                batches.append(_generate_in_this_session(tab, "Replicate", "an owl in {fog|rain}"))
                batches.append(_generate_in_this_session(tab, "AI/ML API", "a hare in {snow|wind}"))
                store = Store(data_dir / "kling_lab.sqlite3")
                jobs = wait_final(store, batches, timeout=60)
                assert [j for j in jobs if j.state != JobState.DONE] == []
                assert {j.provider for j in jobs} == {"kie", "fal", "kling", "replicate", "aimlapi"}
                creates = emu.stats()["accepted_creates"]
                assert creates == {"kie": 2, "fal": 2, "kling": 2, "replicate": 2, "aimlapi": 2}, creates

                # Every page, with the clips in view: first in this session, which holds a typed key.
                tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.length === 2", timeout=30_000)
                tab.get_by_text("Clip details: exact requests, task ids, costs, events").click()
                search.page("Compare (this session)", tab)
                _nav(tab, "Settings")
                assert "AI/ML API · key set from this session" in page_text(tab)
                search.page("Settings (after generating)", tab)
                _nav(tab, "Compose")
                search.page("Compose", tab)
                _nav(tab, "History")
                search.page("History", tab)
                tab.locator("[data-testid='stButton'] button").filter(has_text="Open").first.click()
                wait_for_app(tab)
                tab.get_by_text("Exact request, task id and events").click()
                search.page("History clip panel", tab)
                _nav(tab, "Pricing")
                search.page("Pricing", tab)
                tab.get_by_role("tab", name="Spend").click()
                search.page("Pricing spend", tab)
                for batch_id in batches:  # shared links: new sessions
                    count = len(store.jobs_for_batch(batch_id))
                    _go(tab, f"{app.url}/compare?batch={batch_id}")
                    tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.length === {count}", timeout=30_000)
                    tab.get_by_text("Clip details: exact requests, task ids, costs, events").click()
                    search.page(f"Compare {batch_id}", tab)
                    _go(tab, app.url + review_path(data_dir, batch_id))
                    tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.length === {count}", timeout=30_000)
                    search.page(f"review board {batch_id}", tab)
                files = {"t": person_token(data_dir)}  # what History's Export link carries
                for batch_id in batches:
                    response = httpx.get(f"{app.url}/exports/{batch_id}.zip", params=files, timeout=30)
                    assert response.status_code == 200
                    search.text(f"GET /exports/{batch_id}.zip", response.content)
                search.text("GET /api/health", httpx.get(f"{app.url}/api/health").text)

                listed = run_cli(["history", "list"], env)
                cli_outputs.append(("history list", listed.stdout, listed.stderr))
                assert len(json_of(listed)["clips"]) == len(jobs) == 10
                for batch_id in batches:
                    out = tmp_path / "exports" / f"{batch_id}.zip"
                    exported = run_cli(["history", "export", "--batch", batch_id, "--out", str(out)], env)
                    cli_outputs.append((f"history export {batch_id}", exported.stdout, exported.stderr))
                    assert exported.returncode == 0, exported.stderr
                search.tree(tmp_path / "exports")
                search.tree(data_dir)  # while the server runs: the database's -wal and -shm files are there
                store.close()
            search.text("server log", app.log())
        for command, stdout, stderr in cli_outputs:
            search.text(f"kling-lab {command} stdout", stdout)
            search.text(f"kling-lab {command} stderr", stderr)
        search.tree(data_dir)  # and after it stopped
    finally:
        shutil.rmtree(app_cwd / ".streamlit", ignore_errors=True)
    assert not (app_cwd / ".streamlit").exists()

    places = search.places
    assert any(p.endswith("kling_lab.sqlite3") for p in places)
    assert any(p.endswith("kling_lab.sqlite3-wal") for p in places)
    assert any("!manifest.json" in p for p in places) and any("!clips.csv" in p for p in places)
    print(f"\nsecrets: {len(ALL_KEYS)} keys + marker searched in {len(places)} places; hits: {len(search.hits)}")
    assert search.hits == [], search.hits
