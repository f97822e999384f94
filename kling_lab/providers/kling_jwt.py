"""The official Kling API's credential: an HS256 JWT signed with the secret key, cached until near expiry.

`{iss: access key, exp: now+1800, nbf: now-5}`, made with PyJWT as the
reference's "General Information" page does, and replaced five minutes before
it expires.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable

import jwt

TOKEN_LIFETIME_S = 1800
TOKEN_NOT_BEFORE_SKEW_S = 5
TOKEN_REFRESH_MARGIN_S = 300

JWT_HEADERS = {"alg": "HS256", "typ": "JWT"}


def sign_jwt(access_key: str, secret_key: str, now: float) -> str:
    """An HS256 JWT for the official API: `{iss, exp: now+1800, nbf: now-5}` signed with the secret key."""
    payload = {
        "iss": access_key,
        "exp": int(now) + TOKEN_LIFETIME_S,
        "nbf": int(now) - TOKEN_NOT_BEFORE_SKEW_S,
    }
    with warnings.catch_warnings():
        # PyJWT warns about HMAC keys under 32 bytes; the secret's length is Kling's choice, not ours.
        warnings.filterwarnings("ignore", message="The HMAC key is")
        return jwt.encode(payload, secret_key, algorithm="HS256", headers=JWT_HEADERS)


class KlingToken:
    """A cached JWT, re-signed when less than five minutes of its life remain."""

    def __init__(self, access_key: str, secret_key: str, clock: Callable[[], float] = time.time) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        # The runner's loop is single-threaded, but the CLI and tests may share a client across threads.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "KlingToken(<hidden>)"

    def get(self) -> str:
        """A token valid for at least five more minutes."""
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._expires_at - TOKEN_REFRESH_MARGIN_S:
                self._token = sign_jwt(self._access_key, self._secret_key, now)
                self._expires_at = float(int(now) + TOKEN_LIFETIME_S)
            return self._token


