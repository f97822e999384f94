"""Checking that a callback came from the host: shared pieces of the hosts' signature schemes.

A callback is believed only when it carries a valid signature made with a
secret we hold (Replicate, Kie.ai) or a key the host publishes (fal.ai), and
its timestamp is recent. Everything else is at most a wake-up: the runner then
asks the host itself, with our key, what the task's state is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_TOLERANCE_S = 300
"""How far a signed timestamp may be from our clock: five minutes, the Standard Webhooks window
(replicate's SDK checks the time only when given a tolerance; fal and Kie name none)."""


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value whatever the case of its name; empty when absent."""
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value).strip()
    return ""


def timestamp_fresh(raw: str, *, now: float | None = None, tolerance: float = TIMESTAMP_TOLERANCE_S) -> bool:
    """True when `raw` is whole Unix seconds within `tolerance` of now (either side)."""
    text = raw.strip()
    if not text.isdigit() or len(text) > 12:
        return False
    reference = time.time() if now is None else now
    return abs(reference - int(text)) <= tolerance


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def b64_equal(expected: bytes, given_b64: str) -> bool:
    """Constant-time comparison of a digest with a base64 text (padding optional); False when unreadable."""
    text = given_b64.strip()
    try:
        given = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, given)
