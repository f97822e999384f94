"""Review links are capabilities: a signed token that opens one board (a batch, or a sequence) until it expires.

`make_link_token` signs `{kind, target, link id, expiry}` with a key derived from the
server secret; the store keeps the link id (so History can list and revoke it), never
the key. `verify_link_token` answers with a `LinkGrant` or a `LinkRefusal` whose
sentence can be shown as it is: a forged or altered token, one made with another
server's secret, or one for a kind this server does not know is "not valid"; a
revoked link id says so; a link past its expiry says it expired. The order is
fixed (validity, then revocation, then expiry), so a forged token never reaches the
store's revocation lookup.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from kling_lab.auth import signed
from kling_lab.auth.secret_key import derive_key

LinkKind = Literal["batch", "sequence"]
LINK_KINDS: tuple[LinkKind, ...] = ("batch", "sequence")
MAX_LINK_DAYS = 365
DEFAULT_LINK_SECONDS = 7 * 86400

_LINK_ID = re.compile(r"^l_[0-9a-f]{16}$")
_TARGET = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


class LinkRefusal(Enum):
    """Why a review link does not open; `.sentence` is what the visitor reads."""

    INVALID = "This review link is not valid. Ask the person who shared it for a new one."
    REVOKED = "This review link was revoked. Ask the person who shared it for a new one."
    EXPIRED = "This review link has expired. Ask the person who shared it for a new one."

    @property
    def sentence(self) -> str:
        return self.value


@dataclass(frozen=True)
class LinkGrant:
    """What a valid link lets its holder see: one target of one kind, until `expires_at` (epoch seconds)."""

    kind: LinkKind
    target_id: str
    link_id: str
    expires_at: float

    def covers(self, kind: LinkKind, target_id: str) -> bool:
        return self.kind == kind and self.target_id == target_id


def new_link_id() -> str:
    return "l_" + secrets.token_hex(8)


def _key(secret: bytes) -> bytes:
    return derive_key(secret, "review-link")


def make_link_token(
    secret: bytes, batch_id: str, expires_at: float, link_id: str, *, kind: LinkKind = "batch"
) -> str:
    """A token for one board: `batch_id` is the batch (or, with kind="sequence", the sequence) it opens."""
    if kind not in LINK_KINDS:
        raise ValueError(f"unknown review link kind {kind!r}")
    if not _TARGET.match(batch_id):
        raise ValueError("a review link target is an id of letters, digits, '_' or '-'")
    if not _LINK_ID.match(link_id):
        raise ValueError("a link id is 'l_' and 16 hex digits (new_link_id)")
    payload = {"typ": "review", "k": kind, "t": batch_id, "l": link_id, "e": int(expires_at)}
    return signed.sign(_key(secret), payload)


def verify_link_token(
    secret: bytes, token: object, now: float, *, is_revoked: Callable[[str], bool]
) -> LinkGrant | LinkRefusal:
    """The grant a token carries, or why it does not open anything."""
    payload = signed.unsign(_key(secret), token)
    if payload is None or payload.get("typ") != "review":
        return LinkRefusal.INVALID
    kind, target, link_id, exp = payload.get("k"), payload.get("t"), payload.get("l"), payload.get("e")
    if (
        kind not in LINK_KINDS
        or not isinstance(target, str) or not _TARGET.match(target)
        or not isinstance(link_id, str) or not _LINK_ID.match(link_id)
        or not isinstance(exp, int) or isinstance(exp, bool)
    ):
        return LinkRefusal.INVALID
    if is_revoked(link_id):
        return LinkRefusal.REVOKED
    if exp <= now:
        return LinkRefusal.EXPIRED
    return LinkGrant(kind=kind, target_id=target, link_id=link_id, expires_at=float(exp))


def parse_link_lifetime(text: str | None) -> float:
    """Seconds for an `--expires` value such as "7d", "12h", "90m" or "2w" (a bare number is days).

    Raises ValueError with a sentence for anything else, or for more than a year.
    """
    if text is None or not text.strip():
        return float(DEFAULT_LINK_SECONDS)
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(
            f"“{text}” is not a length of time. Write it like 7d, 12h, 90m or 2w."
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("A review link has to last longer than zero seconds.")
    if seconds > MAX_LINK_DAYS * 86400:
        raise ValueError(f"A review link can last at most {MAX_LINK_DAYS} days.")
    return float(seconds)
