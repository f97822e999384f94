"""One server's sign-in, put together: is it exposed, which methods work, who is who, and password sessions.

`SignInSetup.build` reads the environment, the secrets (a plain mapping), the bind
address Streamlit uses and the data folder (for the server secret) once per process.
The Streamlit side (`components/runtime.py`, `components/sign_in.py`) and the
sign-in routes (`sign_in_routes.py`) share one instance, so the attempt limiter and
the list of ended sessions are the same for the form and the page. No Streamlit here.

A password session lives in an HttpOnly cookie (`SESSION_COOKIE`) holding the signed
token `PasswordGate` issues. Signing out ends the session on this server at once (its
id is remembered until the token would have expired anyway), not only in the browser
that held it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kling_lab.auth.exposure import Exposure, SignInMethods, assess_exposure, configured_sign_in, startup_refusal
from kling_lab.auth.password import PasswordGate, Session, configured_password
from kling_lab.auth.roles import Identity, IdentityRefusal, Role, RoleConfig, load_role_config, resolve_identity
from kling_lab.auth.secret_key import load_secret_key

log = logging.getLogger("kling_lab.auth")

SESSION_COOKIE = "kling_lab_session"
"""The cookie that carries an owner-password session (HttpOnly, SameSite=Lax)."""

OWNER_NAME = "owner"
"""The name a password-signed owner goes by (there is one password and so one owner)."""


@dataclass
class _EndedSessions:
    """Session ids signed out before their expiry, forgotten once the token would have expired anyway."""

    _ids: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, session: Session, now: float) -> None:
        with self._lock:
            self._ids = {sid: exp for sid, exp in self._ids.items() if exp > now}
            self._ids[session.session_id] = session.expires_at

    def __contains__(self, session_id: str) -> bool:
        with self._lock:
            return session_id in self._ids


@dataclass
class SignInSetup:
    """How this server signs people in. Build it with `build`."""

    exposure: Exposure
    methods: SignInMethods
    roles: RoleConfig
    password_gate: PasswordGate
    clock: Callable[[], float] = time.time
    public_origins: tuple[str, ...] = ()
    """Origins the lab is published at besides the Host a form is sent to (a proxy may rewrite Host):
    those of KLING_LAB_PUBLIC_URL and of the sign-in redirect_uri, as scheme://host[:port]."""
    _ended: _EndedSessions = field(default_factory=_EndedSessions)

    @classmethod
    def build(
        cls,
        environ: Mapping[str, str],
        secrets_map: Mapping[str, object] | None,
        address: str | None,
        data_dir: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> SignInSetup:
        """Read everything once. Raises `SecretKeyError` (a plain sentence) when the server secret is unusable."""
        methods = configured_sign_in(environ, secrets_map)
        password = configured_password(environ, secrets_map) if methods.owner_password else None
        secret = load_secret_key(data_dir, environ, secrets_map)
        return cls(
            exposure=assess_exposure(address, environ),
            methods=methods,
            roles=load_role_config(environ, secrets_map),
            password_gate=PasswordGate(password, secret, clock=clock),
            clock=clock,
            public_origins=_published_origins(environ, secrets_map),
        )

    def form_origin_ok(self, origin: str | None, host: str | None) -> bool:
        """True when a sign-in or sign-out form comes from the lab's own page (not from another site)."""
        if same_origin(origin, host):
            return True
        return bool(origin) and _origin_of(origin) in self.public_origins

    @property
    def required(self) -> bool:
        """True when visitors must sign in (the server is reachable beyond this machine, or told to ask)."""
        return self.exposure.exposed

    def startup_refusal(self) -> str | None:
        """The sentence an exposed server without any sign-in method stops with; None when it may run."""
        return startup_refusal(self.exposure, self.methods)

    def password_session(self, token: object) -> Session | None:
        """The session a cookie's token proves, or None (absent, forged, expired, signed out, password changed)."""
        if not token or not self.methods.owner_password:
            return None
        session = self.password_gate.session(token)
        if session is None or session.session_id in self._ended:
            return None
        return session

    def end_session(self, token: object) -> bool:
        """Sign a password session out on this server; True when there was one."""
        session = self.password_session(token)
        if session is None:
            return False
        self._ended.add(session, self.clock())
        log.info("Owner signed out.")
        return True

    def identity(self, user_claims: Mapping[str, object] | None) -> Identity | IdentityRefusal | None:
        """Who an identity provider's signed-in user is here (None when nobody is signed in that way)."""
        claims = dict(user_claims or {})
        if not self.methods.oidc_providers or claims.get("is_logged_in") is not True:
            return None
        return resolve_identity(claims, self.roles)

    def who(self, session_token: object, user_claims: Mapping[str, object] | None) -> Identity | None:
        """The signed-in person behind a request: a password session first, then the identity provider's user."""
        if self.password_session(session_token) is not None:
            return Identity(Role.OWNER, "password", name=OWNER_NAME)
        found = self.identity(user_claims)
        return found if isinstance(found, Identity) else None


def same_origin(origin: str | None, host: str | None) -> bool:
    """True when a form's Origin header names the host it was sent to (a form posted from another site is not)."""
    if not origin or not host:
        return False
    try:
        return urlsplit(origin).netloc.lower() == host.strip().lower()
    except ValueError:
        return False


def _origin_of(url: str | None) -> str | None:
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _published_origins(environ: Mapping[str, str], secrets_map: Mapping[str, object] | None) -> tuple[str, ...]:
    try:
        auth = (secrets_map or {}).get("auth")
    except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
        auth = None
    redirect = auth.get("redirect_uri") if isinstance(auth, Mapping) else None
    found = [_origin_of(environ.get("KLING_LAB_PUBLIC_URL")), _origin_of(str(redirect) if redirect else None)]
    return tuple(dict.fromkeys(o for o in found if o))
