"""Reading a host's JSON: bodies, the host's own reason for a refusal, and required fields.

Anything the client cannot understand raises `HostProtocolError` with a sentence
that names the host and what arrived, never the body itself (it may echo a key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from kling_lab.providers.base import HostProtocolError, TaskPhase
from kling_lab.providers.host_identity import HostIdentity


def host_detail(body: Any) -> str | None:
    """The host's own explanation from an error body, whatever its shape; None when there is none.

    Understands `detail` (a string or a FastAPI/fal list of {loc, msg}),
    `error` as an object ({name, message}), then `message`, `msg`, `error` as a
    string, `failMsg`, `title` and `name`.
    """
    if isinstance(body, str):
        return body.strip() or None
    if not isinstance(body, Mapping):
        return None
    detail = body.get("detail")
    if isinstance(detail, list) and detail:
        joined = "; ".join(p for p in (_detail_item(item) for item in detail) if p)
        if joined:
            return joined
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    error = body.get("error")
    if isinstance(error, Mapping):
        nested = host_detail(error)
        if nested:
            return nested
    # `error` is often a bare status phrase ("Bad Request") beside a real `message`, so it comes after.
    for key in ("message", "msg", "error", "failMsg", "title", "name"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _detail_item(item: Any) -> str:
    """One entry of a FastAPI/fal `detail` list as `field: message`."""
    if not isinstance(item, Mapping):
        return str(item)
    loc = item.get("loc")
    where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
    msg = str(item.get("msg") or item.get("message") or "").strip()
    return f"{where}: {msg}" if where and msg else msg or where


def decode_json(host: HostIdentity, response: httpx.Response) -> Any:
    """The response body as JSON; raises HostProtocolError (without quoting credentials) when unreadable.

    A JSON body is accepted whatever the Content-Type says; anything else is a
    protocol error naming the status and content type the host sent.
    """
    content_type = response.headers.get("content-type", "") or "no content type"
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        pass
    kind = "an HTML page" if "html" in content_type.lower() else f"a body of type {content_type}"
    if "json" in content_type.lower():
        kind = "JSON that could not be read"
    raise HostProtocolError(
        f"{host.label} answered HTTP {response.status_code} with {kind} "
        f"({len(response.content)} bytes) where a JSON answer was expected."
    )


def try_decode_json(response: httpx.Response) -> Any:
    """The body as JSON, or None: for error answers, whose body is only used for the host's reason."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def require_mapping(host: HostIdentity, value: Any, what: str) -> Mapping[str, Any]:
    """`value` when it is a JSON object; HostProtocolError naming `what` otherwise."""
    if not isinstance(value, Mapping):
        raise HostProtocolError(f"{host.label} sent {what} that is not a JSON object.")
    return value


def require_text(host: HostIdentity, mapping: Mapping[str, Any], key: str, what: str) -> str:
    """A non-empty string or number field as text; HostProtocolError when missing."""
    value = mapping.get(key)
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise HostProtocolError(f"{host.label} sent {what} without `{key}`.")
    if not isinstance(value, str | int):
        raise HostProtocolError(f"{host.label} sent {what} with an unreadable `{key}`.")
    return str(value)


def require_phase(host: HostIdentity, raw: Any, states: Mapping[str, TaskPhase], what: str) -> TaskPhase:
    """Our phase for a host's state word (matched without regard to case); HostProtocolError when unknown."""
    state = str(raw or "").strip()
    phase = states.get(state) or {k.lower(): v for k, v in states.items()}.get(state.lower())
    if phase is None:
        raise HostProtocolError(f"{host.label} reported an unknown {what} {state.lower()!r}.")
    return phase


def charge_amount(value: Any) -> Decimal | None:
    """A charge a host reports, as a number or a numeric string: a finite, non-negative Decimal, else None.

    Booleans, other types, unreadable text, NaN, infinities and negative amounts all read as "no charge given".
    """
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount
