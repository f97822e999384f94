"""Kie.ai against its published reference: the emulator answers as docs.kie.ai shows, our client reads it.

Kie publishes no SDK, so the oracle is the reference itself. Each test names the
page it follows and compares, field by field and JSON type by JSON type, what our
client sends and what the emulator answers with the page's own example. Where the
page is silent (the callback body, the timestamp window), the test says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from kling_lab.providers.base import HostError, WebhookNews
from kling_lab.providers.kie import KieClient, build_payload, parse_record
from tests.emulator.testing import client_for, make_png, run, text_request
from tests.oracle.helpers import one_callback, run_keeping_answers, run_to_video, schema_shape

# docs.kie.ai/market/kling/text-to-video, request and answer examples (prompt shortened).
T2V_REQUEST = {
    "model": "kling-2.6/text-to-video",
    "callBackUrl": "https://your-domain.com/api/callback",
    "input": {"prompt": "Scene: A fashion live-streaming sales setting", "sound": False, "aspect_ratio": "1:1",
              "duration": "5"},
}
CREATE_ANSWER = {"code": 200, "msg": "success", "data": {"taskId": "task_kling-2.6_1765182425861"}}

# docs.kie.ai/market/kling/image-to-video, request example (prompt shortened).
I2V_REQUEST = {
    "model": "kling-2.6/image-to-video",
    "callBackUrl": "https://your-domain.com/api/callback",
    "input": {"prompt": "In a bright rehearsal room", "sound": False, "duration": "5",
              "image_urls": ["https://static.aiquickdraw.com/tools/example/1764851002741_i0lEiI8I.png"]},
}

# docs.kie.ai/market/common/get-task-detail, answer example.
RECORD_ANSWER = {
    "code": 200,
    "message": "success",
    "data": {
        "taskId": "task_12345678",
        "model": "grok-imagine/text-to-image",
        "state": "success",
        "param": "{\"model\":\"grok-imagine/text-to-image\"}",
        "resultJson": "{\"resultUrls\":[\"https://example.com/generated-content.jpg\"]}",
        "failCode": "",
        "failMsg": "",
        "completeTime": 1698765432000,
        "createTime": 1698765400000,
        "updateTime": 1698765432000,
    },
}
PENDING_STATES = {"waiting", "queuing", "generating"}

# The "Response Status Code" list of the kling-2.6 pages, and the kind each becomes in Kling Lab.
DOCUMENTED_CODES = {401: "auth", 402: "credits", 404: "not_found", 422: "invalid", 429: "rate_limited",
                    433: "credits", 455: "maintenance", 500: "server", 501: "generation_failed", 505: "unavailable"}


@pytest.fixture
def client(emu) -> KieClient:
    return client_for(emu, "kie", KLING_LAB_PUBLIC_URL="https://app.example")


def kie_signature(task_id: str, timestamp: str, key: str) -> str:
    """The page's Node sample in Python: createHmac('sha256', key).update(`${taskId}.${timestamp}`), base64."""
    return base64.b64encode(hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()).decode()


# -- createTask -----------------------------------------------------------------------------------


def test_text_to_video_create_matches_the_pages_request_and_answer(emu, client, store):
    """docs.kie.ai/market/kling/text-to-video: POST /api/v1/jobs/createTask, Bearer key, the example's fields."""
    _, captured = run_keeping_answers(
        lambda http: client.create(http, text_request(aspect_ratio="1:1"), job_id="job-1", frames=store))
    [record] = emu.creates("kie")
    assert record.path == "/kie/api/v1/jobs/createTask"
    assert record.headers["authorization"] == f"Bearer {emu.keys['KIE_API_KEY']}"
    assert schema_shape(record.body) == schema_shape({**T2V_REQUEST, "callBackUrl": "https://app.example/webhook/kie"})
    [answer] = captured
    assert schema_shape(answer.json()) == schema_shape(CREATE_ANSWER)
    assert answer.json()["data"]["taskId"].startswith("task_kling-2.6_")


