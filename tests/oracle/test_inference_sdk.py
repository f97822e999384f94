"""inference.sh: the official `inferencesh` SDK (0.36) and our InferenceClient, driven against the same emulator.

Each scenario runs the same input through the SDK's sync client `Inference(api_key=..., base_url=...)`
(a start frame passed as a local path, which the SDK uploads) and through our client, records every
request on both sides (requests' adapter for the SDK, an httpx event hook for ours) and asserts they
match: method, path, query parameter names, auth scheme, content type, body fields and JSON types.
Then each side reads the task the other one made, so both read the same id, status and output from
the emulator's answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import requests.adapters
from inferencesh import Inference
from inferencesh.client import _STATUS_STRING_MAP, TERMINAL_STATUSES, parse_status
from inferencesh.types import TaskStatus as SdkStatus

from kling_lab.providers.base import Submission
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.inference import APP, STATUS_NAMES, InferenceClient, status_phase
from tests.emulator import Emulator
from tests.emulator.testing import FrameStore, client_for, make_png, text_request

TRANSPORT_HEADERS = {"user-agent", "accept", "accept-encoding", "connection", "content-length", "host"}


@pytest.fixture
def sdk_log(monkeypatch) -> list[requests.PreparedRequest]:
    """Every request the SDK sends (the SDK calls `requests` directly; its adapter sees them all)."""
    log: list[requests.PreparedRequest] = []
    original = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        log.append(request)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return log


def sdk_client(emu: Emulator, suffix: str = "") -> Inference:
    return Inference(api_key=emu.keys["INFERENCE_API_KEY"], base_url=emu.base_url("inference") + suffix)


def our_client(emu: Emulator, suffix: str = "", **env: str) -> InferenceClient:
    return client_for(emu, "inference", KLING_LAB_INFERENCE_BASE_URL=emu.base_url("inference") + suffix, **env)


def ours(scenario, log: list[httpx.Request]) -> Any:
    """Run `scenario(http)` with every request our client sends appended to `log`."""

    async def record(request: httpx.Request) -> None:
        log.append(request)

    async def main() -> Any:
        async with httpx.AsyncClient(timeout=5.0, event_hooks={"request": [record]}) as http:
            return await scenario(http)

    return asyncio.run(main())


def json_types(value: Any) -> Any:
    """The JSON type of every field, recursively."""
    if isinstance(value, dict):
        return {key: json_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_types(item) for item in value]
    return type(value).__name__


def shape(method: str, url: str, headers: Any, body: bytes | str | None) -> dict[str, Any]:
    """What is compared of one request; ids and upload tokens are replaced by placeholders."""
    split = urlsplit(str(url))
    path = re.sub(r"tsk_[a-z0-9]{20}", "{task}", split.path)
    path = re.sub(r"/inference-storage/[0-9a-f]{32}", "/inference-storage/{token}", path)
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    content = body.encode() if isinstance(body, str) else (body or b"")
    content_type = lowered.get("content-type")
    if content and content_type == "application/json":
        payload: Any = json_types(json.loads(content))
    else:
        payload = {"bytes": len(content)} if content else None
    return {
        "method": method,
        "path": path,
        "query": sorted(parse_qs(split.query)),
        "auth": lowered["authorization"].split(" ")[0] if "authorization" in lowered else None,
        "headers": sorted(set(lowered) - TRANSPORT_HEADERS),
        "content_type": content_type,
        "body": payload,
    }


def sdk_shapes(log: list[requests.PreparedRequest]) -> list[dict[str, Any]]:
    return [shape(r.method or "", r.url or "", r.headers, r.body) for r in log]


def our_shapes(log: list[httpx.Request]) -> list[dict[str, Any]]:
    return [shape(r.method, str(r.url), r.headers, r.content) for r in log]


def assert_same_requests(sdk: list[requests.PreparedRequest], our: list[httpx.Request], count: int) -> None:
    assert len(sdk) == len(our) == count, (sdk_shapes(sdk), our_shapes(our))
    for theirs, mine in zip(sdk_shapes(sdk), our_shapes(our), strict=True):
        assert mine == theirs
        assert "x-api-version" not in mine["headers"]


def run_body(request: requests.PreparedRequest | httpx.Request) -> dict[str, Any]:
    raw = request.body if isinstance(request, requests.PreparedRequest) else request.content
    return json.loads(raw)


def sdk_input(prompt: str = "A red fox trotting through fresh snow at dawn", **fields: Any) -> dict[str, Any]:
    """The input our client builds for `text_request(prompt)` with those frames/fields, in the same key order."""
    base: dict[str, Any] = {"prompt": prompt, "duration": 5, "sound": False, "mode": "pro"}
    return {**base, **fields}


# -- the status table ------------------------------------------------------------------------


def test_our_status_numbers_and_names_are_the_sdks():
    assert {member.value: member.name.lower() for member in SdkStatus} == STATUS_NAMES
    assert set(STATUS_NAMES.values()) == set(_STATUS_STRING_MAP)


@pytest.mark.parametrize("member", list(SdkStatus), ids=lambda m: m.name)
def test_the_sdks_terminal_statuses_are_final_phases_for_us(member):
    host = HostIdentity.for_host("inference.sh", ("INFERENCE_API_KEY",), {})
    final = status_phase(host, member.value) in ("succeeded", "failed", "canceled")
    assert final == (member in TERMINAL_STATUSES)
    assert status_phase(host, member.name.lower()) == status_phase(host, member.value)


# -- requests compared -----------------------------------------------------------------------


def test_image_to_video_with_an_uploaded_start_frame_sends_the_same_requests(emu, sdk_log, tmp_path):
    start = make_png()
    frame_file = tmp_path / "start.png"
    frame_file.write_bytes(start)
    sdk = sdk_client(emu)
    task = sdk.run({"app": APP, "input": sdk_input(image=str(frame_file))}, wait=False)
    sdk_task = sdk.get_task(task["id"]).data

    store = FrameStore()
    client = our_client(emu)
    log: list[httpx.Request] = []
    request = text_request(start_frame=store.add(start))

    async def scenario(http):
        submission = await client.create(http, request, job_id="job-1", frames=store)
        return submission, await client.status(http, submission)

    submission, status = ours(scenario, log)
    assert_same_requests(sdk_log, log, 4)  # POST /files, PUT upload, POST /apps/run, GET /tasks/{id}
    assert sdk_log[1].body == log[1].content == start
    sdk_run, our_run = run_body(sdk_log[2]), run_body(log[2])
    assert {**sdk_run["input"], "image": None} == {**our_run["input"], "image": None}
    assert sdk_run["app"] == our_run["app"] == APP

    # Each side reads the other's task: the same id, status and video.
    their_view = sdk.get_task(submission.task_id).data
    assert their_view["id"] == submission.task_id
    assert parse_status(their_view["status"]) == SdkStatus.COMPLETED and status.phase == "succeeded"
    assert their_view["output"]["video"]["uri"] == status.video_url
    our_view = ours(lambda http: client.status(http, Submission(task["id"])), [])
    assert (our_view.phase, our_view.video_url) == ("succeeded", sdk_task["output"]["video"]["uri"])
    assert parse_status(task["status"]) == SdkStatus.COMPLETED


def test_start_and_end_frames_are_uploaded_the_same_way(emu, sdk_log, tmp_path):
    start, end = make_png(), make_png(color=(10, 20, 30))
    (tmp_path / "s.png").write_bytes(start)
    (tmp_path / "e.png").write_bytes(end)
    sdk_client(emu).run({"app": APP, "input": sdk_input(image=str(tmp_path / "s.png"),
                                                        end_image=str(tmp_path / "e.png"))}, wait=False)
    store = FrameStore()
    log: list[httpx.Request] = []
    request = text_request(start_frame=store.add(start), end_frame=store.add(end))
    ours(lambda http: our_client(emu).create(http, request, job_id="job-1", frames=store), log)
    assert_same_requests(sdk_log, log, 5)  # two POST /files + PUT pairs, then the run


def test_text_to_video_with_a_webhook_and_a_v1_base_url_sends_the_same_requests(emu, sdk_log):
    sink = f"{emu.url}/_emulator/sink/webhook/inference"
    sdk = sdk_client(emu)
    task = sdk.run({"app": APP, "input": sdk_input(aspect_ratio="16:9"), "webhook": sink}, wait=False)
    sdk.get_task(task["id"])
    client = our_client(emu, "/v1", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    log: list[httpx.Request] = []

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=FrameStore())
        return await client.status(http, submission)

    ours(scenario, log)
    assert_same_requests(sdk_log, log, 2)  # POST /apps/run, GET /tasks/{id}
    assert run_body(sdk_log[0]) == run_body(log[0])


def test_a_rejected_run_is_read_as_rejected_by_both(emu, sdk_log):
    prompt = "[emu:reject=insufficient balance] a fox"
    sdk = sdk_client(emu)
    task = sdk.run({"app": APP, "input": sdk_input(prompt, aspect_ratio="16:9")}, wait=False)
    with pytest.raises(RuntimeError, match="insufficient balance"):
        sdk.wait_for_completion(task["id"])
    sdk_log.clear()
    sdk_view = sdk.get_task(task["id"]).data
    client = our_client(emu)
    log: list[httpx.Request] = []
    status = ours(lambda http: client.status(http, Submission(task["id"])), log)
    assert_same_requests(sdk_log, log, 1)
    assert parse_status(sdk_view["status"]) == SdkStatus.REJECTED
    assert status.phase == "failed" and sdk_view["error"] in status.error


def test_cancel_sends_the_same_request_and_both_read_cancelled(emu, sdk_log):
    emu.configure(latency=60)
    sdk = sdk_client(emu)
    first = sdk.run({"app": APP, "input": sdk_input(aspect_ratio="16:9")}, wait=False)
    second = sdk.run({"app": APP, "input": sdk_input(aspect_ratio="16:9")}, wait=False)
    sdk_log.clear()
    sdk.cancel(first["id"])
    client = our_client(emu)
    log: list[httpx.Request] = []
    ours(lambda http: client.cancel(http, Submission(second["id"])), log)
    assert_same_requests(sdk_log, log, 1)
    for task_id in (first["id"], second["id"]):
        assert parse_status(sdk.get_task(task_id).data["status"]) == SdkStatus.CANCELLED
        assert ours(lambda http, t=task_id: client.status(http, Submission(t)), []).phase == "canceled"


def test_the_sdks_own_blocking_run_completes_against_the_emulator(emu, tmp_path: Path):
    (tmp_path / "s.png").write_bytes(make_png())
    result = sdk_client(emu).run({"app": APP, "input": sdk_input(image=str(tmp_path / "s.png"))})
    assert parse_status(result["status"]) == SdkStatus.COMPLETED
    assert result["output"]["video"]["uri"].startswith(emu.url)
