"""Fault-injection rules: which request goes wrong, how, and how many times.

A rule matches by host ("kie", "replicate", "aimlapi", "fal", "kling",
"inference" or "*") and operation ("create", "status", "result", "cancel",
"upload", "download", "lookup" or "*"). It lets `skip` matching requests
through, then fires `count` times (None: every time). The first rule that
fires wins.

Kinds, and whether the request is processed (a create accepted) first:

| kind | processed | what the client sees |
|---|---|---|
| `http` | no | HTTP `status` with the host's own error body (`code`, `message`); Retry-After on 429/503 |
| `reset_before` | no | connection reset before the body is read |
| `reset_after` | yes | connection reset after processing: the create is accepted, the answer lost |
| `timeout` | no | no answer for `hang_seconds` (longer than the client's timeout), then close |
| `timeout_after` | yes | processed, then no answer for `hang_seconds` |
| `malformed_json` | yes | 2xx with a JSON body cut in half |
| `wrong_content_type` | no | 200 text/plain (API) or 200 JSON error (download) instead of the expected type |
| `html` | no | 200 text/html page (a proxy or login page), e.g. instead of the MP4 |
| `truncated` | yes | Content-Length larger than the bytes sent, then close |
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {
        "http",
        "reset_before",
        "reset_after",
        "timeout",
        "timeout_after",
        "malformed_json",
        "wrong_content_type",
        "html",
        "truncated",
    }
)
HOSTS = ("kie", "replicate", "aimlapi", "fal", "kling", "inference")
OPERATIONS = frozenset({"create", "status", "result", "cancel", "upload", "download", "lookup"})
PROCESSED_FIRST = frozenset({"reset_after", "timeout_after", "malformed_json", "truncated"})


@dataclass
class FaultRule:
    """One injected fault. See the module docstring for the kinds."""

    kind: str
    host: str = "*"
    op: str = "*"
    count: int | None = 1
    skip: int = 0
    status: int | None = None
    code: int | str | None = None
    """The host's body code for `http` faults (Kie `code`, Kling `code`); a sensible default otherwise."""
    message: str | None = None
    retry_after: str | None = None
    """Raw Retry-After header value (seconds or an HTTP-date) for `http` faults."""
    retry_after_ms: str | None = None
    hang_seconds: float | None = None
    id: int = 0
    seen: int = field(default=0)
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.host != "*" and self.host not in HOSTS:
            raise ValueError(f"unknown host {self.host!r}; one of {HOSTS} or '*'")
        if self.op != "*" and self.op not in OPERATIONS:
            raise ValueError(f"unknown operation {self.op!r}; one of {sorted(OPERATIONS)} or '*'")
        if self.kind == "http" and not (self.status and 400 <= int(self.status) <= 599):
            raise ValueError("an http fault needs a status between 400 and 599")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or None for every time)")

    @property
    def remaining(self) -> int | None:
        return None if self.count is None else max(0, self.count - self.fired)

    def matches(self, host: str, op: str) -> bool:
        return self.host in ("*", host) and self.op in ("*", op)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["remaining"] = self.remaining
        return data


class FaultBook:
    """The active rules, shared by every server thread."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def take(self, host: str, op: str) -> FaultRule | None:
        """The rule that fires for this request, if any (consuming one of its firings)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(host, op) or rule.remaining == 0:
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    continue
                rule.fired += 1
                return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]
