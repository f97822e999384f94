"""Replicate's official SDK (replicate 1.0.7) as the oracle for our Replicate client.

The SDK and `ReplicateClient` are driven against the same loopback emulator,
each through a recording httpx transport, and must send the same requests:
method, path, auth scheme, content type, body fields and their JSON types. The
emulator's answers must be what the SDK's own types parse (`Prediction`,
`File`, `WebhookSigningSecret`, `ReplicateError` problem bodies), and our
webhook verification must agree with `replicate.webhooks.validate`.

The SDK is given its input the way Replicate's model page writes it (integer
duration, boolean audio flag, a file handle for the start image), not our
payload, so a wrong mapping on our side shows up as a difference.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import replicate
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction
from replicate.webhook import WebhookSigningSecret, WebhookValidationError

from kling_lab.providers.base import HostError, Submission
from kling_lab.providers.webhook_auth import TIMESTAMP_TOLERANCE_S
from kling_lab.request import GenerationRequest
from tests.emulator import Emulator
from tests.emulator.testing import FrameStore, client_for, make_png
from tests.oracle.helpers import json_shape, ours

PROMPT = "A red fox trotting through fresh snow at dawn"
MODEL = "kwaivgi/kling-v2.6"


# -- recording both sides -----------------------------------------------------------------------


class Recording(httpx.BaseTransport):
    """Keeps every request the SDK sends (body read first, so it can be compared)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)


def sdk_client(emu: Emulator) -> tuple[replicate.Client, Recording]:
    recording = Recording()
    client = replicate.Client(api_token=emu.keys["REPLICATE_API_TOKEN"], base_url=emu.base_url("replicate"),
                              transport=recording)
    return client, recording


