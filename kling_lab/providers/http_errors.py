"""Shared helpers for the host clients: reading answers and turning refusals into sentences.

Every host client goes through these so that the same situation reads the same
way whatever the host: a bad key, an empty balance, a rate limit, a content
policy refusal, maintenance, an invalid request, a server error. Messages are
built from the host's label, the name of the setting to fix and the host's own
reason, and are scrubbed of credentials: a key or an Authorization value never
reaches an exception, a log or the UI.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from kling_lab.capabilities import missing_key_sentence
from kling_lab.providers.base import HostError, HostProtocolError, TaskPhase

DETAIL_MAX_CHARS = 300
"""Host reasons are quoted up to this length; longer ones are cut with an ellipsis."""

_CREDENTIAL_PATTERNS = (
    # An Authorization value echoed back by a host or a proxy.
    re.compile(r"(?i)\b(bearer|key|token)\s+[A-Za-z0-9._~+/=:-]{8,}"),
    # A JWT anywhere (the official Kling API signs one per request).
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
)

_POLICY_WORDS = re.compile(
    r"(?i)content[ _-]?polic|moderat|flagged|sensitive|nsfw|unsafe|safety|inappropriate|"
    r"risk control|content[ _-]?security|content checker|violat|E005"
)


# --------------------------------------------------------------------------------------------
# Who is speaking


@dataclass(frozen=True)
class HostIdentity:
    """How a host is named in messages, which setting holds its key, and what must never be shown."""

    label: str
    key_hint: str
    secrets: tuple[str, ...] = ()

    @classmethod
    def for_host(cls, label: str, key_env: Iterable[str], credentials: Mapping[str, str]) -> HostIdentity:
        """Identity of a host from its capability entry and configured credentials."""
        names = list(key_env)
        hint = " and ".join(names) if names else "its key"
        return cls(label=label, key_hint=hint, secrets=tuple(v for v in credentials.values() if v))

    def redact(self, text: str) -> str:
        """`text` with every credential and anything shaped like an Authorization value removed."""
        for secret in self.secrets:
            # Short values would blank out ordinary words; real keys are long.
            if len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        for pattern in _CREDENTIAL_PATTERNS:
            text = pattern.sub("[redacted]", text)
        return text

    def quote(self, detail: object) -> str:
        """A host-supplied reason made safe and short enough to put in a sentence."""
        text = " ".join(str(detail).split())
        text = self.redact(text).rstrip(" .")
        if len(text) > DETAIL_MAX_CHARS:
            text = text[: DETAIL_MAX_CHARS - 1].rstrip() + "…"
        return text


# --------------------------------------------------------------------------------------------
# Retry-After


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


# --------------------------------------------------------------------------------------------
# Sentences for each kind of refusal


def missing_key_error(provider: str) -> HostError:
    """Raised before any request when the host's key is not configured (the same sentence as everywhere else)."""
    return HostError("auth", missing_key_sentence(provider))


def auth_error(
    host: HostIdentity, *, status_code: int | None = None, host_code: str | None = None, hint: str = ""
) -> HostError:
    """The host refused the credentials."""
    message = f"{host.label} rejected the API key. Check {host.key_hint} in Settings."
    if hint:
        message += f" {hint}"
    return HostError("auth", message, status_code=status_code, host_code=host_code)


def credits_error(
    host: HostIdentity, *, status_code: int | None = None, host_code: str | None = None, hint: str = ""
) -> HostError:
    """The account cannot pay for the clip."""
    message = hint or (
        f"{host.label} says the account is out of credits. Top up your {host.label} balance, then try again."
    )
    return HostError("credits", message, status_code=status_code, host_code=host_code)


def rate_limited_error(
    host: HostIdentity,
    *,
    retry_after: float | None,
    status_code: int | None = None,
    host_code: str | None = None,
    what: str = "is rate limiting requests",
) -> HostError:
    """Too many requests; nothing was created, so sending again later is safe."""
    if retry_after is not None and retry_after > 0:
        wait = f"Wait {_seconds_text(retry_after)} and try again."
    else:
        wait = "Wait a moment and try again."
    return HostError(
        "rate_limited",
        f"{host.label} {what}. {wait}",
        retry_safe=True,
        retry_after=retry_after,
        status_code=status_code,
        host_code=host_code,
    )


def content_policy_sentence(host: HostIdentity, reason: object) -> str:
    """The sentence for a prompt or image the host refused on policy grounds."""
    quoted = host.quote(reason) if reason else "no reason given"
    return (
        f"{host.label} refused the prompt or image under its content policy: {quoted}. "
        "Change the prompt or image."
    )


def content_policy_error(
    host: HostIdentity, reason: object, *, status_code: int | None = None, host_code: str | None = None
) -> HostError:
    """The host refused the prompt or image under its content policy."""
    return HostError(
        "content_policy", content_policy_sentence(host, reason), status_code=status_code, host_code=host_code
    )


def maintenance_error(
    host: HostIdentity,
    *,
    retry_after: float | None = None,
    status_code: int | None = None,
    host_code: str | None = None,
) -> HostError:
    """The host is down for maintenance or overloaded; nothing was created."""
    when = f"in {_seconds_text(retry_after)}" if retry_after else "in a few minutes"
    return HostError(
        "maintenance",
        f"{host.label} is temporarily unavailable (maintenance or overload). Try again {when}.",
        retry_safe=True,
        retry_after=retry_after,
        status_code=status_code,
        host_code=host_code,
    )


