"""Process-wide resources for the pages: settings, store, media, price book and the job runner.

Pages call these instead of building anything themselves. The runner is one per
server process (`st.cache_resource`), started by the ASGI lifespan in
`asgi_app.py` or on first use (AppTest, `streamlit run streamlit_app.py`).
Keys typed into the Settings page live in this session's state only.
"""

from __future__ import annotations

import os

import streamlit as st

from kling_lab.config import Settings, load_settings, with_saved_settings
from kling_lab.lab import Actor, Lab
from kling_lab.media import MediaStore
from kling_lab.pricing import PriceBook, load_price_book
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import Store
from kling_lab.user_settings import UserSettings, load_user_settings

SESSION_KEYS = "session_keys"


def _secrets() -> dict[str, object]:
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str)}
    except Exception:  # noqa: BLE001 - no secrets file is normal
        return {}


@st.cache_resource(show_spinner=False)
def _base_settings() -> Settings:
    secrets = _secrets()
    # Streamlit copies every top-level secret into os.environ (overwriting it), so a key from the secrets
    # file would otherwise be reported as coming from the environment.
    environ = {k: v for k, v in os.environ.items() if not (k in secrets and secrets[k] == v)}
    return load_settings(environ, secrets)


def user_settings() -> UserSettings:
    """Budgets, default provider, limits and base URL overrides saved from the Settings page."""
    return load_user_settings(_base_settings().data_dir)


def current_settings() -> Settings:
    """Settings for this session: environment, secrets, saved base URLs, then keys typed here."""
    return current_settings_for_runner().with_session_keys(st.session_state.get(SESSION_KEYS, {}))


def current_settings_for_runner() -> Settings:
    """Environment and secrets with the base URLs saved in Settings; no session's keys."""
    return with_saved_settings(_base_settings(), user_settings().base_urls)


@st.cache_resource(show_spinner=False)
def get_store() -> Store:
    settings = _base_settings()
    return Store.from_url(settings.database_url, settings.database_path)


@st.cache_resource(show_spinner=False)
def get_media() -> MediaStore:
    return MediaStore(_base_settings().media_dir)


@st.cache_resource(show_spinner=False, on_release=lambda runner: runner.stop())
def get_runner() -> JobRunner:
    """The process's job runner, started and resuming every unfinished job of the store."""
    config = RunnerConfig.with_saved_limits(_base_settings().data_dir)
    return JobRunner(get_store(), get_media(), current_settings_for_runner(), config=config).start()


def get_lab() -> Lab:
    """The door every screen acts through (built per call: its parts are the process's cached ones)."""
    return Lab(get_store(), get_media(), get_runner(), current_settings_for_runner, user_settings)


def current_actor() -> Actor:
    """Who is asking in this browser session: the person at this machine, with the keys typed here."""
    return Actor.local(st.session_state.get(SESSION_KEYS, {}))


def get_price_book() -> PriceBook:
    """The packaged price tables with this machine's overrides.

    `load_price_book` parses the packaged table once per process and re-reads the
    small overrides file only when its bytes change, so this is cheap on every rerun.
    """
    return load_price_book(_base_settings().price_overrides_path)