def multipart(request: httpx.Request) -> dict[str, tuple[str, str, bytes]]:
    """The parts of a multipart body: name -> (file extension, content type, bytes)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.content)
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[name] = (Path(part.get_filename() or "").suffix, part.get_content_type(), part.get_payload(decode=True))
    return parts


def wire(request: httpx.Request) -> dict[str, Any]:
    """What must be the same on both sides: method, path, auth scheme, content type, body fields and types."""
    content_type = request.headers.get("content-type", "").split(";")[0]
    seen: dict[str, Any] = {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "auth": request.headers.get("authorization", "").split(" ")[0],
        "content_type": content_type,
        "prefer": request.headers.get("prefer"),
    }
    if content_type == "application/json":
        seen["body"] = json_shape(json.loads(request.content))
    elif content_type == "multipart/form-data":
        seen["parts"] = {name: (ext, mime) for name, (ext, mime, _) in multipart(request).items()}
    return seen


def assert_same(sdk: httpx.Request, mine: httpx.Request) -> None:
    assert wire(mine) == wire(sdk)
    assert mine.headers["authorization"] == sdk.headers["authorization"]


# -- creates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sdk_input", "request_fields"), [
    ({"prompt": PROMPT, "duration": 5, "aspect_ratio": "16:9", "generate_audio": False}, {}),
    ({"prompt": PROMPT, "negative_prompt": "blur", "duration": 10, "aspect_ratio": "9:16", "generate_audio": True},
     {"negative_prompt": "blur", "duration": 10, "aspect_ratio": "9:16", "audio": True}),
], ids=["silent-5s", "audio-10s-negative"])
def test_text_to_video_create_is_the_sdks(emu, sdk_input, request_fields):
    emu.configure(latency=60)
    sdk, recorded = sdk_client(emu)
    prediction = sdk.models.predictions.create(
        model=MODEL, input=sdk_input, webhook=emu.sink_url("app/webhook/replicate"),
        webhook_events_filter=["completed"],
    )
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL=emu.sink_url("app"))
    request = GenerationRequest(prompt=PROMPT, **request_fields)
    _, mine = ours(lambda http: client.create(http, request, job_id="job-1", frames=FrameStore()))
    [sdk_create], [our_create] = recorded.requests, mine
    assert_same(sdk_create, our_create)
    assert json.loads(our_create.content) == json.loads(sdk_create.content)
    assert wire(our_create)["path"] == "/replicate/v1/models/kwaivgi/kling-v2.6/predictions"
    assert (prediction.status, prediction.model, prediction.urls["get"]) == (
        "starting", MODEL, f"{emu.url}/replicate/v1/predictions/{prediction.id}")


def test_image_to_video_uploads_the_file_then_creates_like_the_sdk(emu, tmp_path):
    png = make_png()
    path = tmp_path / "start.png"
    path.write_bytes(png)
    sdk, recorded = sdk_client(emu)
    with path.open("rb") as handle:
        sdk.models.predictions.create(
            model=MODEL, input={"prompt": PROMPT, "start_image": handle, "duration": 10, "generate_audio": True})
    store = FrameStore()
    client = client_for(emu, "replicate")
    request = GenerationRequest(prompt=PROMPT, start_frame=store.add(png), duration=10, audio=True)
    _, mine = ours(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [sdk_upload, sdk_create], [our_upload, our_create] = recorded.requests, mine
    assert_same(sdk_upload, our_upload)
    assert wire(our_upload)["path"] == "/replicate/v1/files"
    assert multipart(our_upload)["content"][2] == multipart(sdk_upload)["content"][2] == png
    assert_same(sdk_create, our_create)
    sdk_image = json.loads(sdk_create.content)["input"]["start_image"]
    our_image = json.loads(our_create.content)["input"]["start_image"]
    assert sdk_image.startswith(f"{emu.url}/replicate/v1/files/") and our_image.startswith(
        f"{emu.url}/replicate/v1/files/")
    assert "aspect_ratio" not in json.loads(our_create.content)["input"]


def test_the_sdk_parses_the_uploaded_file_answer(emu, tmp_path):
    path = tmp_path / "frame.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    sdk, _ = sdk_client(emu)
    uploaded = sdk.files.create(path)
    assert uploaded.urls["get"] == f"{emu.url}/replicate/v1/files/{uploaded.id}"
    assert (uploaded.name, uploaded.content_type, uploaded.size) == ("frame.jpg", "image/jpeg", 20)
    assert emu.uploads[uploaded.id] == ("image/jpeg", path.read_bytes())


# -- get, cancel, default secret ---------------------------------------------------------------


def test_get_is_the_sdks_and_both_read_the_same_succeeded_prediction(emu):
    sdk, recorded = sdk_client(emu)
    created = sdk.models.predictions.create(model=MODEL, input={"prompt": PROMPT, "duration": 5})
    fetched = sdk.predictions.get(created.id)
    client = client_for(emu, "replicate")
    status, mine = ours(lambda http: client.status(http, Submission(created.id)))
    assert_same(recorded.requests[1], mine[0])
    assert (fetched.status, status.phase) == ("succeeded", "succeeded")
    assert status.video_url == fetched.output
    assert fetched.metrics["predict_time"] >= 0 and fetched.completed_at and fetched.started_at
    assert fetched.error is None and fetched.logs is not None


def test_cancel_is_the_sdks(emu):
    emu.configure(latency=60)
    sdk, recorded = sdk_client(emu)
    created = sdk.models.predictions.create(model=MODEL, input={"prompt": PROMPT})
    canceled = sdk.predictions.cancel(created.id)
    client = client_for(emu, "replicate")
    accepted, mine = ours(lambda http: client.cancel(http, Submission(created.id)))
    assert_same(recorded.requests[1], mine[0])
    assert mine[0].url.path == f"/replicate/v1/predictions/{created.id}/cancel"
    assert (canceled.status, accepted) == ("canceled", True)


def test_default_secret_request_is_the_sdks(emu):
    sdk, recorded = sdk_client(emu)
    secret = sdk.webhooks.default.secret()
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL=emu.sink_url("app"), REPLICATE_WEBHOOK_SECRET="")
    _, mine = ours(lambda http: client.create(
        http, GenerationRequest(prompt=PROMPT), job_id="job-1", frames=FrameStore()))
    assert_same(recorded.requests[0], mine[0])
    assert mine[0].url.path == "/replicate/v1/webhooks/default/secret"
    assert client.webhook_secret == secret.key == emu.keys["REPLICATE_WEBHOOK_SECRET"]


# -- failures -----------------------------------------------------------------------------------


def test_a_failed_prediction_reads_the_same(emu):
    sdk, _ = sdk_client(emu)
    created = sdk.models.predictions.create(model=MODEL, input={"prompt": f"[emu:fail=Out of memory] {PROMPT}"})
    emu.force_phase(created.id, "failed")
    fetched = sdk.predictions.get(created.id)
    client = client_for(emu, "replicate")
    status, _ = ours(lambda http: client.status(http, Submission(created.id)))
    assert (fetched.status, fetched.error, fetched.output) == ("failed", "Out of memory", None)
    assert (status.phase, status.error) == ("failed", "Replicate could not generate the clip: Out of memory.")


def test_invalid_input_is_a_422_problem_both_read(emu):
    sdk, recorded = sdk_client(emu)
    with pytest.raises(ReplicateError) as refused:
        sdk.models.predictions.create(model=MODEL, input={"prompt": PROMPT, "duration": 7})
    client = client_for(emu, "replicate")
    error, mine = ours(lambda http: client.create(
        http, GenerationRequest(prompt=PROMPT, duration=7), job_id="job-1", frames=FrameStore()))
    assert json.loads(mine[0].content)["input"]["duration"] == json.loads(recorded.requests[0].content)["input"][
        "duration"]
    assert (refused.value.status, refused.value.title) == (422, "Input validation failed")
    assert "input.duration" in refused.value.detail
    assert isinstance(error, HostError) and (error.kind, error.status_code) == ("invalid", 422)
    assert "input.duration" in error.message
    assert emu.stats()["accepted_creates"] == {}


def test_throttling_is_a_429_detail_both_read(emu):
    emu.add_fault("http", host="replicate", op="create", status=429, count=2)
    sdk, _ = sdk_client(emu)
    with pytest.raises(ReplicateError) as throttled:
        sdk.models.predictions.create(model=MODEL, input={"prompt": PROMPT})
    client = client_for(emu, "replicate")
    error, _ = ours(lambda http: client.create(
        http, GenerationRequest(prompt=PROMPT), job_id="job-1", frames=FrameStore()))
    assert (throttled.value.status, throttled.value.detail) == (
        429, "Request was throttled. Your rate limit resets in ~30s.")
    assert isinstance(error, HostError) and (error.kind, error.retry_safe) == ("rate_limited", True)


# -- webhooks: replicate.webhooks.validate is the judge -------------------------------------------


def _delivery(emu: Emulator, signature: str) -> dict[str, Any]:
    emu.reset()
    emu.configure(callback_signature=signature)
    sdk, _ = sdk_client(emu)
    sdk.models.predictions.create(model=MODEL, input={"prompt": PROMPT}, webhook=emu.sink_url("hook"),
                                  webhook_events_filter=["completed"])
    assert emu.wait_until(lambda: emu.sink("hook"))
    return emu.sink("hook")[0]


def _sdk_accepts(delivery: dict[str, Any], secret: str, tolerance: int | None) -> bool:
    try:
        replicate.webhooks.validate(headers=delivery["headers"], body=delivery["body"].decode(),
                                    secret=WebhookSigningSecret(key=secret), tolerance=tolerance)
    except WebhookValidationError:
        return False
    return True


@pytest.mark.parametrize("signature", ["valid", "wrong", "stale", "none"])
def test_our_webhook_verification_agrees_with_the_sdk(emu, signature):
    delivery = _delivery(emu, signature)
    secret = emu.keys["REPLICATE_WEBHOOK_SECRET"]
    client = client_for(emu, "replicate")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    ours_accepts = news is not None and news.verified
    assert ours_accepts == _sdk_accepts(delivery, secret, TIMESTAMP_TOLERANCE_S) == (signature == "valid")
    assert Prediction(**json.loads(delivery["body"])).status == "succeeded"


def test_without_a_tolerance_the_sdk_takes_a_stale_delivery_that_we_refuse(emu):
    delivery = _delivery(emu, "stale")
    assert _sdk_accepts(delivery, emu.keys["REPLICATE_WEBHOOK_SECRET"], None)
    assert client_for(emu, "replicate").parse_webhook(delivery["body"], delivery["headers"]) is None
