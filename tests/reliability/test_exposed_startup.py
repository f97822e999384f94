"""An exposed server will not start without sign-in: `streamlit run asgi_app.py --server.address 0.0.0.0`.

The real entry file runs: its lifespan calls `sign_in_routes.exit_if_exposed_without_sign_in()`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import stop_process

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(tmp_path: Path, extra_env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KLING_LAB_", "STREAMLIT_"))}
    env.update({"KLING_LAB_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                **extra_env})
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "asgi_app.py"), "--server.address", "0.0.0.0",  # noqa: S104
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return process, port


def test_exposed_with_no_sign_in_it_exits_2_saying_how_to_configure_one(tmp_path) -> None:
    process, _ = _start(tmp_path, {})
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, output
    assert "Kling Lab will not start: it listens on 0.0.0.0, every network interface" in output
    assert "KLING_LAB_OWNER_PASSWORD" in output and "[auth]" in output
    assert "Traceback" not in output


def test_exposed_with_the_owner_password_it_starts(tmp_path) -> None:
    process, port = _start(tmp_path, {"KLING_LAB_OWNER_PASSWORD": "a long demo password"})
    try:
        deadline = time.time() + 60
        healthy = False
        while time.time() < deadline and process.poll() is None and not healthy:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).text.strip() == "ok"
            except httpx.HTTPError:
                time.sleep(0.2)
        assert healthy and process.poll() is None
    finally:
        stop_process(process)
