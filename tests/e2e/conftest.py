"""Browser-test harness: the real app started with the README's command, driven in Debian's Chromium.

Chromium is Debian's package at /usr/bin/chromium (never a downloaded browser).
Under CI (CI=true) a missing Chromium fails the browser tests instead of
skipping them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
GRID_VIDEOS_JS = (
    "[...(document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')?.shadowRoot"
    "?.querySelectorAll('video') ?? [])]"
)
"""A JS expression: the <video> elements of the (first) synchronized grid, inside its shadow root."""
KEY_NAMES = ("KIE_API_KEY", "REPLICATE_API_TOKEN", "AIMLAPI_API_KEY", "FAL_KEY", "INFERENCE_API_KEY",
             "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "REPLICATE_WEBHOOK_SECRET", "KIE_WEBHOOK_HMAC_KEY")


def require_chromium() -> str:
    """The Chromium path; fails under CI and skips elsewhere when it is missing."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    message = f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)."
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def stop_process(process: subprocess.Popen) -> None:
    """Ask a server process to stop, and kill it if it has not within ten seconds."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    log_path: Path
    data_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def run_app(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    script: str = "asgi_app.py",
    cwd: Path | None = None,
    port: int | None = None,
) -> Iterator[RunningApp]:
    """Start `streamlit run asgi_app.py` (the README's run command) on a free port and wait until healthy.

    `cwd` runs it from another working directory (the script is then given by its full path), e.g. one
    holding its own `.streamlit/secrets.toml`, so a test never writes one into the repository. `port`
    fixes the port in advance, for an app that must know its own address (KLING_LAB_PUBLIC_URL).
    """
    port = port or free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in KEY_NAMES}
    full_env.update({"KLING_LAB_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    log = tempfile.NamedTemporaryFile(prefix="kling-lab-app-", suffix=".log", delete=False)  # noqa: SIM115
    script_path = script if cwd is None else str(ROOT / script)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script_path, "--server.port", str(port), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=cwd or ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    app = RunningApp(url, process, Path(log.name), data_dir)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the app exited early:\n{app.log()}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text.strip() == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(f"the app did not become healthy:\n{app.log()}")
        yield app
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def chromium():  # noqa: ANN201 - playwright's Browser
    # Module scope on purpose: Playwright's sync API keeps an event loop running in this thread while it
    # is open, which would break later tests that call asyncio.run() and other modules' own Playwright.
    path = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(chromium):  # noqa: ANN001, ANN201 - a fresh page in its own browser context
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


APP_READY = """() => !!document.querySelector("[data-testid='stApp'][data-test-script-state='notRunning']")
    && !document.querySelector("[data-testid='stSkeleton']")"""
"""The script finished its run and every element it sent is drawn: on a first load the state reads "not running"
while lazily loaded widgets (text areas, uploaders) still show skeletons, and a text area first paints empty
before its value; a test reading then sees a page the person never does."""


def wait_for_app(page, timeout: float = 30_000, settle_ms: float = 250) -> None:  # noqa: ANN001
    """Wait until the Streamlit script finished its run, its elements are drawn, and no new run follows within
    `settle_ms`.

    Right after a click the page can still read "not running" for a moment before the
    browser has asked for the rerun; on a loaded machine that moment is long enough for a
    test to read the old page. Waiting for the state to stay idle closes that gap.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        page.wait_for_function(APP_READY, timeout=max(1.0, (deadline - time.monotonic()) * 1000), polling=50)
        page.wait_for_timeout(settle_ms)
        if page.evaluate(APP_READY):
            return
