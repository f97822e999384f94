"""The Streamlit side of the composition root: one `LabRoot` per server process, and who is asking.

`kling_lab.lab.build_root` builds settings, store, media, price book and the job
runner; this module only caches it (`st.cache_resource`, so AppTest, `streamlit
run streamlit_app.py` and the ASGI lifespan in `asgi_app.py` share one), hands
pages the door, and says which actor this browser session is. Keys typed into
the Settings page live in this session's state only.
"""

from __future__ import annotations

import os

import streamlit as st

from kling_lab.lab import STORE_PROBLEMS, Actor, Lab, LabRoot, build_root

SESSION_KEYS = "session_keys"


def _secrets() -> dict[str, object]:
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str)}
    except Exception:  # noqa: BLE001 - no secrets file is normal
        return {}


@st.cache_resource(show_spinner=False, on_release=lambda root: root.close())
def get_root() -> LabRoot:
    """The process's parts, built on first use; the runner starts and resumes every unfinished job."""
    secrets = _secrets()
    # Streamlit copies every top-level secret into os.environ (overwriting it), so a key from the secrets
    # file would otherwise be reported as coming from the environment.
    environ = {k: v for k, v in os.environ.items() if not (k in secrets and secrets[k] == v)}
    return build_root(environ, secrets)


def get_lab() -> Lab:
    """The door every screen and route acts through; a store that cannot be opened stops the page with its reason."""
    try:
        return get_root().lab
    except STORE_PROBLEMS as exc:
        st.error(str(exc))
        st.stop()
        raise  # st.stop raises; this line only tells type checkers so


def current_actor() -> Actor:
    """Who is asking in this browser session: the person at this machine, with the keys typed here."""
    return Actor.local(st.session_state.get(SESSION_KEYS, {}))
