"""Helpers for tests that drive the host clients against the emulator over real HTTP.

Clients are built the way the app builds them: `load_settings(environ=emu.env())`
then `build_host_client(provider, settings)`.
"""

from __future__ import annotations

import asyncio
import functools
import io
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from PIL import Image

from kling_lab.config import Settings, load_settings
from kling_lab.images import FrameRef, inspect_frame
from kling_lab.providers.base import HostClient, HostError, Submission, TaskStatus
from kling_lab.providers.registry import build_host_client
from kling_lab.request import GenerationRequest
from tests.emulator.core import Emulator

T = TypeVar("T")

FINAL = frozenset({"succeeded", "failed", "canceled"})


def make_png(width: int = 640, height: int = 360, color: tuple[int, int, int] = (200, 60, 40)) -> bytes:
    """PNG bytes of a solid image (large enough for Kling's 300 px minimum by default)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


class FrameStore:
    """The media store as the clients see it: checked frames by hash, read back through `frames(ref)`."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def add(self, data: bytes, what: str = "The start frame") -> FrameRef:
        inspection = inspect_frame(data, what)
        assert inspection.ref is not None and not inspection.errors, inspection.errors
        self._data[inspection.ref.sha256] = data
        return inspection.ref

    def __call__(self, ref: FrameRef) -> bytes:
        return self._data[ref.sha256]


def settings_for(emu: Emulator, **env_overrides: str) -> Settings:
    """Settings built from the emulator's environment (plus overrides), as a user would configure them."""
    return load_settings(environ={**emu.env(), **env_overrides}, secrets={})


def client_for(emu: Emulator, provider: str, **env_overrides: str) -> HostClient:
    """The registry's client for `provider`, pointed at the emulator."""
    return build_host_client(provider, settings_for(emu, **env_overrides))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building an SSL context is most of an AsyncClient's start-up cost; tests share one.
    return ssl.create_default_context()


def run(scenario: Callable[[httpx.AsyncClient], Awaitable[T]], *, timeout: float = 5.0) -> T:
    """Run `scenario(http)` on a fresh event loop with a fresh AsyncClient (one per test, as the runner shares one)."""

    async def main() -> T:
        async with httpx.AsyncClient(timeout=timeout, verify=_tls_context()) as http:
            return await scenario(http)

    return asyncio.run(main())


async def poll_until_final(
    client: HostClient, http: httpx.AsyncClient, submission: Submission, *, deadline_s: float = 5.0
) -> TaskStatus:
    """Poll status every 20 ms until the task ends; AssertionError after `deadline_s`."""
    end = time.monotonic() + deadline_s
    while True:
        status = await client.status(http, submission)
        if status.phase in FINAL:
            return status
        assert time.monotonic() < end, f"task still {status.phase} after {deadline_s} s"
        await asyncio.sleep(0.02)


def secret_values(emu: Emulator) -> list[str]:
    """Every key the emulator issued (what must never appear in a message)."""
    return [value for value in emu.keys.values() if value]


def assert_no_secrets(error: BaseException, emu: Emulator, extra: list[str] | None = None) -> None:
    """No key, secret or Authorization value in the exception's text, repr, args or message."""
    texts = [str(error), repr(error), *[str(a) for a in error.args]]
    if isinstance(error, HostError):
        texts.append(error.message)
    joined = "\n".join(texts)
    for secret in [*secret_values(emu), *(extra or [])]:
        assert secret not in joined, f"a secret leaked into: {joined!r}"
    assert "Bearer " not in joined and "Key emu" not in joined, joined


@dataclass(frozen=True)
class FaultCase:
    """An injected HTTP fault and the HostError it must become."""

    status: int
    kind: str
    retry_safe: bool
    retry_after: str | None = None
    expected_retry_after: float | None = None
    code: int | str | None = None
    message: str | None = None

    @property
    def id(self) -> str:
        return f"{self.status}-{self.code or 'default'}-{self.kind}"


GENERIC_FAULT_CASES: list[FaultCase] = [
    FaultCase(429, "rate_limited", True, retry_after="3", expected_retry_after=3.0),
    FaultCase(500, "server", False),
    FaultCase(502, "server", False),
    FaultCase(503, "maintenance", True, retry_after="7", expected_retry_after=7.0),
    FaultCase(504, "server", False),
]


def fault_options(case: FaultCase) -> dict[str, Any]:
    options: dict[str, Any] = {"status": case.status}
    if case.retry_after is not None:
        options["retry_after"] = case.retry_after
    if case.code is not None:
        options["code"] = case.code
    if case.message is not None:
        options["message"] = case.message
    return options


def text_request(prompt: str = "A red fox trotting through fresh snow at dawn", **changes: Any) -> GenerationRequest:
    """A valid pro text-to-video request."""
    return GenerationRequest(prompt=prompt, **changes)
