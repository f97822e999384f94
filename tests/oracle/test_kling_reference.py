"""The official Kling API against its published reference (app.klingai.com/global/dev/document-api).

Kuaishou publishes no Python SDK, so the oracle is the reference itself: the
"General Information" page (JWT, error codes), "Video Generation: Text to Video"
and "Image to Video" (create, query) and "Callback Protocol". Each test names the
page it follows and compares what our client sends, and what the emulator
answers, with the page's example, key by key and JSON type by JSON type.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from kling_lab.providers.base import HostError, Submission, WebhookNews
from kling_lab.providers.kling import KlingClient, build_payload, kling_code_error
from kling_lab.providers.kling_jwt import sign_jwt
from tests.emulator.testing import client_for, make_png, run, text_request
from tests.oracle.helpers import one_callback, run_keeping_answers, run_to_video, schema_shape

# The emulator's fake secret key is shorter than the 32 bytes PyJWT recommends; so may Kling's real ones be.
pytestmark = pytest.mark.filterwarnings("ignore:The HMAC key is")

# apiReference/model/textToVideo, "Create Task" request and answer examples.
T2V_REQUEST = {
    "model_name": "kling-v2-6",
    "prompt": "A cute little rabbit wearing glasses, sitting at a table, reading a newspaper",
    "negative_prompt": "",
    "duration": "5",
    "mode": "pro",
    "sound": "on",
    "aspect_ratio": "1:1",
    "callback_url": "",
    "external_task_id": "",
}
CREATE_ANSWER = {
    "code": 0, "message": "SUCCEED", "request_id": "603e2a28-fb89-4146-ae33-412d74012a6d",
    "data": {"task_id": "831922345719271433", "task_info": {"external_task_id": "app-job-123"},
             "task_status": "submitted", "created_at": 1722769557708, "updated_at": 1722769557708},
}
# apiReference/model/textToVideo, "Query Task (Single)" answer example, for a task that succeeded.
QUERY_ANSWER = {
    "code": 0, "message": "SUCCEED", "request_id": "603e2a28-fb89-4146-ae33-412d74012a6d",
    "data": {
        "task_id": "831922345719271433", "task_status": "succeed", "task_status_msg": "",
        "task_info": {"external_task_id": "app-job-123"}, "watermark_info": {"enabled": False},
        "final_unit_deduction": "5", "created_at": 1722769557708, "updated_at": 1722769657708,
        "task_result": {"videos": [{"id": "v1", "url": "https://cdn/output.mp4", "watermark_url": "https://cdn/w.mp4",
                                    "duration": "5"}]},
    },
}
# apiReference/callbackProtocol: every key the callback body may carry.
CALLBACK_KEYS = {"task_id", "task_status", "task_status_msg", "created_at", "updated_at", "final_unit_deduction",
                 "task_info", "task_result"}
# apiReference/commonInfo, "Error Code": (HTTP status, service code) and the kind each becomes in Kling Lab.
ERROR_CODES = [
    (401, 1000, "auth"), (401, 1001, "auth"), (401, 1002, "auth"), (401, 1003, "auth"), (401, 1004, "auth"),
    (429, 1100, "unavailable"), (429, 1101, "credits"), (429, 1102, "credits"), (403, 1103, "auth"),
    (400, 1200, "invalid"), (400, 1201, "invalid"), (404, 1202, "not_found"), (404, 1203, "not_found"),
    (400, 1300, "content_policy"), (400, 1301, "content_policy"), (429, 1302, "rate_limited"),
    (429, 1303, "rate_limited"), (429, 1304, "unavailable"), (500, 5000, "server"), (503, 5001, "maintenance"),
    (504, 5002, "server"),
]


@pytest.fixture
def client(emu) -> KlingClient:
    return client_for(emu, "kling", KLING_LAB_PUBLIC_URL="https://app.example")


def reference_token(ak: str, sk: str, now: int) -> str:
    """apiReference/commonInfo's Python sample `encode_jwt_token(ak, sk)`, with its clock passed in."""
    headers = {"alg": "HS256", "typ": "JWT"}
    payload = {"iss": ak, "exp": now + 1800, "nbf": now - 5}
    return jwt.encode(payload, sk, headers=headers)


def _bearer(emu) -> dict[str, str]:
    token = sign_jwt(emu.keys["KLING_ACCESS_KEY"], emu.keys["KLING_SECRET_KEY"], time.time())
    return {"Authorization": f"Bearer {token}"}


