"""File tokens: what a page puts in the URL of a clip, thumbnail, frame or export so the route can check it.

The routes (`/clips`, `/thumbs`, `/frames`, `/exports`) see no Streamlit session,
so a page mints a token for its own actor and puts it in the URL (`?t=...`). A
token says who it was made for: a person (their kind and name: the door lets them
have what that person may read) or a review link (one batch, through one link id,
which the door checks is not revoked). It is signed with its own derived key, so
it can never pass for a review link or a session, and it expires (a person's
within about 12 hours). Expiry is rounded to the hour so a page that reruns
every few seconds renders the same URL and a playing video is not reloaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kling_lab.auth import signed
from kling_lab.auth.secret_key import derive_key

FILE_TOKEN_PARAM = "t"  # noqa: S105 - a query parameter name
PERSON_FILE_SECONDS = 12 * 3600
_ROUND = 3600
_PERSON_KINDS = ("local", "owner", "member", "cli")


@dataclass(frozen=True)
class FileGrant:
    """Who a valid file token was made for: a person (`kind`, `name`) or a review link (`batch_id`, `link_id`)."""

    kind: str
    name: str
    expires_at: float
    batch_id: str | None = None
    link_id: str | None = None
    sequence_id: str | None = None
    """A sequence review link's token: the door resolves the sequence's batches when the file is asked for."""


def _key(secret: bytes) -> bytes:
    return derive_key(secret, "file-access")


def person_expiry(now: float) -> float:
    """At least 12 hours from `now`, on the next whole hour (the same for every render within the hour)."""
    return float(math.ceil((now + PERSON_FILE_SECONDS) / _ROUND) * _ROUND)


def make_person_token(secret: bytes, kind: str, name: str, expires_at: float) -> str:
    if kind not in _PERSON_KINDS:
        raise ValueError(f"a person's file token is for one of {_PERSON_KINDS}, not {kind!r}")
    return signed.sign(_key(secret), {"typ": "files", "k": kind, "n": name, "e": int(expires_at)})


def make_review_token(secret: bytes, batch_id: str, link_id: str, expires_at: float, *, kind: str = "batch") -> str:
    """A review link's file token: `batch_id` is its batch (kind="sequence": its sequence)."""
    target = "s" if kind == "sequence" else "b"
    return signed.sign(_key(secret), {"typ": "files", "k": "reviewer", target: batch_id, "l": link_id,
                                      "e": int(expires_at)})


def verify_file_token(secret: bytes, token: object, now: float) -> FileGrant | None:
    """The grant of a valid, unexpired token; None for anything else (missing, forged, altered, expired)."""
    payload = signed.unsign(_key(secret), token)
    if payload is None or payload.get("typ") != "files":
        return None
    kind, exp = payload.get("k"), payload.get("e")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
        return None
    if kind == "reviewer":
        batch_id, link_id, sequence_id = payload.get("b"), payload.get("l"), payload.get("s")
        if isinstance(sequence_id, str) and isinstance(link_id, str) and batch_id is None:
            return FileGrant("reviewer", "", float(exp), link_id=link_id, sequence_id=sequence_id)
        if not isinstance(batch_id, str) or not isinstance(link_id, str):
            return None
        return FileGrant("reviewer", "", float(exp), batch_id=batch_id, link_id=link_id)
    name = payload.get("n")
    if kind not in _PERSON_KINDS or not isinstance(name, str):
        return None
    return FileGrant(kind, name, float(exp))
