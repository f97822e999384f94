"""Sign-in for a shared lab: exposure, owner password, server secret, roles, review links, Host and URL checks.

Nothing here imports Streamlit. The UI hands in `st.secrets` and `st.user` as plain
mappings; the door (`kling_lab.lab`) and the routes (`asgi_app.py`) make the calls.
"""

from kling_lab.auth.exposure import (
    Exposure,
    SignInMethods,
    assess_exposure,
    configured_sign_in,
    current_exposure,
    startup_refusal,
)
from kling_lab.auth.host_check import HOST_REFUSAL, HostPolicy, host_allowed
from kling_lab.auth.password import AttemptLimiter, PasswordGate, Session, passwords_match
from kling_lab.auth.review_links import LinkGrant, LinkRefusal, make_link_token, new_link_id, verify_link_token
from kling_lab.auth.roles import Identity, IdentityRefusal, Role, RoleConfig, load_role_config, resolve_identity
from kling_lab.auth.secret_key import SecretKeyError, derive_key, load_secret_key
from kling_lab.auth.url_policy import base_url_problem, private_base_urls_allowed

__all__ = [
    "HOST_REFUSAL",
    "AttemptLimiter",
    "Exposure",
    "HostPolicy",
    "Identity",
    "IdentityRefusal",
    "LinkGrant",
    "LinkRefusal",
    "PasswordGate",
    "Role",
    "RoleConfig",
    "SecretKeyError",
    "Session",
    "SignInMethods",
    "assess_exposure",
    "base_url_problem",
    "configured_sign_in",
    "current_exposure",
    "derive_key",
    "host_allowed",
    "load_role_config",
    "load_secret_key",
    "make_link_token",
    "new_link_id",
    "passwords_match",
    "private_base_urls_allowed",
    "resolve_identity",
    "startup_refusal",
    "verify_link_token",
]