# -- General Information: authentication and error codes ------------------------------------------


def test_our_token_is_the_references_sample_token(emu):
    """apiReference/commonInfo: header {"alg":"HS256","typ":"JWT"}, payload {iss: AK, exp: now+1800, nbf: now-5},
    signed with the SK; our token is byte for byte the sample's at the same second."""
    ak, sk = "emu-access", "emu-secret-key-of-thirty-two-bytes!"
    assert sign_jwt(ak, sk, now=1_766_374_262.9) == reference_token(ak, sk, 1_766_374_262)


def test_requests_send_bearer_space_token(emu, client, store):
    """apiReference/commonInfo: Authorization = "Bearer XXX", one space between Bearer and the token."""
    run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    scheme, _, token = emu.creates("kling")[0].headers["authorization"].partition(" ")
    assert scheme == "Bearer" and token.count(".") == 2 and " " not in token
    claims = jwt.decode(token, emu.keys["KLING_SECRET_KEY"], algorithms=["HS256"], issuer=emu.keys["KLING_ACCESS_KEY"])
    assert claims["exp"] - claims["nbf"] == 1805


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, 1001), ("Bearer not-a-jwt", 1002), ("expired", 1004), ("early", 1003)],
)
def test_the_authentication_rows_of_the_error_table(emu, authorization, code):
    """apiReference/commonInfo, "Error Code": 401 with 1001 (empty), 1002 (invalid), 1003 (not yet valid),
    1004 (expired), in a `{code, message, request_id}` body."""
    ak, sk = emu.keys["KLING_ACCESS_KEY"], emu.keys["KLING_SECRET_KEY"]
    if authorization == "expired":
        authorization = f"Bearer {sign_jwt(ak, sk, now=1_000_000_000)}"
    elif authorization == "early":
        authorization = f"Bearer {reference_token(ak, sk, 4_000_000_000)}"
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client() as http:
        answer = http.post(f"{emu.base_url('kling')}/v1/videos/text2video", json=T2V_REQUEST, headers=headers)
    assert answer.status_code == 401
    assert schema_shape(answer.json()) == {"code": "number", "message": "string", "request_id": "string"}
    assert answer.json()["code"] == code


@pytest.mark.parametrize(("status", "code", "kind"), ERROR_CODES, ids=[str(c) for _, c, _ in ERROR_CODES])
def test_every_row_of_the_error_table_maps_to_its_kind(emu, client, store, status, code, kind):
    """apiReference/commonInfo, "Error Code": each HTTP status and service code pair, as the emulator sends it."""
    emu.add_fault("http", host="kling", op="create", status=status, code=code)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.host_code, caught.value.status_code) == (kind, str(code), status)
    assert kling_code_error(client.host, code, "x", status_code=status).kind == kind


# -- Text to Video / Image to Video: create -------------------------------------------------------


def test_text_to_video_create_matches_the_pages_request_and_answer(emu, client, store):
    """apiReference/model/textToVideo, "Create Task": POST /v1/videos/text2video with the example's fields and
    JSON types (duration and sound are strings); the answer is `{code: 0, message, request_id, data{task_id,
    task_info{external_task_id}, task_status, created_at, updated_at}}`."""
    request = text_request(T2V_REQUEST["prompt"], aspect_ratio="1:1", audio=True, negative_prompt="x")
    _, captured = run_keeping_answers(
        lambda http: client.create(http, request, job_id="job-1", frames=store, create_key="job-1-0-1"))
    [record] = emu.creates("kling")
    assert record.path == "/kling/v1/videos/text2video"
    expected = {**T2V_REQUEST, "negative_prompt": "x", "callback_url": "https://app.example/webhook/kling",
                "external_task_id": "job-1-0-1"}
    assert record.body == expected
    [answer] = captured
    assert schema_shape(answer.json()) == schema_shape(CREATE_ANSWER)
    assert answer.json()["data"]["task_info"] == {"external_task_id": "job-1-0-1"}


def test_image_to_video_create_sends_raw_base64_frames(emu, client, store):
    """apiReference/model/imageToVideo: POST /v1/videos/image2video; `image` and `image_tail` are URLs or raw
    Base64 without a `data:` prefix; no aspect_ratio."""
    start, end = make_png(), make_png(color=(1, 2, 3))
    request = text_request(start_frame=store.add(start), end_frame=store.add(end, "The end frame"))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("kling")
    assert record.path == "/kling/v1/videos/image2video"
    assert record.body["image"] == base64.b64encode(start).decode()
    assert record.body["image_tail"] == base64.b64encode(end).decode()
    assert "aspect_ratio" not in record.body


