"""Kie.ai client: payload mapping, frame upload, state mapping, error mapping, over real HTTP to the emulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from decimal import Decimal

import httpx
import pytest

from kling_lab.capabilities import normalize_base_url
from kling_lab.providers.base import HostCharge, HostError, HostProtocolError, Submission, WebhookNews
from kling_lab.providers.kie import KieClient, build_payload, kie_code_error, parse_record
from kling_lab.providers.webhook_auth import TIMESTAMP_TOLERANCE_S
from tests.emulator.testing import (
    GENERIC_FAULT_CASES,
    assert_no_secrets,
    client_for,
    fault_options,
    make_png,
    poll_until_final,
    run,
    text_request,
)

pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def client(emu) -> KieClient:
    return client_for(emu, "kie")


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_has_string_duration_explicit_sound_and_aspect_ratio():
    payload = build_payload(text_request(duration=10, aspect_ratio="9:16", audio=False))
    assert payload == {
        "model": "kling-2.6/text-to-video",
        "input": {
            "prompt": "A red fox trotting through fresh snow at dawn",
            "sound": False,
            "duration": "10",
            "aspect_ratio": "9:16",
        },
    }


def test_image_to_video_payload_uses_the_uploaded_url_and_no_aspect_ratio(store):
    ref = store.add(make_png())
    payload = build_payload(text_request(start_frame=ref, audio=True), image_url="https://files/x.png")
    assert payload == {
        "model": "kling-2.6/image-to-video",
        "input": {
            "prompt": "A red fox trotting through fresh snow at dawn",
            "sound": True,
            "duration": "5",
            "image_urls": ["https://files/x.png"],
        },
    }


def test_payload_never_carries_negative_prompt_cfg_scale_or_mode():
    payload = build_payload(text_request(negative_prompt="blur", cfg_scale=0.7, mode="std"))
    assert set(payload["input"]) == {"prompt", "sound", "duration", "aspect_ratio"}


def test_callback_url_is_sent_as_callBackUrl():
    payload = build_payload(text_request(), callback_url="https://app.example/webhook/kie")
    assert payload["callBackUrl"] == "https://app.example/webhook/kie"


@pytest.mark.parametrize("field", ["end_frame", "voice_ids"])
def test_controls_kie_lacks_are_refused_rather_than_silently_dropped(store, field):
    value = store.add(make_png(), "The end frame") if field == "end_frame" else ("voice-1",)
    request = text_request(start_frame=store.add(make_png(color=(5, 5, 5))), **{field: value})
    with pytest.raises(ValueError):
        build_payload(request, image_url="https://files/x.png")


def test_image_to_video_without_an_uploaded_url_is_a_programming_error(store):
    with pytest.raises(ValueError):
        build_payload(text_request(start_frame=store.add(make_png())))


# -- state mapping ------------------------------------------------------------------------------


def _record(state: str, **fields) -> dict:
    return {"code": 200, "message": "success", "data": {"taskId": "task_1", "state": state, **fields}}


@pytest.mark.parametrize(
    ("state", "phase"),
    [("waiting", "queued"), ("queuing", "queued"), ("generating", "running")],
)
def test_pending_states_map_to_queued_or_running(client, state, phase):
    task_id, status = parse_record(client.host, _record(state, resultJson=""))
    assert (task_id, status.phase, status.video_url) == ("task_1", phase, None)


def test_success_parses_the_json_encoded_resultJson(client):
    body = _record("success", resultJson=json.dumps({"resultUrls": ["https://cdn/video.mp4"]}))
    _, status = parse_record(client.host, body)
    assert (status.phase, status.video_url) == ("succeeded", "https://cdn/video.mp4")


def test_fail_state_reports_failMsg(client):
    _, status = parse_record(client.host, _record("fail", failCode="500", failMsg="GPU fell over"))
    assert status.phase == "failed"
    assert status.error == "Kie.ai could not generate the clip: GPU fell over."


def test_progress_is_read_as_a_fraction(client):
    _, status = parse_record(client.host, _record("generating", progress=40))
    assert status.progress == pytest.approx(0.4)


def test_consumed_credits_are_recorded_as_the_hosts_charge_without_a_dollar_figure(client):
    body = _record("success", resultJson=json.dumps({"resultUrls": ["https://cdn/v.mp4"]}), consumeCredits=110)
    _, status = parse_record(client.host, body)
    assert status.host_charge == HostCharge(Decimal("110"), "credits", "data.consumeCredits")
    assert status.actual_cost is None


def test_a_failed_task_reports_the_credits_kie_says_it_took(client):
    _, status = parse_record(client.host, _record("fail", failMsg="boom", consumeCredits="0"))
    assert status.host_charge == HostCharge(Decimal("0"), "credits", "data.consumeCredits")


@pytest.mark.parametrize("value", [None, "lots", True, -5, float("nan")])
def test_a_missing_or_unreadable_charge_is_no_charge(client, value):
    fields = {} if value is None else {"consumeCredits": value}
    body = _record("success", resultJson=json.dumps({"resultUrls": ["https://cdn/v.mp4"]}), **fields)
    assert parse_record(client.host, body)[1].host_charge is None


@pytest.mark.parametrize(
    "body",
    [
        _record("exploded"),
        _record("success", resultJson="{not json"),
        _record("success", resultJson=json.dumps({"resultUrls": []})),
        {"code": 200, "data": {"state": "success"}},
    ],
)
def test_unreadable_records_raise_protocol_errors(client, body):
    with pytest.raises(HostProtocolError):
        parse_record(client.host, body)


# -- body codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "retry_safe"),
    [
        (401, "auth", False),
        (402, "credits", False),
        (404, "not_found", False),
        (422, "invalid", False),
        (429, "rate_limited", True),
        (433, "credits", False),
        (455, "maintenance", True),
        (500, "server", False),
        (501, "generation_failed", False),
        (505, "unavailable", False),
    ],
)
def test_every_documented_body_code_maps_to_an_error_kind(client, code, kind, retry_safe):
    error = kie_code_error(client.host, code, "host says no")
    assert (error.kind, error.retry_safe, error.host_code) == (kind, retry_safe, str(code))


def test_out_of_credits_sentence_tells_the_user_to_top_up(client):
    assert kie_code_error(client.host, 402, None).message == (
        "Kie.ai says the account is out of credits. Top up your Kie.ai balance, then try again."
    )


# -- over HTTP ----------------------------------------------------------------------------------


def test_create_sends_the_mapped_payload_with_bearer_auth(emu, client, store):
    request = text_request(audio=True)
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("kie")
    assert record.task_id == submission.task_id
    assert record.body == build_payload(request)
    assert record.headers["authorization"] == f"Bearer {emu.keys['KIE_API_KEY']}"
    assert emu.stats()["accepted_creates"] == {"kie": 1}


def test_image_to_video_uploads_the_frame_first_and_references_its_download_url(emu, client, store):
    png = make_png()
    request = text_request(start_frame=store.add(png))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert emu.stats()["uploads"] == {"kie": 1}
    [token] = emu.uploads
    mime, content = emu.uploads[token]
    assert (mime, content) == ("image/png", png)
    [record] = emu.creates("kie")
    file_name = f"{request.start_frame.sha256[:16]}.png"
    assert record.body["input"]["image_urls"] == [f"{emu.url}/kie-upload/files/{token}/{file_name}"]


def test_a_task_runs_to_success_and_its_video_downloads(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        status = await poll_until_final(client, http, submission)
        video = await http.get(status.video_url)
        return status, video

    status, video = run(scenario)
    assert status.phase == "succeeded"
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"


def test_queued_and_running_phases_come_from_recordInfo(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        second = await client.status(http, submission)
        return first, second

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_failed_and_policy_tasks_report_sentences(emu, client, store):
    async def scenario(http):
        results = []
        for prompt in ("[emu:fail=Render node crashed] a fox", "[emu:policy] a fox"):
            submission = await client.create(http, text_request(prompt), job_id=prompt, frames=store)
            results.append(await poll_until_final(client, http, submission))
        return results

    failed, refused = run(scenario)
    assert failed.error == "Kie.ai could not generate the clip: Render node crashed."
    assert refused.error.startswith("Kie.ai refused the prompt or image under its content policy: ")
    assert refused.error.endswith("Change the prompt or image.")


def test_a_wrong_key_is_reported_without_showing_any_key(emu, store):
    client = client_for(emu, "kie", KIE_API_KEY="wrong-key-123456")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == "Kie.ai rejected the API key. Check KIE_API_KEY in Settings."
    assert_no_secrets(caught.value, emu, ["wrong-key-123456"])


def test_a_missing_key_fails_before_any_request(emu, store):
    client = client_for(emu, "kie", KIE_API_KEY="")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "auth"
    assert emu.stats()["requests"] == {}


@pytest.mark.parametrize("mirrors", [True, False], ids=["http-status-mirrors-code", "http-200-with-body-code"])
def test_insufficient_credits_is_caught_from_the_body_code_whatever_the_http_status(emu, client, store, mirrors):
    emu.configure(kie_http_mirrors_code=mirrors)
    emu.add_fault("http", host="kie", op="create", status=402)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "credits"
    assert caught.value.status_code == (402 if mirrors else 200)
    assert emu.stats()["accepted_creates"] == {}


def test_maintenance_code_455_is_retry_safe(emu, client, store):
    emu.add_fault("http", host="kie", op="create", status=455, retry_after="60")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == ("maintenance", True, 60.0)


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_on_create_map_to_host_errors(emu, client, store, case):
    emu.add_fault("http", host="kie", op="create", **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe) == (case.kind, case.retry_safe)
    assert caught.value.retry_after == case.expected_retry_after
    assert_no_secrets(caught.value, emu)


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_on_upload_and_status_map_to_host_errors(emu, client, store, case):
    emu.add_fault("http", host="kie", op="upload", **fault_options(case))
    request = text_request(start_frame=store.add(make_png()))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.kind == case.kind
    assert emu.stats()["accepted_creates"] == {}
    emu.add_fault("http", host="kie", op="status", **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.status(http, Submission("task_x")))
    assert caught.value.kind == case.kind


def test_invalid_input_quotes_the_hosts_validation_message(emu, client, store):
    request = text_request("x" * 1001)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.kind == "invalid"
    assert "input.prompt" in caught.value.message


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_answers_raise_protocol_errors(emu, client, store, kind):
    emu.add_fault(kind, host="kie", op="create")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))


def test_a_reset_before_the_request_is_read_creates_nothing(emu, client, store):
    emu.add_fault("reset_before", host="kie", op="create")
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.stats()["accepted_creates"] == {}


def test_a_reset_after_processing_loses_the_answer_of_an_accepted_create(emu, client, store):
    emu.add_fault("reset_after", host="kie", op="create")
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.stats()["accepted_creates"] == {"kie": 1}


def test_a_hanging_host_surfaces_as_a_read_timeout(emu, client, store):
    emu.add_fault("timeout_after", host="kie", op="create", hang_seconds=2)
    with pytest.raises(httpx.ReadTimeout):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store), timeout=0.3)
    assert emu.stats()["accepted_creates"] == {"kie": 1}


def _deliver_one(emu, store, prompt: str = "A red fox trotting through fresh snow at dawn", **env) -> tuple:
    """Create a task with a callback URL and return (client, task id, the callback Kie's emulator POSTed)."""
    client = client_for(emu, "kie", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink", **env)
    submission = run(lambda http: client.create(http, text_request(prompt), job_id="job-1", frames=store))
    assert emu.wait_until(lambda: emu.sink("webhook/kie"))
    [delivery] = emu.sink("webhook/kie")
    return client, submission.task_id, delivery


def _signed(task_id: str, secret: str, timestamp: int) -> dict[str, str]:
    """Headers as docs.kie.ai/common-api/webhook-verification describes them."""
    digest = hmac.new(secret.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return {"X-Webhook-Timestamp": str(timestamp), "X-Webhook-Signature": base64.b64encode(digest).decode()}


def _callback(named: str = "task_1", key: str = "taskId", **fields) -> bytes:
    return json.dumps({"code": 200, "msg": "success", "data": {key: named, "state": "success", **fields}}).encode()


SECRET = "kie-hmac-key-for-tests"  # noqa: S105 - a test value


def test_callback_url_is_passed_and_a_signed_callback_wakes_its_task(emu, store):
    client, task_id, delivery = _deliver_one(emu, store)
    assert emu.creates("kie")[0].body["callBackUrl"] == f"{emu.url}/_emulator/sink/webhook/kie"
    assert client.parse_webhook(delivery["body"], delivery["headers"]) == WebhookNews(task_id)


def test_a_verified_callback_never_carries_the_bodys_state_or_video(client):
    # The signature covers the task id and time only: a captured one can travel with any body.
    body = _callback(resultJson=json.dumps({"resultUrls": ["http://127.0.0.1:9/evil.mp4"]}))
    news = client.parse_webhook(body, _signed("task_1", client.config.webhook_secret, int(time.time())))
    assert news == WebhookNews("task_1") and not news.verified


@pytest.mark.parametrize("signature", ["none", "wrong", "stale"])
def test_emulated_forged_callbacks_are_refused(emu, store, signature):
    emu.configure(callback_signature=signature)
    client, _, delivery = _deliver_one(emu, store)
    assert client.parse_webhook(delivery["body"], delivery["headers"]) is None


def test_a_signature_for_another_task_is_refused(client):
    headers = _signed("task_other", client.config.webhook_secret, int(time.time()))
    assert client.parse_webhook(_callback("task_1"), headers) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Webhook-Signature": "c2ln"},
        {"X-Webhook-Timestamp": "1700000000"},
        {"X-Webhook-Timestamp": "1700000000.5", "X-Webhook-Signature": "c2ln"},
        {"X-Webhook-Timestamp": "1700000000", "X-Webhook-Signature": "not base64 !"},
    ],
    ids=["no-timestamp", "no-signature", "fractional-timestamp", "unreadable-signature"],
)
def test_incomplete_signature_headers_are_refused(emu, headers):
    client = client_for(emu, "kie", KIE_WEBHOOK_HMAC_KEY=SECRET)
    assert client.parse_webhook(_callback(), headers, now=1_700_000_000) is None


def test_the_timestamp_must_be_within_the_tolerance_of_now(emu):
    client = client_for(emu, "kie", KIE_WEBHOOK_HMAC_KEY=SECRET)
    headers = _signed("task_1", SECRET, 1_700_000_000)
    assert client.parse_webhook(_callback(), headers, now=1_700_000_000 + TIMESTAMP_TOLERANCE_S) is not None
    assert client.parse_webhook(_callback(), headers, now=1_700_000_000 - TIMESTAMP_TOLERANCE_S) is not None
    assert client.parse_webhook(_callback(), headers, now=1_700_000_001 + TIMESTAMP_TOLERANCE_S) is None


def test_header_names_are_matched_whatever_their_case(emu):
    client = client_for(emu, "kie", KIE_WEBHOOK_HMAC_KEY=SECRET)
    headers = {k.lower(): v for k, v in _signed("task_1", SECRET, 1_700_000_000).items()}
    assert client.parse_webhook(_callback(), headers, now=1_700_000_000) == WebhookNews("task_1")


def test_the_verification_pages_task_id_spelling_is_read_too(emu):
    client = client_for(emu, "kie", KIE_WEBHOOK_HMAC_KEY=SECRET)
    body = _callback("task_9", key="task_id")
    assert client.parse_webhook(body, _signed("task_9", SECRET, 1_700_000_000), now=1_700_000_000) == WebhookNews(
        "task_9"
    )


def test_a_body_naming_two_different_tasks_is_refused(emu):
    client = client_for(emu, "kie", KIE_WEBHOOK_HMAC_KEY=SECRET)
    body = _callback("task_1", task_id="task_2")
    assert client.parse_webhook(body, _signed("task_1", SECRET, 1_700_000_000), now=1_700_000_000) is None


def test_without_a_configured_secret_any_callback_is_only_a_wake_up(emu, store):
    emu.configure(callback_signature="none")
    client, task_id, delivery = _deliver_one(emu, store, "[emu:fail] fox", KIE_WEBHOOK_HMAC_KEY="")
    assert client.config.webhook_secret is None
    assert client.parse_webhook(delivery["body"], delivery["headers"]) == WebhookNews(task_id)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"code": 200}', json.dumps({"data": {"state": "x"}}).encode()])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


