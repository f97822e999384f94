"""The Streamlit side of the composition root: one `LabRoot` per server process, and who is asking.

`kling_lab.lab.build_root` builds settings, store, media, price book and the job
runner; this module only caches it (`st.cache_resource`, so AppTest, `streamlit
run streamlit_app.py` and the ASGI lifespan in `asgi_app.py` share one), hands
pages the door, and says which actor this browser session is. Keys typed into
the Settings page live in this session's state only.

Who is asking: on a lab served on loopback only, the person at the machine
(`Actor.local`). On an exposed lab, whoever signed in: an owner with the owner
password (a session cookie the sign-in route set), or an owner or member from
the identity provider (`st.user`, mapped through the allow-lists); anyone else
is anonymous and may do nothing.
"""

from __future__ import annotations

import os

import streamlit as st

from kling_lab.auth.roles import Identity
from kling_lab.auth.sign_in import SESSION_COOKIE, SignInSetup
from kling_lab.lab import STORE_PROBLEMS, Actor, Lab, LabRoot, build_root

SESSION_KEYS = "session_keys"


def _secrets() -> dict[str, object]:
    try:
        return {k: v for k, v in st.secrets.items() if isinstance(v, str | bool)}
    except Exception:  # noqa: BLE001 - no secrets file is normal
        return {}


def all_secrets() -> dict[str, object]:
    """Every secret, sections included (`[auth]`), as plain dicts; empty when there is no secrets file."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file is normal
        return {}


def server_address() -> str | None:
    """The address Streamlit binds to, as its own options resolved it (config files, environment, flags)."""
    from streamlit import config

    return config.get_option("server.address")


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


@st.cache_resource(show_spinner=False)
def get_sign_in() -> SignInSetup:
    """This process's sign-in (exposure, methods, allow-lists, the password gate and its attempt limiter).

    Raises `SecretKeyError` (a plain sentence) when the server secret cannot be used, and what
    `get_root` raises when the store cannot be opened (the secret lives in the data folder).
    """
    return SignInSetup.build(os.environ, all_secrets(), server_address(), get_root().settings.data_dir)


def session_token() -> str | None:
    """The owner-password session cookie this browser sent when the page was opened."""
    try:
        value = st.context.cookies.get(SESSION_COOKIE)
    except Exception:  # noqa: BLE001 - no request context (bare scripts): no cookie
        return None
    return value if isinstance(value, str) and value else None  # AppTest's context is a mock: no cookie


def user_claims() -> dict[str, object]:
    """What the identity provider said about this browser's user (`{}` when nobody signed in with it)."""
    try:
        return dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - no user info in this context
        return {}


def current_identity() -> Identity | None:
    """The signed-in person of an exposed lab; None on a loopback lab and for anyone not signed in."""
    setup = get_sign_in()
    if not setup.required:
        return None
    return setup.who(session_token(), user_claims())


def current_actor() -> Actor:
    """Who is asking in this browser session, with the keys typed here (see the module's docstring)."""
    keys = dict(st.session_state.get(SESSION_KEYS, {}))
    try:
        setup = get_sign_in()
    except Exception:  # noqa: BLE001 - the gate shows why; until it is fixed nobody may act
        return Actor("anonymous")
    if not setup.required:
        return Actor.local(keys)
    identity = setup.who(session_token(), user_claims())
    if identity is None:
        return Actor("anonymous")
    return Actor(identity.role.value, name=identity.email or identity.name, typed_keys=keys)