def test_image_to_video_create_matches_the_pages_request(emu, client, store):
    """docs.kie.ai/market/kling/image-to-video: `image_urls` holds one URL (uploaded first), no aspect ratio."""
    request = text_request(start_frame=store.add(make_png()))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("kie")
    assert schema_shape(record.body) == schema_shape({**I2V_REQUEST, "callBackUrl": "https://app.example/webhook/kie"})
    assert record.body["input"]["image_urls"][0].startswith(emu.url + "/kie-upload/files/")


def test_the_body_we_send_is_the_pages_example_for_the_same_controls():
    """docs.kie.ai/market/kling/text-to-video: our mapping of the example's controls gives the example's body."""
    request = text_request(T2V_REQUEST["input"]["prompt"], aspect_ratio="1:1", duration=5, audio=False)
    assert build_payload(request, callback_url=T2V_REQUEST["callBackUrl"]) == T2V_REQUEST


# -- recordInfo -----------------------------------------------------------------------------------


def _record_info(emu, task_id: str) -> dict[str, Any]:
    with httpx.Client() as http:
        answer = http.get(f"{emu.base_url('kie')}/api/v1/jobs/recordInfo", params={"taskId": task_id},
                          headers={"Authorization": f"Bearer {emu.keys['KIE_API_KEY']}"})
    assert answer.status_code == 200
    return answer.json()


@pytest.mark.parametrize("phase", ["queued", "running", "succeeded", "failed"])
def test_record_info_answers_carry_exactly_the_pages_fields(emu, client, store, phase):
    """docs.kie.ai/market/common/get-task-detail: `{code, message, data{taskId, model, state, param, resultJson,
    failCode, failMsg, completeTime, createTime, updateTime}}`; completeTime is null until the task ends."""
    emu.configure(latency=60)
    prompt = "[emu:fail=Render node crashed] fox" if phase == "failed" else "fox"
    submission = run(lambda http: client.create(http, text_request(prompt), job_id="job-1", frames=store))
    emu.force_phase(submission.task_id, phase, "kie")
    body = _record_info(emu, submission.task_id)
    expected = schema_shape(RECORD_ANSWER)
    if phase in ("queued", "running"):
        expected["data"]["completeTime"] = "null"
    assert schema_shape(body) == expected
    data = body["data"]
    assert json.loads(data["param"])["model"] == "kling-2.6/text-to-video"
    if phase == "succeeded":
        assert data["state"] == "success" and json.loads(data["resultJson"])["resultUrls"][0].endswith(".mp4")
    elif phase == "failed":
        assert (data["state"], data["resultJson"]) == ("fail", "") and data["failCode"] and data["failMsg"]
    else:
        assert data["state"] in PENDING_STATES and data["resultJson"] == ""


def test_our_client_reads_the_pages_own_example_record(client):
    """docs.kie.ai/market/common/get-task-detail: the example's resultJson is a JSON string holding resultUrls."""
    task_id, status = parse_record(client.host, RECORD_ANSWER)
    assert (task_id, status.phase, status.video_url) == ("task_12345678", "succeeded",
                                                         "https://example.com/generated-content.jpg")
    assert status.host_charge is None  # the page shows no charge field


def test_a_task_runs_to_a_downloadable_video(emu, client, store):
    """docs.kie.ai/market/common/get-task-detail: poll until `success`, then fetch resultUrls[0]."""
    status, video = run_to_video(client, store)
    assert status.phase == "succeeded" and video.content[4:8] == b"ftyp"


