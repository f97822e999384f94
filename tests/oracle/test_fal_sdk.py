"""fal.ai's official SDK (fal_client 1.0.3) as the oracle for our fal.ai client.

`fal_client.SyncClient` and `FalClient` are driven against the same loopback
emulator and must send the same requests: method, path, query, auth scheme,
content type, body fields and their JSON types, for text-to-video,
image-to-video, a webhook submit, status, result and cancel. The SDK builds
queue URLs as `https://{FAL_QUEUE_RUN_HOST}/...` (https is fixed), so its own
transport (`BackupDomainTransport`) is given an inner transport that sends
`https://queue.fal.run/...` to `<emulator>/fal/...`; URLs the emulator returns
are already loopback and pass through. The emulator's answers must parse into
the SDK's own types (`Queued`, `InProgress`, `Completed`), and on each error
answer both must agree on what is final and what is asked again.

The SDK is given fal's documented example inputs (fal's Kling 2.6 Pro model
page, as quoted in PROVIDERS.md §4), not our payload, so a wrong mapping on our
side shows up as a difference. It sends start images as given: a data URI made
with `fal_client.encode` (uploading to fal's CDN is a separate, explicit call).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import fal_client
import httpx
import pytest
from fal_client import client as fal_sdk

from kling_lab.providers.base import HostError, Submission, TaskStatus
from kling_lab.providers.fal import IMAGE_TO_VIDEO_PATH, TEXT_TO_VIDEO_PATH
from kling_lab.providers.frames import frame_data_uri
from tests.emulator import Emulator
from tests.emulator.testing import FrameStore, client_for, make_png, text_request
from tests.oracle.helpers import json_shape, ours

APP = "fal-ai/kling-video"
T2V_EXAMPLE = {"prompt": "Old friends reuniting at a train station, warm light", "duration": "5",
               "aspect_ratio": "16:9", "negative_prompt": "blur, distort, and low quality", "cfg_scale": 0.5,
               "generate_audio": True}
I2V_PROMPT = 'A king walks slowly and says "My people, here I am!"'

COMPARED: list[str] = []
"""One entry per request pair compared (reported at the end of the module)."""


@pytest.fixture(scope="module", autouse=True)
def _report_comparisons():
    yield
    print(f"\nfal.ai oracle: {len(COMPARED)} request pairs compared")  # noqa: T201 - the figure for the report


# -- both sides, recorded -----------------------------------------------------------------------


class Loopback(httpx.BaseTransport):
    """Inner transport of the SDK's own: queue.fal.run goes to the emulator; every request is kept."""

    def __init__(self, emu: Emulator) -> None:
        self.root = emu.base_url("fal")
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.host == "queue.fal.run":
            headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
            request = httpx.Request(request.method, self.root + request.url.raw_path.decode(), headers=headers,
                                    content=request.content, extensions=request.extensions)
        self.requests.append(request)
        return self.inner.handle_request(request)


@pytest.fixture
def sdk(emu, monkeypatch) -> tuple[fal_client.SyncClient, Loopback]:
    loopback = Loopback(emu)
    real = fal_sdk.BackupDomainTransport
    monkeypatch.setattr(fal_sdk, "BackupDomainTransport", lambda: real(transport=loopback))
    return fal_client.SyncClient(key=emu.keys["FAL_KEY"]), loopback


def wire(request: httpx.Request, request_id: str = "") -> dict[str, Any]:
    """What is compared of a request: method, path (request id made generic), query, auth, content type, body."""
    body = json.loads(request.content) if request.content else None
    return {
        "method": request.method,
        "path": request.url.path.replace(request_id, "{id}") if request_id else request.url.path,
        "query": parse_qs(request.url.query.decode(), keep_blank_values=True),
        "authorization": request.headers.get("authorization"),
        "content_type": request.headers.get("content-type") if body is not None else None,
        "body": json_shape(body),
    }


def same(sdk_request: httpx.Request, our_request: httpx.Request, ids: tuple[str, str] = ("", "")) -> None:
    assert wire(our_request, ids[1]) == wire(sdk_request, ids[0])
    COMPARED.append(f"{sdk_request.method} {sdk_request.url.path}")


# -- creates --------------------------------------------------------------------------------------


def test_text_to_video_submit_is_the_sdks(emu, sdk):
    sdk_client, loopback = sdk
    sdk_client.submit(TEXT_TO_VIDEO_PATH, arguments=T2V_EXAMPLE)
    request = text_request(T2V_EXAMPLE["prompt"], negative_prompt=T2V_EXAMPLE["negative_prompt"], cfg_scale=0.5,
                           audio=True)
    client = client_for(emu, "fal")
    _, our_requests = ours(lambda http: client.create(http, request, job_id="j", frames=FrameStore()))
    same(loopback.requests[0], our_requests[0])
    assert wire(our_requests[0])["authorization"] == f"Key {emu.keys['FAL_KEY']}"
    assert [record.body for record in emu.creates("fal")] == [T2V_EXAMPLE, T2V_EXAMPLE]


