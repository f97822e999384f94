"""The owner password of a one-person demo server: constant-time check, rate limit, signed session.

`KLING_LAB_OWNER_PASSWORD` (environment, then `.streamlit/secrets.toml`) is compared
through SHA-256 digests with `hmac.compare_digest`, so neither its length nor its
first wrong character shows in the time a refusal takes. Each client key (the
caller picks it: the remote address, or the browser session) gets a few attempts
a minute; past that every further failure doubles the wait. A right password
yields a signed session token that carries the role and an expiry; the key that
signs it is derived from the server secret and the password together, so changing
the password ends every session made with the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kling_lab.auth import signed
from kling_lab.auth.roles import Role
from kling_lab.auth.secret_key import derive_key

log = logging.getLogger("kling_lab.auth")

OWNER_PASSWORD_ENV = "KLING_LAB_OWNER_PASSWORD"  # noqa: S105 - a variable name
MIN_PASSWORD_CHARS = 12
SESSION_SECONDS = 12 * 3600

Clock = Callable[[], float]


def passwords_match(supplied: str, configured: str) -> bool:
    """True when `supplied` is the configured password; the comparison takes the same time either way."""
    supplied_digest = hashlib.sha256(supplied.encode("utf-8")).digest()
    configured_digest = hashlib.sha256(configured.encode("utf-8")).digest()
    return hmac.compare_digest(supplied_digest, configured_digest)


def configured_password(
    environ: Mapping[str, str], secrets_map: Mapping[str, object] | None = None
) -> str | None:
    """The owner password from the environment, then the secrets file; None when unset or empty."""
    value = environ.get(OWNER_PASSWORD_ENV)
    if value:
        return value
    try:
        from_file = (secrets_map or {}).get(OWNER_PASSWORD_ENV)
    except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
        return None
    return from_file if isinstance(from_file, str) and from_file else None


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    over_limit: int = 0
    locked_until: float = 0.0


class AttemptLimiter:
    """At most `max_failures` wrong passwords per `window` seconds per client key, then exponential back-off.

    The first `max_failures - 1` failures in a window cost nothing; the `max_failures`-th locks the
    key for `base_lockout` seconds, and from then on every failure locks it again for twice as long
    (capped at `max_lockout`) until a success, or until `max_lockout` passes quietly after a lockout.
    At most `max_keys` keys are remembered (least recently seen dropped first), so a flood of
    addresses cannot grow memory without bound. Thread-safe.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 60.0,
        base_lockout: float = 30.0,
        max_lockout: float = 900.0,
        max_keys: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.base_lockout = base_lockout
        self.max_lockout = max_lockout
        self.max_keys = max_keys
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait_seconds(self, key: str) -> float:
        """How long `key` must wait before its next attempt (0 when it may try now)."""
        with self._lock:
            record = self._records.get(key)
            return max(0.0, record.locked_until - self._clock()) if record else 0.0

    def failed(self, key: str) -> float:
        """Record a wrong password for `key`; returns how long it must now wait (0 while under the limit)."""
        with self._lock:
            now = self._clock()
            record = self._records.pop(key, None) or _Record()
            self._records[key] = record
            if record.over_limit and now >= record.locked_until + self.max_lockout:
                record.over_limit = 0  # quiet for a long while since the last lockout: forgive the history
            record.failures = [t for t in record.failures if now - t < self.window]
            record.failures.append(now)
            if record.over_limit or len(record.failures) >= self.max_failures:
                lockout = min(self.max_lockout, self.base_lockout * 2**record.over_limit)
                record.over_limit += 1
                record.locked_until = now + lockout
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
            return max(0.0, record.locked_until - now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)


@dataclass(frozen=True)
class Session:
    """A verified password session."""

    role: Role
    subject: str
    expires_at: float
    session_id: str


def _session_key(secret: bytes, password: str) -> bytes:
    return derive_key(secret, "session/" + hashlib.sha256(password.encode("utf-8")).hexdigest())


def make_session_token(
    secret: bytes, password: str, *, role: Role = Role.OWNER, subject: str = "owner",
    now: float, lifetime: float = SESSION_SECONDS,
) -> str:
    payload = {"typ": "session", "role": role.value, "sub": subject, "iat": int(now),
               "exp": int(math.ceil(now + lifetime)), "sid": secrets.token_hex(8)}
    return signed.sign(_session_key(secret, password), payload)


def verify_session_token(secret: bytes, password: str, token: object, *, now: float) -> Session | None:
    """The session a token proves, or None when it is forged, altered, expired or made with another password."""
    payload = signed.unsign(_session_key(secret, password), token)
    if payload is None or payload.get("typ") != "session":
        return None
    exp, role, sub, sid = payload.get("exp"), payload.get("role"), payload.get("sub"), payload.get("sid")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
        return None
    if role not in {r.value for r in Role} or not isinstance(sub, str) or not isinstance(sid, str):
        return None
    return Session(role=Role(role), subject=sub, expires_at=float(exp), session_id=sid)


@dataclass(frozen=True)
class SignInResult:
    """A token on success; otherwise `refusal`, a sentence to show the person."""

    token: str | None = None
    refusal: str | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


def wait_sentence(seconds: float) -> str:
    """The sentence a rate-limited sign-in gets, saying how long to wait."""
    if seconds <= 60:
        amount = f"{max(1, math.ceil(seconds))} seconds"
    else:
        minutes = math.ceil(seconds / 60)
        amount = f"{minutes} minute" + ("s" if minutes != 1 else "")
    return f"Too many wrong passwords were tried from here. Try again in {amount}."


class PasswordGate:
    """Sign-in with the owner password: check, rate-limit, and issue a session token."""

    def __init__(
        self, password: str | None, secret: bytes, *, limiter: AttemptLimiter | None = None,
        clock: Clock = time.time, lifetime: float = SESSION_SECONDS,
    ) -> None:
        self._password = password
        self._secret = secret
        self.limiter = limiter or AttemptLimiter()
        self._clock = clock
        self._lifetime = lifetime

    @property
    def configured(self) -> bool:
        return bool(self._password)

    def sign_in(self, supplied: str, client_key: str) -> SignInResult:
        if not self._password:
            return SignInResult(refusal="Signing in with a password is not set up on this server.")
        wait = self.limiter.wait_seconds(client_key)
        if wait > 0:
            log.warning("Password sign-in refused while rate-limited.")
            return SignInResult(refusal=wait_sentence(wait))
        if not passwords_match(supplied or "", self._password):
            wait = self.limiter.failed(client_key)
            log.warning("Password sign-in failed.")
            if wait > 0:
                return SignInResult(refusal=wait_sentence(wait))
            return SignInResult(refusal="That password is not right.")
        self.limiter.succeeded(client_key)
        log.info("Owner signed in with the password.")
        token = make_session_token(self._secret, self._password, now=self._clock(), lifetime=self._lifetime)
        return SignInResult(token=token)

    def session(self, token: object) -> Session | None:
        if not self._password:
            return None
        return verify_session_token(self._secret, self._password, token, now=self._clock())