# -- error codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mirrors", [True, False], ids=["http-mirrors-code", "http-200"])
@pytest.mark.parametrize("code", sorted(DOCUMENTED_CODES))
def test_every_documented_code_arrives_as_code_and_msg_and_maps_to_its_kind(emu, client, store, code, mirrors):
    """docs.kie.ai/market/kling/text-to-video, "Response Status Code": 401, 402, 404, 422, 429, 455, 500, 501,
    505 (433 from docs.kie.ai's getting-started page), in a `{code, msg}` body; the pages do not say whether the
    HTTP status mirrors the code, so both are tried."""
    emu.configure(kie_http_mirrors_code=mirrors)
    emu.add_fault("http", host="kie", op="create", status=code)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.host_code) == (DOCUMENTED_CODES[code], str(code))
    assert emu.stats()["accepted_creates"] == {}


def test_a_wrong_key_gets_the_getting_started_pages_401(emu, store):
    """docs.kie.ai (getting started): a missing or bad key is `{"code":401,"msg":"You do not have access
    permissions"}`."""
    with httpx.Client() as http:
        answer = http.post(f"{emu.base_url('kie')}/api/v1/jobs/createTask", json=T2V_REQUEST,
                           headers={"Authorization": "Bearer wrong"})
    assert answer.json()["code"] == 401 and answer.json()["msg"] == "You do not have access permissions"
    client = client_for(emu, "kie", KIE_API_KEY="wrong-key-123456")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "auth"


# -- callbacks ------------------------------------------------------------------------------------


def test_signed_callbacks_follow_the_webhook_verification_page(emu, store):
    """docs.kie.ai/common-api/webhook-verification: `X-Webhook-Timestamp` (Unix seconds) and
    `X-Webhook-Signature` = base64(HMAC-SHA256(taskId + "." + timestamp, webhookHmacKey)), taskId from the body."""
    client, task_id, delivery = one_callback(emu, "kie", store, "valid")
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    timestamp = headers["x-webhook-timestamp"]
    assert timestamp.isdigit() and abs(int(timestamp) - time.time()) < 60
    body = json.loads(delivery["body"])
    assert body["data"]["taskId"] == task_id
    assert headers["x-webhook-signature"] == kie_signature(task_id, timestamp, emu.keys["KIE_WEBHOOK_HMAC_KEY"])
    assert client.parse_webhook(delivery["body"], delivery["headers"]) == WebhookNews(task_id)


def test_the_callback_body_is_the_task_record_under_data(emu, store):
    """docs.kie.ai/market/kling/text-to-video: on completion Kie POSTs "the task status and results" to
    callBackUrl. The pages show no body; the emulator sends the recordInfo record under `data` with `code` and
    `msg` (and `consumeCredits`), as Kie's callbacks are seen to."""
    _, task_id, delivery = one_callback(emu, "kie", store, "valid")
    body = json.loads(delivery["body"])
    assert set(body) == {"code", "msg", "data"}
    assert set(RECORD_ANSWER["data"]) <= set(body["data"]) and body["data"]["state"] == "success"


@pytest.mark.parametrize("signature", ["none", "wrong", "stale"])
def test_callbacks_the_page_says_to_reject_are_refused(emu, store, signature):
    """docs.kie.ai/common-api/webhook-verification: both headers are required, the signature must match (compared
    in constant time), and the page warns against replays; a timestamp an hour old is refused."""
    client, _, delivery = one_callback(emu, "kie", store, signature)
    assert client.parse_webhook(delivery["body"], delivery["headers"]) is None


def test_the_chinese_pages_task_id_spelling_verifies_too(emu):
    """docs.kie.ai/cn/common-api/webhook-verification: its sample reads `req.body.data.task_id`."""
    client = client_for(emu, "kie")
    key = emu.keys["KIE_WEBHOOK_HMAC_KEY"]
    timestamp = str(int(time.time()))
    body = json.dumps({"code": 200, "data": {"task_id": "task_cn_1", "state": "success"}}).encode()
    headers = {"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": kie_signature("task_cn_1", timestamp, key)}
    assert client.parse_webhook(body, headers) == WebhookNews("task_cn_1")