def test_image_to_video_submit_is_the_sdks_with_start_and_end_frames_as_data_uris(emu, sdk):
    sdk_client, loopback = sdk
    start, end = make_png(), make_png(color=(0, 0, 255))
    assert fal_client.encode(start, "image/png") == frame_data_uri("image/png", start)
    arguments = {"prompt": I2V_PROMPT, "start_image_url": fal_client.encode(start, "image/png"),
                 "end_image_url": fal_client.encode(end, "image/png"), "duration": "5",
                 "negative_prompt": "blur, distort, and low quality", "generate_audio": False,
                 "voice_ids": ["voice-a"]}
    sdk_client.submit(IMAGE_TO_VIDEO_PATH, arguments=arguments)
    frames = FrameStore()
    request = text_request(I2V_PROMPT, start_frame=frames.add(start), end_frame=frames.add(end, "The end frame"),
                           negative_prompt="blur, distort, and low quality", voice_ids=("voice-a",), audio=False)
    client = client_for(emu, "fal")
    _, our_requests = ours(lambda http: client.create(http, request, job_id="j", frames=frames))
    same(loopback.requests[0], our_requests[0])
    assert json.loads(our_requests[0].content) == arguments


def test_the_webhook_is_asked_for_in_the_same_query_parameter(emu, sdk):
    sdk_client, loopback = sdk
    client = client_for(emu, "fal", KLING_LAB_PUBLIC_URL="https://lab.example.org/app")
    sdk_client.submit(TEXT_TO_VIDEO_PATH, arguments=T2V_EXAMPLE, webhook_url=client.config.callback_url)
    request = text_request(T2V_EXAMPLE["prompt"], negative_prompt=T2V_EXAMPLE["negative_prompt"], cfg_scale=0.5)
    _, our_requests = ours(lambda http: client.create(http, request, job_id="j", frames=FrameStore()))
    same(loopback.requests[0], our_requests[0])
    assert wire(our_requests[0])["query"] == {"fal_webhook": ["https://lab.example.org/app/webhook/fal"]}
    assert our_requests[0].url.query == loopback.requests[0].url.query


# -- status, result, cancel -----------------------------------------------------------------------


def _submitted(emu, sdk_client, client) -> tuple[str, Submission]:
    """One request made by each side: (the SDK's request id, our submission)."""
    handle = sdk_client.submit(TEXT_TO_VIDEO_PATH, arguments=T2V_EXAMPLE)
    submission, _ = ours(lambda http: client.create(http, text_request(), job_id="j", frames=FrameStore()))
    return handle.request_id, submission


def test_status_is_asked_as_the_sdk_asks(emu, sdk):
    sdk_client, loopback = sdk
    emu.configure(latency=60)
    client = client_for(emu, "fal")
    sdk_id, submission = _submitted(emu, sdk_client, client)
    status = sdk_client.status(TEXT_TO_VIDEO_PATH, sdk_id)
    ours_status, our_requests = ours(lambda http: client.status(http, submission))
    assert isinstance(status, fal_client.Queued) and ours_status.phase == "queued"
    same(loopback.requests[-1], our_requests[0], (sdk_id, submission.task_id))
    assert loopback.requests[-1].url.path == f"/fal/{APP}/requests/{sdk_id}/status"


def test_result_is_fetched_as_the_sdk_fetches_it(emu, sdk):
    sdk_client, loopback = sdk
    client = client_for(emu, "fal")
    sdk_id, submission = _submitted(emu, sdk_client, client)
    before = len(loopback.requests)
    result = sdk_client.result(TEXT_TO_VIDEO_PATH, sdk_id)
    status, our_requests = ours(lambda http: client.status(http, submission))
    sdk_requests = loopback.requests[before:]
    assert [r.method for r in sdk_requests] == ["GET", "GET"] == [r.method for r in our_requests]
    for sdk_request, our_request in zip(sdk_requests, our_requests, strict=True):
        same(sdk_request, our_request, (sdk_id, submission.task_id))
    assert result["video"]["url"].endswith(".mp4") and status.phase == "succeeded"


def test_cancel_is_sent_as_the_sdk_sends_it(emu, sdk):
    sdk_client, loopback = sdk
    emu.configure(latency=60)
    client = client_for(emu, "fal")
    sdk_id, submission = _submitted(emu, sdk_client, client)
    sdk_client.cancel(TEXT_TO_VIDEO_PATH, sdk_id)
    accepted, our_requests = ours(lambda http: client.cancel(http, submission))
    same(loopback.requests[-1], our_requests[0], (sdk_id, submission.task_id))
    assert accepted is True and emu.stats()["cancel_calls"] == {sdk_id: 1, submission.task_id: 1}


