"""Keeping credentials out of sentences: a key or an Authorization value never reaches an exception, a log or the UI."""

from __future__ import annotations

import re
from collections.abc import Iterable

DETAIL_MAX_CHARS = 300
"""Host reasons are quoted up to this length; longer ones are cut with an ellipsis."""

REDACTED = "[redacted]"

_CREDENTIAL_PATTERNS = (
    # An Authorization value echoed back by a host or a proxy.
    re.compile(r"(?i)\b(bearer|key|token)\s+[A-Za-z0-9._~+/=:-]{8,}"),
    # A JWT anywhere (the official Kling API signs one per request).
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
)

_SHORTEST_SECRET = 4
"""Shorter configured values would blank out ordinary words; real keys are long."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every value of `secrets` and anything shaped like an Authorization value removed."""
    for secret in secrets:
        if len(secret) >= _SHORTEST_SECRET:
            text = text.replace(secret, REDACTED)
    for pattern in _CREDENTIAL_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def quote_detail(detail: object, secrets: Iterable[str] = ()) -> str:
    """A host-supplied reason on one line, redacted, without a closing full stop, and cut to DETAIL_MAX_CHARS."""
    text = " ".join(str(detail).split())
    text = redact(text, secrets).rstrip(" .")
    if len(text) > DETAIL_MAX_CHARS:
        text = text[: DETAIL_MAX_CHARS - 1].rstrip() + "…"
    return text