def test_the_pages_example_is_our_mapping_of_the_same_controls():
    """apiReference/model/textToVideo: the example's controls map to the example's body (empty fields omitted)."""
    request = text_request(T2V_REQUEST["prompt"], aspect_ratio="1:1", audio=True, mode="pro", duration=5)
    expected = {k: v for k, v in T2V_REQUEST.items() if v != ""} | {"external_task_id": "ext-1"}
    assert build_payload(request, external_task_id="ext-1") == expected


def test_a_reused_external_task_id_is_refused_and_a_new_one_accepted(emu, client, store):
    """apiReference/model/textToVideo: external_task_id "must be unique within a single user account". The page
    names no code for the refusal: the emulator's 400 with 1201 (invalid parameter) is inferred."""
    async def scenario(http):
        await client.create(http, text_request(), job_id="job-1", frames=store, create_key="job-1-0-1")
        try:
            await client.create(http, text_request(), job_id="job-1", frames=store, create_key="job-1-0-1")
        except HostError as error:
            refused = error
        await client.create(http, text_request(), job_id="job-1", frames=store, create_key="job-1-1-1")
        return refused

    refused = run(scenario)
    assert (refused.status_code, refused.host_code, refused.kind) == (400, "1201", "invalid")
    assert emu.stats()["creates_by_job"] == {"job-1-0-1": 1, "job-1-1-1": 1}


# -- Query Task (Single) --------------------------------------------------------------------------


def test_the_query_answer_matches_the_pages_example(emu, client, store):
    """apiReference/model/textToVideo, "Query Task (Single)": GET /v1/videos/text2video/{task_id}; a finished task
    carries task_result.videos[{id, url, watermark_url, duration}] and final_unit_deduction (a string)."""
    submission = run(lambda http: client.create(http, text_request(audio=True), job_id="job-1", frames=store))
    emu.force_phase(submission.task_id, "succeeded", "kling")
    with httpx.Client() as http:
        answer = http.get(f"{emu.base_url('kling')}/v1/videos/text2video/{submission.task_id}", headers=_bearer(emu))
    assert schema_shape(answer.json()) == schema_shape(QUERY_ANSWER)
    status = run(lambda http: client.status(http, submission))
    assert status.host_charge is not None and status.host_charge.amount == 5


def test_the_query_path_takes_the_external_task_id_in_place_of_the_task_id(emu, client, store):
    """apiReference/model/textToVideo, "Query Task (Single)": task_id and external_task_id are two ways to name the
    task in the request path ("choose one of two"), which is how a create whose answer was lost is found."""
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store,
                                                create_key="job-1-0-1"))
    with httpx.Client() as http:
        answer = http.get(f"{emu.base_url('kling')}/v1/videos/text2video/job-1-0-1", headers=_bearer(emu))
    assert answer.json()["data"]["task_id"] == submission.task_id
    found = run(lambda http: client.lookup(http, "job-1-0-1"))
    assert found == Submission(submission.task_id, extra={"kind": "text2video"})


def test_a_task_runs_to_a_downloadable_video(emu, client, store):
    """apiReference/model/textToVideo: submitted -> processing -> succeed, then the video at task_result.videos[0]."""
    status, video = run_to_video(client, store)
    assert status.phase == "succeeded" and video.content[4:8] == b"ftyp"


# -- Callback Protocol ----------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["valid", "none", "wrong", "stale"])
def test_callbacks_carry_the_protocols_body_and_no_signature(emu, store, signature):
    """apiReference/callbackProtocol: the POST body is the task object (task_id, task_status, task_status_msg,
    created_at, updated_at, final_unit_deduction, task_info, task_result); the page documents no signature or
    secret, whatever the emulator's signing knob says. Our client takes it as a wake-up only."""
    client, task_id, delivery = one_callback(emu, "kling", store, signature)
    body = json.loads(delivery["body"])
    assert set(body) <= CALLBACK_KEYS and body["task_id"] == task_id
    assert not {name.lower() for name in delivery["headers"]} & {"x-signature", "x-kling-signature", "signature"}
    assert client.parse_webhook(delivery["body"], delivery["headers"]) == WebhookNews(task_id)