def test_every_status_the_emulator_gives_parses_into_the_sdks_types(emu, sdk):
    sdk_client, _ = sdk
    emu.configure(latency=60)
    handle = sdk_client.submit(TEXT_TO_VIDEO_PATH, arguments=T2V_EXAMPLE)
    seen = [handle.status()]
    emu.force_phase(handle.request_id, "running")
    seen += [handle.status(), handle.status(with_logs=True)]
    emu.force_phase(handle.request_id, "succeeded")
    seen.append(handle.status())
    emu.force_phase(handle.request_id, "failed")
    seen.append(handle.status())
    queued, running, logged, done, failed = seen
    assert isinstance(queued, fal_client.Queued) and queued.position == 0
    assert isinstance(running, fal_client.InProgress) and running.logs is None and logged.logs
    assert isinstance(done, fal_client.Completed) and done.error is None and "inference_time" in done.metrics
    assert isinstance(failed, fal_client.Completed) and failed.error_type == "internal_server_error"


# -- what is final and what is asked again ----------------------------------------------------------


def _verdicts(emu, sdk, prompt: str = "A fox", fault: dict | None = None) -> tuple[Any, int, Any, int]:
    """(what the SDK's result() ends with, its result requests, what our first poll ends with, ours)."""
    sdk_client, loopback = sdk
    client = client_for(emu, "fal")
    handle = sdk_client.submit(TEXT_TO_VIDEO_PATH, arguments={**T2V_EXAMPLE, "prompt": prompt})
    if fault:
        emu.add_fault("http", host="fal", op="result", **fault)
    try:
        sdk_outcome: Any = sdk_client.result(TEXT_TO_VIDEO_PATH, handle.request_id)
    except fal_client.FalClientHTTPError as exc:
        sdk_outcome = exc
    sdk_results = [r for r in loopback.requests if r.method == "GET" and r.url.path.endswith(handle.request_id)]
    submission, _ = ours(lambda http: client.create(http, text_request(prompt), job_id="j",
                                                            frames=FrameStore()))
    if fault:
        emu.add_fault("http", host="fal", op="result", **fault)
    outcome, our_requests = ours(lambda http: client.status(http, submission))
    our_results = [r for r in our_requests if r.url.path.endswith(submission.task_id)]
    for sdk_request, our_request in zip(sdk_results, our_results, strict=False):
        same(sdk_request, our_request, (handle.request_id, submission.task_id))
    return sdk_outcome, len(sdk_results), outcome, len(our_results)


def test_a_failed_request_whose_result_is_500_is_final_for_both(emu, sdk):
    sdk_outcome, sdk_calls, outcome, calls = _verdicts(emu, sdk, "[emu:fail=GPU lost] fox")
    assert isinstance(sdk_outcome, fal_client.FalClientHTTPError) and sdk_outcome.status_code == 500
    assert (sdk_calls, calls) == (1, 1)
    assert outcome == TaskStatus("failed", error="fal.ai could not generate the clip: GPU lost.")


def test_a_content_policy_422_on_the_result_is_final_for_both(emu, sdk):
    sdk_outcome, sdk_calls, outcome, calls = _verdicts(emu, sdk, "[emu:policy] fox")
    assert isinstance(sdk_outcome, fal_client.FalClientHTTPError) and sdk_outcome.status_code == 422
    assert sdk_outcome.message[0]["type"] == "content_policy_violation"
    assert (sdk_calls, calls) == (1, 1)
    assert outcome.phase == "failed" and "content policy" in outcome.error


@pytest.mark.parametrize("fault", [{"status": 500}, {"status": 502}, {"status": 503}])
def test_a_server_error_from_fal_itself_is_final_for_both(emu, sdk, fault):
    sdk_outcome, sdk_calls, outcome, calls = _verdicts(emu, sdk, fault=fault)
    assert isinstance(sdk_outcome, fal_client.FalClientHTTPError) and (sdk_calls, calls) == (1, 1)
    assert isinstance(outcome, TaskStatus) and outcome.phase == "failed"


@pytest.mark.parametrize("fault", [{"status": 429, "retry_after": "1"}, {"status": 408}, {"status": 409},
                                   {"status": 502, "code": "ingress"}, {"status": 504, "code": "ingress"}])
def test_what_the_sdk_asks_again_after_stays_a_retryable_error_for_us(emu, sdk, fault):
    sdk_outcome, sdk_calls, outcome, calls = _verdicts(emu, sdk, fault=fault)
    assert sdk_outcome["video"]["url"].endswith(".mp4") and sdk_calls == 2
    assert isinstance(outcome, HostError) and outcome.kind in ("rate_limited", "server") and calls == 1
