"""AppTest fixtures: every test gets its own data dir and fresh process-wide resources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
KEY_NAMES = ("KIE_API_KEY", "REPLICATE_API_TOKEN", "AIMLAPI_API_KEY", "FAL_KEY", "INFERENCE_API_KEY",
             "KLING_ACCESS_KEY", "KLING_SECRET_KEY")


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The app from its entry script, on an empty data dir with no host keys."""
    for name in KEY_NAMES:
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    yield at
    st.cache_resource.clear()  # stops the runner (on_release) before the data dir goes away
