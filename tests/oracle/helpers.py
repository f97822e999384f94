"""Helpers the oracle modules share: what our clients send, recorded, and the JSON shapes that are compared."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kling_lab.providers.base import HostClient, HostError, TaskStatus
from tests.emulator import Emulator
from tests.emulator.testing import FrameStore, client_for, poll_until_final, run, text_request

# -- recording our side -----------------------------------------------------------------------


class AsyncRecording(httpx.AsyncBaseTransport):
    """Keeps every request our client sends (body read first, so it can be compared)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


def ours(call: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> tuple[Any, list[httpx.Request]]:
    """Run `call(http)` with our client over a recording transport; (result or HostError, requests)."""
    recording = AsyncRecording()

    async def main() -> Any:
        async with httpx.AsyncClient(transport=recording, timeout=10) as http:
            try:
                return await call(http)
            except HostError as exc:
                return exc

    return asyncio.run(main()), recording.requests


def run_keeping_answers(scenario: Callable[[httpx.AsyncClient], Awaitable[Any]]) -> tuple[Any, list[httpx.Response]]:
    """`run(scenario)`, keeping every answer the client got (each read in full): (result, answers)."""
    answers: list[httpx.Response] = []

    async def keep(response: httpx.Response) -> None:
        await response.aread()
        answers.append(response)

    async def kept(http: httpx.AsyncClient) -> Any:
        http.event_hooks["response"] = [keep]
        return await scenario(http)

    return run(kept), answers


def run_to_video(client: HostClient, store: FrameStore) -> tuple[TaskStatus, httpx.Response]:
    """Create a text-to-video task, poll it until it ends, then fetch its video: (final status, video answer)."""

    async def scenario(http: httpx.AsyncClient) -> tuple[TaskStatus, httpx.Response]:
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        status = await poll_until_final(client, http, submission)
        return status, await http.get(status.video_url)

    return run(scenario)


def one_callback(emu: Emulator, host: str, store: FrameStore, signature: str) -> tuple[HostClient, str, dict]:
    """One task created with the emulator's sink as public URL and its callback signed as `signature` says:
    (our client, the task id, the one delivery the sink got)."""
    emu.configure(callback_signature=signature)
    client = client_for(emu, host, KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.wait_until(lambda: emu.sink(f"webhook/{host}"))
    [delivery] = emu.sink(f"webhook/{host}")
    return client, submission.task_id, delivery


# -- shapes -----------------------------------------------------------------------------------


def json_shape(value: Any) -> Any:
    """A JSON value with every scalar replaced by its JSON type name."""
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}[type(value)]


def schema_shape(value: Any) -> Any:
    """The JSON type skeleton of a value as a reference page's schema types it: keys kept, leaves replaced by their
    JSON type name (integers and floats alike are "number"), a list by its first item's skeleton."""
    if isinstance(value, dict):
        return {key: schema_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [schema_shape(value[0])] if value else []
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string"}[type(value)]
