"""How long a host asks us to wait: `retry-after-ms` and `Retry-After` read into seconds."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def parse_retry_after(headers: Mapping[str, str] | httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds to wait before trying again, or None when the answer says nothing usable.

    Reads `retry-after-ms` (milliseconds, preferred because it is more precise)
    then `Retry-After` as delta-seconds (integer or decimal) or as an HTTP-date.
    A date in the past gives 0. Negative, non-finite or unreadable values give None.
    """
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    milliseconds = _parse_seconds(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_seconds(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def _parse_seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    text = raw.strip()
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