def test_kie_has_neither_cancel_nor_lookup(client):
    assert run(lambda http: client.cancel(http, Submission("task_1"))) is False
    assert run(lambda http: client.lookup(http, "job-1-0-1")) is None


def test_a_create_key_is_accepted_and_not_sent(emu, client, store):
    request = text_request()
    run(lambda http: client.create(http, request, job_id="job-1", frames=store, create_key="job-1-0-1"))
    [record] = emu.creates("kie")
    assert record.body == build_payload(request) and "job-1" not in json.dumps(record.body)


@pytest.mark.parametrize("suffix", ["", "/", "/api/v1", "/api/v1/", "/api"])
def test_the_base_url_works_written_as_the_root_or_with_the_api_segment(emu, store, suffix):
    written = emu.base_url("kie") + suffix
    assert normalize_base_url("kie", written) == emu.base_url("kie")
    client = client_for(emu, "kie", KLING_LAB_KIE_BASE_URL=written)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    assert run(scenario).phase == "succeeded"
    assert emu.creates("kie")[0].path == "/kie/api/v1/jobs/createTask"


def test_upload_sends_the_frame_as_a_data_uri_to_the_upload_host(emu, client, store):
    png = make_png(400, 400)
    request = text_request(start_frame=store.add(png))
    uploads: list[dict] = []

    async def remember(outgoing: httpx.Request) -> None:
        if outgoing.url.path.endswith("/api/file-base64-upload"):
            uploads.append(json.loads(outgoing.content))

    async def scenario(http):
        http.event_hooks["request"] = [remember]
        await client.create(http, request, job_id="job-1", frames=store)

    run(scenario)
    [body] = uploads
    assert body["base64Data"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert body["fileName"].endswith(".png") and body["uploadPath"]
