"""Helpers for reliability tests that drive the real app: the `kling-lab` command, hard kills, and what a page holds.

The app itself is started with `tests.e2e.conftest.run_app` (the README's
command); these helpers add the other side: the CLI as a separate process
against the same data dir, waiting on the store, and reading a page's whole
DOM, including the shadow roots of Custom Components v2 (the video grid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.conftest import KEY_NAMES, ROOT, RunningApp

T = TypeVar("T")


def cli_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a `kling-lab` process: this one's minus any real key, the data dir, then `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_NAMES}
    env.update({"KLING_LAB_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def cli_command(args: Sequence[str]) -> list[str]:
    """`kling-lab ARGS --json` as an argv (through `python -m kling_lab`, the console script's module)."""
    return [sys.executable, "-m", "kling_lab", *args, "--json"]


def run_cli(args: Sequence[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `kling-lab ARGS --json` to the end; stdout and stderr are kept as text."""
    return subprocess.run(cli_command(args), env=dict(env), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def start_cli(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start `kling-lab ARGS --json` without waiting (for commands that must race each other)."""
    return subprocess.Popen(cli_command(args), env=dict(env), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def json_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON document a `--json` command printed (AssertionError with its output otherwise)."""
    assert result.stdout.count("\n") == 1, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return json.loads(result.stdout)


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value of `predicate()`; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def kill_hard(app: RunningApp) -> None:
    """SIGKILL the server process (`python -m streamlit run asgi_app.py`): no shutdown code runs at all."""
    os.kill(app.process.pid, signal.SIGKILL)
    app.process.wait(10)
    assert app.process.returncode == -signal.SIGKILL


PAGE_HTML_JS = """() => {
    const parts = [document.documentElement.outerHTML];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) { parts.push(el.shadowRoot.innerHTML); walk(el.shadowRoot); }
        }
    };
    walk(document);
    return parts.join('\\n');
}"""
"""A JS function: the document's HTML followed by the innerHTML of every (nested) open shadow root."""

PAGE_TEXT_JS = """() => {
    const parts = [document.body.innerText];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) { parts.push(el.shadowRoot.textContent); walk(el.shadowRoot); }
        }
    };
    walk(document);
    return parts.join('\\n');
}"""
"""A JS function: the visible text of the document plus the text of every open shadow root."""


def page_html(page: Any) -> str:  # noqa: ANN401 - a Playwright Page
    """Everything the page holds as HTML, shadow roots included."""
    return page.evaluate(PAGE_HTML_JS)


def page_text(page: Any) -> str:  # noqa: ANN401 - a Playwright Page
    """The page's text as a person reads it, shadow roots included."""
    return page.evaluate(PAGE_TEXT_JS)
