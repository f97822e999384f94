"""Sign-in for a shared lab: the gate every non-review visit passes, and who is signed in, in the sidebar.

On a lab served on loopback only (the default) the person at the machine needs no
sign-in and nothing is shown. On an exposed lab the visitor signs in with the
identity provider (`st.login`) or the owner password; the password form posts
straight to `/auth/password` (`sign_in_routes.py`), which sets the session cookie a
Streamlit page cannot set, so the password never passes through a Streamlit session.
"""

from __future__ import annotations

import logging

import streamlit as st

from components import runtime
from components.clip_cells import escape_markdown
from kling_lab.auth.password import wait_sentence
from kling_lab.auth.roles import Identity, IdentityRefusal
from kling_lab.auth.secret_key import SecretKeyError
from kling_lab.lab import STORE_PROBLEMS

log = logging.getLogger("kling_lab.auth")

SIGN_IN_PARAM = "sign_in"
"""The query parameter the sign-in routes send a visitor back with: a code, never text to show as is."""

_CODES = {
    "wrong": "That password is not right.",
    "off": "Signing in with a password is not set up on this server.",
    "ended": "You are signed out.",
    "refused": "The sign-in form was not sent from this lab's own page, so it was not used. Try again here.",
}

_FORM_STYLE = (
    "<style>.kl-signin{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;margin:.25rem 0 1rem}"
    ".kl-signin input{padding:.5rem .75rem;border-radius:.5rem;border:1px solid #555;background:transparent;"
    "color:inherit;min-width:16rem;font-size:1rem}"
    ".kl-signin button{padding:.5rem 1rem;border-radius:.5rem;border:1px solid #7c5cff;background:#7c5cff;"
    "color:#fff;font-size:1rem;cursor:pointer}</style>"
)


def _password_form() -> str:
    return (
        _FORM_STYLE + '<form class="kl-signin" method="post" action="/auth/password">'
        '<input type="password" name="password" autocomplete="current-password" required '
        'aria-label="Owner password" placeholder="Owner password">'
        '<button type="submit">Sign in with the password</button></form>'
    )


def _sign_out_form() -> str:
    return (
        _FORM_STYLE + '<form class="kl-signin" method="post" action="/auth/sign-out">'
        '<button type="submit" style="background:transparent;color:inherit;border-color:#888">Sign out</button>'
        "</form>"
    )


def _notice_from_route() -> str | None:
    """The sentence for the code a sign-in route sent back (`?sign_in=wrong`, `?sign_in=wait&s=30`)."""
    code = st.query_params.get(SIGN_IN_PARAM)
    if code == "wait":
        seconds = st.query_params.get("s", "")
        # Only digits, and never past the longest lockout: the URL is the visitor's to edit.
        return wait_sentence(min(float(seconds), 900.0) if seconds.isdigit() and len(seconds) < 7 else 60.0)
    return _CODES.get(code or "")


def _provider_label(name: str) -> str:
    return "your identity provider" if name == "default" else name.replace("-", " ").title()


def _sign_in_screen(setup) -> None:  # noqa: ANN001 - a SignInSetup
    st.title("Sign in to Kling Lab")
    st.caption("This lab is shared on a network, so everyone signs in. A review link opens its own board "
               "without signing in.")
    notice = _notice_from_route()
    if notice is None and runtime.session_token() and setup.methods.owner_password:
        notice = "Your session has ended. Sign in again."
    if notice:
        st.warning(notice, icon=":material/lock:")
    for provider in setup.methods.oidc_providers:
        if st.button(f"Sign in with {_provider_label(provider)}", type="primary", icon=":material/login:",
                     key=f"sign_in_{provider}"):
            if provider == "default":
                st.login()
            else:
                st.login(provider)
    if setup.methods.owner_password:
        st.markdown("**Owner password**")
        st.html(_password_form())


def _refusal_screen(refusal: IdentityRefusal) -> None:
    st.title("Not shared with you")
    st.error(escape_markdown(refusal.sentence), icon=":material/block:")  # it quotes the provider's address
    if st.button("Sign out", icon=":material/logout:", key="sign_out_refused"):
        st.logout()


def _account(identity: Identity) -> None:
    with st.sidebar:
        who = f"{escape_markdown(identity.email)} · {identity.role.value}" if identity.email else "the owner"
        st.caption(f"Signed in as {who}")
        if identity.method == "password":
            st.html(_sign_out_form())
        elif st.button("Sign out", icon=":material/logout:", key="sign_out"):
            st.logout()


def sign_in_gate() -> None:
    """Stop the script with a sign-in screen unless this visitor may use the lab; show who is signed in.

    On a lab served on loopback only (the default) the person at the machine needs no sign-in.
    """
    try:
        setup = runtime.get_sign_in()
    except (SecretKeyError, *STORE_PROBLEMS) as exc:  # each is one plain sentence for the operator
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if not setup.required:
        return
    refusal = setup.startup_refusal()
    if refusal is not None:
        log.error(refusal)
        st.error(refusal, icon=":material/block:")
        st.stop()
    identity = setup.who(runtime.session_token(), runtime.user_claims())
    if identity is not None:
        if st.query_params.get(SIGN_IN_PARAM):
            del st.query_params[SIGN_IN_PARAM]
        _account(identity)
        return
    oidc = setup.identity(runtime.user_claims())
    if isinstance(oidc, IdentityRefusal):
        log.warning("An identity provider's user was refused: not on the allow-list.")
        _refusal_screen(oidc)
    else:
        _sign_in_screen(setup)
    st.stop()