def invalid_error(
    host: HostIdentity, detail: object, *, status_code: int | None = None, host_code: str | None = None
) -> HostError:
    """The host found the request invalid; its own reason is quoted."""
    reason = host.quote(detail) if detail else "no reason given"
    return HostError(
        "invalid",
        f"{host.label} rejected the request as invalid: {reason}. Change the settings and try again.",
        status_code=status_code,
        host_code=host_code,
    )


def not_found_error(
    host: HostIdentity, detail: object = None, *, status_code: int | None = 404, host_code: str | None = None
) -> HostError:
    """The host does not know the task or the endpoint."""
    reason = f": {host.quote(detail)}" if detail else ""
    return HostError(
        "not_found",
        f"{host.label} does not know this task or endpoint{reason}. Check the host's base URL in Settings.",
        status_code=status_code,
        host_code=host_code,
    )


def server_error(
    host: HostIdentity, status_code: int | None, detail: object = None, *, host_code: str | None = None
) -> HostError:
    """The host failed internally. Not marked retry-safe: a create may have landed anyway."""
    shown = f" (HTTP {status_code})" if status_code else ""
    reason = f": {host.quote(detail)}" if detail else ""
    return HostError(
        "server",
        f"{host.label} had a server error{shown}{reason}. Try again later.",
        status_code=status_code,
        host_code=host_code,
    )


def unavailable_error(
    host: HostIdentity, detail: object, *, status_code: int | None = None, host_code: str | None = None
) -> HostError:
    """The host will not serve this account or feature (disabled, not permitted, IP not allowed)."""
    return HostError(
        "unavailable",
        f"{host.label} will not serve this request: {host.quote(detail)}.",
        status_code=status_code,
        host_code=host_code,
    )


def failure_sentence(host: HostIdentity, reason: object) -> str:
    """Why a generation failed, for TaskStatus.error: a content-policy sentence when the reason says so."""
    text = str(reason).strip() if reason is not None else ""
    if text and looks_like_content_policy(text):
        return content_policy_sentence(host, text)
    if not text:
        return f"{host.label} could not generate the clip and gave no reason."
    return f"{host.label} could not generate the clip: {host.quote(text)}."


def generation_failed_error(
    host: HostIdentity, reason: object, *, status_code: int | None = None, host_code: str | None = None
) -> HostError:
    """A refusal that reports a failed generation (e.g. Kie's code 501)."""
    text = str(reason or "")
    kind = "content_policy" if looks_like_content_policy(text) else "generation_failed"
    return HostError(kind, failure_sentence(host, text), status_code=status_code, host_code=host_code)


def looks_like_content_policy(text: str) -> bool:
    """True when a host's reason reads like a moderation or content-policy refusal."""
    return bool(_POLICY_WORDS.search(text))


def _seconds_text(seconds: float) -> str:
    rounded = max(1, math.ceil(seconds))
    return "1 second" if rounded == 1 else f"{rounded} seconds"


# --------------------------------------------------------------------------------------------
# Reading answers


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
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = item.get("loc")
                where = ".".join(str(p) for p in loc if p != "body") if isinstance(loc, list) else ""
                msg = str(item.get("msg") or item.get("message") or "").strip()
                parts.append(f"{where}: {msg}" if where and msg else msg or where)
            else:
                parts.append(str(item))
        joined = "; ".join(p for p in parts if p)
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


def error_for_status(host: HostIdentity, response: httpx.Response, body: Any = None) -> HostError:
    """The HostError for an HTTP error status, quoting the host's reason from `body` when present."""
    status = response.status_code
    detail = host_detail(body)
    retry_after = parse_retry_after(response.headers)
    if detail and looks_like_content_policy(detail) and status in (400, 403, 422, 451):
        return content_policy_error(host, detail, status_code=status)
    if status == 401:
        return auth_error(host, status_code=status)
    if status == 403:
        return auth_error(
            host, status_code=status, hint="The key was refused access to Kling 2.6 (HTTP 403)."
        )
    if status == 402:
        return credits_error(host, status_code=status)
    if status == 404:
        return not_found_error(host, detail, status_code=status)
    if status == 429:
        return rate_limited_error(host, retry_after=retry_after, status_code=status)
    if status == 503:
        return maintenance_error(host, retry_after=retry_after, status_code=status)
    if status >= 500:
        return server_error(host, status, detail)
    return invalid_error(host, detail or f"HTTP {status}", status_code=status)


def read_json(
    host: HostIdentity,
    response: httpx.Response,
    *,
    classify: Callable[[httpx.Response, Any], HostError | None] | None = None,
) -> Any:
    """The JSON body of a successful answer.

    For an HTTP error status, raises the HostError from `classify` (the host's
    own codes) or else from `error_for_status`. An unreadable success body
    raises HostProtocolError.
    """
    if response.status_code >= 400:
        body = try_decode_json(response)
        error = classify(response, body) if classify else None
        raise error or error_for_status(host, response, body)
    return decode_json(host, response)


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


# --------------------------------------------------------------------------------------------
# Encoding frames for JSON bodies


def frame_base64(data: bytes) -> str:
    """Raw base64 of the frame's bytes, without a `data:` prefix (the official Kling API's form)."""
    return base64.b64encode(data).decode("ascii")


def frame_data_uri(mime: str, data: bytes) -> str:
    """The frame as a `data:<mime>;base64,...` URI, the form most hosts accept inline."""
    return f"data:{mime};base64,{frame_base64(data)}"
