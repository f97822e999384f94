"""One HostError, built from a refusal: the same situation reads the same way whatever the host.

A bad key, an empty balance, a rate limit, a content-policy refusal,
maintenance, an invalid request, a server error: each kind has one sentence,
built from the host's label, the name of the setting to fix and the host's own
reason (quoted through `HostIdentity.quote`, so no credential reaches it).
`host_error_from_response` reads an HTTP error answer through the status table
in `status_kinds`; hosts with codes of their own map them with a `CodeTable`
and call `refusal_error`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import httpx

from kling_lab.capabilities import missing_key_sentence
from kling_lab.providers.base import HostError, HostErrorKind
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import decode_json, host_detail, try_decode_json
from kling_lab.providers.retry_after import parse_retry_after
from kling_lab.providers.status_kinds import POLICY_STATUSES, Refusal, refusal_for_status

RETRY_SAFE_KINDS: frozenset[HostErrorKind] = frozenset({"rate_limited", "maintenance"})
"""Refusals after which nothing was created, so sending the create again cannot pay twice."""

_POLICY_WORDS = re.compile(
    r"(?i)content[ _-]?polic|moderat|flagged|sensitive|nsfw|unsafe|safety|inappropriate|"
    r"risk control|content[ _-]?security|content checker|violat|E005"
)


def looks_like_content_policy(text: str) -> bool:
    """True when a host's reason reads like a moderation or content-policy refusal."""
    return bool(_POLICY_WORDS.search(text))


def missing_key_error(provider: str) -> HostError:
    """Raised before any request when the host's key is not configured (the same sentence as everywhere else)."""
    return HostError("auth", missing_key_sentence(provider))


def host_error(
    host: HostIdentity,
    kind: HostErrorKind,
    detail: object = None,
    *,
    status_code: int | None = None,
    host_code: str | None = None,
    retry_after: float | None = None,
    hint: str = "",
) -> HostError:
    """The HostError of `kind`, its sentence quoting the host's `detail` where that kind shows one.

    `hint` is the host's own wording for the case: a sentence appended to `auth`,
    the whole sentence for `credits`, what the host is doing for `rate_limited`
    ("is already running as many tasks as ..."). `retry_after` is kept for the
    retry-safe kinds. A `generation_failed` whose reason reads like moderation
    becomes `content_policy`. A `server` error is never retry-safe: a create may
    have landed anyway.
    """
    if kind == "generation_failed" and looks_like_content_policy(str(detail or "")):
        kind = "content_policy"
    retry_safe = kind in RETRY_SAFE_KINDS
    return HostError(
        kind,
        _sentence(host, kind, detail, status_code=status_code, retry_after=retry_after, hint=hint),
        retry_safe=retry_safe,
        retry_after=retry_after if retry_safe else None,
        status_code=status_code,
        host_code=host_code,
    )


def _sentence(
    host: HostIdentity, kind: HostErrorKind, detail: object, *, status_code: int | None,
    retry_after: float | None, hint: str,
) -> str:
    label = host.label
    match kind:
        case "auth":
            sentence = f"{label} rejected the API key. Check {host.key_hint} in Settings."
            return f"{sentence} {hint}" if hint else sentence
        case "credits":
            return hint or (
                f"{label} says the account is out of credits. Top up your {label} balance, then try again."
            )
        case "rate_limited":
            if retry_after is not None and retry_after > 0:
                wait = f"Wait {_seconds_text(retry_after)} and try again."
            else:
                wait = "Wait a moment and try again."
            return f"{label} {hint or 'is rate limiting requests'}. {wait}"
        case "maintenance":
            when = f"in {_seconds_text(retry_after)}" if retry_after else "in a few minutes"
            return f"{label} is temporarily unavailable (maintenance or overload). Try again {when}."
        case "content_policy":
            return content_policy_sentence(host, detail)
        case "generation_failed":
            return failure_sentence(host, detail)
        case "invalid":
            reason = host.quote(detail) if detail else "no reason given"
            return f"{label} rejected the request as invalid: {reason}. Change the settings and try again."
        case "not_found":
            reason = f": {host.quote(detail)}" if detail else ""
            return f"{label} does not know this task or endpoint{reason}. Check the host's base URL in Settings."
        case "server":
            shown = f" (HTTP {status_code})" if status_code else ""
            reason = f": {host.quote(detail)}" if detail else ""
            return f"{label} had a server error{shown}{reason}. Try again later."
        case "unavailable":
            reason = host.quote(detail) if detail else "no reason given"
            return f"{label} will not serve this request: {reason}."
    raise ValueError(f"unknown host error kind {kind!r}")


def refusal_error(
    host: HostIdentity,
    refusal: Refusal,
    detail: str | None,
    *,
    code: int | str,
    status_code: int | None = None,
    host_code: str | None = None,
    retry_after: float | None = None,
) -> HostError:
    """The HostError for a refusal read from a table, quoting `detail` or else the refusal's default reason."""
    return host_error(
        host,
        refusal.kind,
        detail or refusal.default_detail.format(code=code) or None,
        status_code=status_code,
        host_code=host_code,
        retry_after=retry_after,
        hint=refusal.hint,
    )


def host_error_from_response(host: HostIdentity, response: httpx.Response, body: Any = None) -> HostError:
    """The HostError for an HTTP error answer, quoting the host's reason from `body` when present."""
    status = response.status_code
    detail = host_detail(body)
    if detail and looks_like_content_policy(detail) and status in POLICY_STATUSES:
        return host_error(host, "content_policy", detail, status_code=status)
    return refusal_error(
        host, refusal_for_status(status), detail, code=status, status_code=status,
        retry_after=parse_retry_after(response.headers),
    )


def read_json(
    host: HostIdentity,
    response: httpx.Response,
    *,
    classify: Callable[[httpx.Response, Any], HostError | None] | None = None,
) -> Any:
    """The JSON body of a successful answer.

    For an HTTP error status, raises the HostError from `classify` (the host's
    own codes) or else from `host_error_from_response`. An unreadable success
    body raises HostProtocolError.
    """
    if response.status_code >= 400:
        body = try_decode_json(response)
        error = classify(response, body) if classify else None
        raise error or host_error_from_response(host, response, body)
    return decode_json(host, response)


def content_policy_sentence(host: HostIdentity, reason: object) -> str:
    """The sentence for a prompt or image the host refused on policy grounds."""
    quoted = host.quote(reason) if reason else "no reason given"
    return (
        f"{host.label} refused the prompt or image under its content policy: {quoted}. "
        "Change the prompt or image."
    )


def failure_sentence(host: HostIdentity, reason: object) -> str:
    """Why a generation failed, for TaskStatus.error: a content-policy sentence when the reason says so."""
    text = str(reason).strip() if reason is not None else ""
    if text and looks_like_content_policy(text):
        return content_policy_sentence(host, text)
    if not text:
        return f"{host.label} could not generate the clip and gave no reason."
    return f"{host.label} could not generate the clip: {host.quote(text)}."


def _seconds_text(seconds: float) -> str:
    rounded = max(1, math.ceil(seconds))
    return "1 second" if rounded == 1 else f"{rounded} seconds"
