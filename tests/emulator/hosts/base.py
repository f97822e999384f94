"""What every emulated host shares: its routes, its own error body shape, its callback body."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, ClassVar

from tests.emulator.faults import FaultRule
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import EmuRequest, EmuResponse, Route, json_response, text_response

if TYPE_CHECKING:
    from tests.emulator.core import Emulator

DEFAULT_FAULT_MESSAGES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Insufficient credits",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Validation error",
    429: "Too many requests, rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable for maintenance",
    504: "Gateway timeout",
}


class HostEmulator:
    """One host's protocol under its path prefix."""

    name: ClassVar[str]
    prefix: ClassVar[str]
    """Path prefix of the host's base URL on the emulator (e.g. "/replicate")."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    # -- to implement per host --------------------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        """An error answer in the host's own body shape."""
        return json_response(status, {"detail": message}, headers)

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        """The body the host POSTs to a task's callback URL when it ends (None: the host has no callbacks)."""
        return None

    def callback_headers(self, task: EmuTask, body: bytes) -> dict[str, str]:
        """The headers that sign a callback (the host's own scheme, per the `callback_signature` knob).

        Hosts that sign nothing return {}. Signing hosts honour the knob: valid,
        none (no signature headers), wrong (a signature that does not verify) or
        stale (a valid signature over a timestamp an hour old).
        """
        return {}

    # -- shared ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.emu.url + self.prefix

    def fault_response(self, rule: FaultRule, op: str) -> EmuResponse:
        """The answer for an injected `http` fault, with Retry-After when the rule sets one."""
        status = int(rule.status or 500)
        headers: dict[str, str] = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(rule.retry_after)
        if rule.retry_after_ms is not None:
            headers["retry-after-ms"] = str(rule.retry_after_ms)
        message = rule.message or DEFAULT_FAULT_MESSAGES.get(status, f"HTTP {status}")
        if op == "download":
            response = text_response(status, message)
        else:
            response = self.error_response(status, message, code=rule.code)
        response.headers.update(headers)
        return response

    def video_url(self, task: EmuTask) -> str:
        return f"{self.emu.url}/files/{self.name}/{task.file_token}.mp4"

    def key(self, name: str) -> str:
        return self.emu.keys[name]

    def bearer_ok(self, request: EmuRequest, key_name: str, scheme: str = "Bearer") -> bool:
        """True when the Authorization header carries the configured key with the host's scheme."""
        return secrets.compare_digest(request.header("authorization"), f"{scheme} {self.key(key_name)}")

    def now_phase(self, task: EmuTask) -> str:
        return self.emu.phase_of(task)
