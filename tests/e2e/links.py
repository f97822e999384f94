"""Review links and file tokens for tests that drive a running app from outside it.

Both sides find the server secret the same way (KLING_LAB_SECRET_KEY, else the data
folder's secret.key, which the app writes when it starts), so a link made by the CLI
and a token made here are ones the app accepts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kling_lab.lab import Actor, build_root
from tests.e2e.conftest import ROOT


def review_link(data_dir: Path, batch_id: str, *, public_url: str | None = None) -> dict:
    """`kling-lab review-link BATCH --json` for this data folder: {"url", "expires_at", "link_id"}."""
    env = {**os.environ, "KLING_LAB_DATA_DIR": str(data_dir)}
    if public_url:
        env["KLING_LAB_PUBLIC_URL"] = public_url
    out = subprocess.run([sys.executable, "-m", "kling_lab", "review-link", batch_id, "--json"], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def review_path(data_dir: Path, batch_id: str) -> str:
    """The path and query of a new review link for the batch: `/?review=<token>`."""
    return "/?review=" + review_link(data_dir, batch_id)["url"].split("review=", 1)[1]


def person_token(data_dir: Path) -> str:
    """The file token a page of the person at the machine puts in its URLs (`?t=`)."""
    root = build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)
    try:
        return root.lab.file_token(Actor.local())
    finally:
        root.close()
