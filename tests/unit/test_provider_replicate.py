"""Replicate client (`kwaivgi/kling-v2.6`): payload, statuses, base URLs, uploads, errors, cancel, signed webhooks."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest

from kling_lab.providers.base import HostConfig, HostError, HostProtocolError, Submission
from kling_lab.providers.replicate import (
    ReplicateClient,
    build_payload,
    parse_prediction,
    secret_key,
    signature_valid,
)
from kling_lab.providers.webhook_auth import TIMESTAMP_TOLERANCE_S
from tests.emulator.hosts.replicate import sign
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
def client(emu) -> ReplicateClient:
    return client_for(emu, "replicate")


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_has_integer_duration_and_explicit_audio_flag():
    payload = build_payload(text_request(duration=10, aspect_ratio="1:1", audio=False))
    assert payload == {
        "input": {
            "prompt": "A red fox trotting through fresh snow at dawn",
            "duration": 10,
            "generate_audio": False,
            "aspect_ratio": "1:1",
        }
    }


def test_image_to_video_payload_sends_start_image_and_drops_aspect_ratio(store):
    ref = store.add(make_png())
    request = text_request(start_frame=ref, negative_prompt="blur", audio=True)
    payload = build_payload(request, start_image="https://api.replicate.com/v1/files/abc")
    assert payload["input"] == {
        "prompt": "A red fox trotting through fresh snow at dawn",
        "duration": 5,
        "generate_audio": True,
        "negative_prompt": "blur",
        "start_image": "https://api.replicate.com/v1/files/abc",
    }


def test_empty_negative_prompt_and_cfg_scale_are_not_sent():
    payload = build_payload(text_request(negative_prompt="   ", cfg_scale=0.5))
    assert "negative_prompt" not in payload["input"] and "cfg_scale" not in payload["input"]


@pytest.mark.parametrize("field", ["end_frame", "voice_ids"])
def test_controls_replicate_lacks_are_refused_rather_than_silently_dropped(store, field):
    value = store.add(make_png(), "The end frame") if field == "end_frame" else ("voice-1",)
    request = text_request(start_frame=store.add(make_png(color=(5, 5, 5))), **{field: value})
    with pytest.raises(ValueError):
        build_payload(request, start_image="data:x")


def test_webhook_asks_for_the_completed_event_only():
    payload = build_payload(text_request(), callback_url="https://app.example/webhook/replicate")
    assert payload["webhook"] == "https://app.example/webhook/replicate"
    assert payload["webhook_events_filter"] == ["completed"]


# -- status mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "phase"),
    [("starting", "queued"), ("processing", "running"), ("canceled", "canceled"), ("aborted", "canceled")],
)
def test_prediction_statuses_map_to_phases(client, status, phase):
    _, result = parse_prediction(client.host, {"id": "p1", "status": status})
    assert result.phase == phase


@pytest.mark.parametrize("output", ["https://r.delivery/out.mp4", ["https://r.delivery/out.mp4"]])
def test_succeeded_output_is_a_uri_string_or_a_list(client, output):
    _, result = parse_prediction(client.host, {"id": "p1", "status": "succeeded", "output": output})
    assert (result.phase, result.video_url) == ("succeeded", "https://r.delivery/out.mp4")


def test_failed_prediction_reports_its_error(client):
    _, result = parse_prediction(client.host, {"id": "p1", "status": "failed", "error": "CUDA error"})
    assert result.error == "Replicate could not generate the clip: CUDA error."


def test_sensitive_content_failure_reads_as_content_policy(client):
    error = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
    _, result = parse_prediction(client.host, {"id": "p1", "status": "failed", "error": error})
    assert "under its content policy" in result.error


@pytest.mark.parametrize(
    "body", [{"id": "p1", "status": "weird"}, {"id": "p1", "status": "succeeded", "output": None}, {"status": "x"}]
)
def test_unreadable_predictions_raise_protocol_errors(client, body):
    with pytest.raises(HostProtocolError):
        parse_prediction(client.host, body)


# -- over HTTP ----------------------------------------------------------------------------------


def test_emulator_base_url_is_the_host_root(emu):
    assert emu.base_url("replicate") == f"{emu.url}/replicate"


def test_create_posts_to_the_model_endpoint_with_the_mapped_input(emu, client, store):
    request = text_request(audio=True)
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("replicate")
    assert record.path == "/replicate/v1/models/kwaivgi/kling-v2.6/predictions"
    assert record.body == build_payload(request)
    assert record.task_id == submission.task_id
    assert record.headers["authorization"] == f"Bearer {emu.keys['REPLICATE_API_TOKEN']}"


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_a_prediction_runs_to_success_with_the_base_url_written_either_way(emu, store, suffix):
    client = client_for(emu, "replicate", KLING_LAB_REPLICATE_BASE_URL=emu.base_url("replicate") + suffix)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    status = run(scenario)
    assert status.phase == "succeeded" and status.video_url.startswith(emu.url)
    assert emu.creates("replicate")[0].path == "/replicate/v1/models/kwaivgi/kling-v2.6/predictions"


def test_start_frame_is_uploaded_to_files_and_its_url_sent(emu, client, store):
    png = make_png()
    request = text_request(start_frame=store.add(png))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    start_image = emu.creates("replicate")[0].body["input"]["start_image"]
    assert start_image.startswith(f"{emu.url}/replicate/v1/files/")
    assert emu.uploads[start_image.rsplit("/", 1)[1]] == ("image/png", png)
    assert emu.stats()["uploads"] == {"replicate": 1}


def test_a_refused_upload_creates_nothing(emu, client, store):
    emu.add_fault("http", host="replicate", op="upload", status=413, message="File too large")
    request = text_request(start_frame=store.add(make_png()))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "File too large" in caught.value.message
    assert emu.stats()["accepted_creates"] == {}


@pytest.mark.parametrize("kind", ["reset_after", "malformed_json"])
def test_a_lost_upload_answer_is_retry_safe_because_nothing_was_paid(emu, client, store, kind):
    emu.add_fault(kind, host="replicate", op="upload")
    request = text_request(start_frame=store.add(make_png()))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.retry_safe is True
    assert "Nothing was created or charged" in caught.value.message
    assert emu.stats()["accepted_creates"] == {}


def test_queued_then_running(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        return first, await client.status(http, submission)

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_failed_and_policy_predictions_report_sentences(emu, client, store):
    async def scenario(http):
        results = []
        for prompt in ("[emu:fail=Out of memory] fox", "[emu:policy] fox"):
            submission = await client.create(http, text_request(prompt), job_id=prompt, frames=store)
            results.append(await poll_until_final(client, http, submission))
        return results

    failed, refused = run(scenario)
    assert failed.error == "Replicate could not generate the clip: Out of memory."
    assert "under its content policy" in refused.error


def test_cancel_cancels_a_running_prediction(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        accepted = await client.cancel(http, submission)
        return accepted, await client.status(http, submission)

    accepted, status = run(scenario)
    assert accepted is True and status.phase == "canceled"
    assert sum(emu.stats()["cancel_calls"].values()) == 1


def test_a_wrong_token_is_an_auth_error_without_the_token(emu, store):
    client = client_for(emu, "replicate", REPLICATE_API_TOKEN="r8_wrongtoken12345")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == "Replicate rejected the API key. Check REPLICATE_API_TOKEN in Settings."
    assert_no_secrets(caught.value, emu, ["r8_wrongtoken12345"])


def test_invalid_input_quotes_the_problem_detail(emu, client, store):
    emu.add_fault("http", host="replicate", op="create", status=422, message="- input.duration: must be 5 or 10")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "invalid"
    assert "input.duration: must be 5 or 10" in caught.value.message


def test_throttling_is_rate_limited_with_retry_after(emu, client, store):
    emu.add_fault("http", host="replicate", op="create", status=429, retry_after="30")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == ("rate_limited", True, 30.0)


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_map_to_host_errors_on_create_status_and_cancel(emu, client, store, case):
    for op in ("create", "status", "cancel"):
        emu.add_fault("http", host="replicate", op=op, **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == (
        case.kind, case.retry_safe, case.expected_retry_after)
    for call in (client.status, client.cancel):
        with pytest.raises(HostError) as caught:
            run(lambda http, call=call: call(http, Submission("abc")))
        assert caught.value.kind == case.kind
        assert_no_secrets(caught.value, emu)


def test_unknown_prediction_is_not_found(emu, client):
    with pytest.raises(HostError) as caught:
        run(lambda http: client.status(http, Submission("nope")))
    assert caught.value.kind == "not_found"


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_status_answers_raise_protocol_errors(emu, client, store, kind):
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    emu.add_fault(kind, host="replicate", op="status")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.status(http, submission))


@pytest.mark.parametrize(("kind", "accepted"), [("reset_before", {}), ("reset_after", {"replicate": 1})])
def test_connection_resets_propagate_as_transport_errors(emu, client, store, kind, accepted):
    emu.add_fault(kind, host="replicate", op="create")
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.stats()["accepted_creates"] == accepted


def test_lost_creates_cannot_be_looked_up(client):
    assert run(lambda http: client.lookup(http, "job-1-0-1")) is None


# -- the account's default webhook secret --------------------------------------------------------


def _paths(targets: list[str]):
    async def remember(request: httpx.Request) -> None:
        targets.append(f"{request.method} {request.url.path}")
    return remember


def _secret_fetches(emu, client, store, creates: int = 2) -> int:
    targets: list[str] = []

    async def scenario(http):
        http.event_hooks["request"] = [_paths(targets)]
        for n in range(creates):
            await client.create(http, text_request(), job_id=f"job-{n}", frames=store)

    run(scenario)
    return targets.count("GET /replicate/v1/webhooks/default/secret")


def test_with_a_callback_and_no_secret_the_default_secret_is_fetched_once(emu, store):
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL=emu.sink_url("app"), REPLICATE_WEBHOOK_SECRET="")
    assert _secret_fetches(emu, client, store) == 1
    assert client.webhook_secret == emu.keys["REPLICATE_WEBHOOK_SECRET"]


def test_a_configured_secret_is_used_without_asking(emu, store):
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL=emu.sink_url("app"))
    assert _secret_fetches(emu, client, store) == 0


def test_without_a_callback_url_no_secret_is_asked_for(emu, store):
    client = client_for(emu, "replicate", REPLICATE_WEBHOOK_SECRET="")
    assert _secret_fetches(emu, client, store) == 0
    assert client.webhook_secret is None


def test_a_refused_secret_request_leaves_callbacks_as_wake_ups_and_the_create_goes_on():
    def host(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/webhooks/default/secret"):
            return httpx.Response(403, json={"title": "Forbidden", "detail": "Not allowed", "status": 403})
        return httpx.Response(201, json={"id": "p1", "status": "starting"})

    client = ReplicateClient(HostConfig("https://replicate.test", {"REPLICATE_API_TOKEN": "r8_x" * 4},
                                        callback_url="https://app.test/webhook/replicate"))

    async def main():
        async with httpx.AsyncClient(transport=httpx.MockTransport(host)) as http:
            return await client.create(http, text_request(), job_id="job-1", frames=lambda ref: b"")

    assert asyncio.run(main()).task_id == "p1"
    news = client.parse_webhook(json.dumps({"id": "p1", "status": "failed", "error": "x"}).encode(), {})
    assert news is not None and not news.verified


# -- signed webhooks ------------------------------------------------------------------------------


def _delivered(emu, store, signature: str, **env: str):
    emu.configure(callback_signature=signature)
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink", **env)
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.wait_until(lambda: emu.sink("webhook/replicate"))
    [delivery] = emu.sink("webhook/replicate")
    return client, submission, delivery


def test_a_validly_signed_webhook_carries_the_completed_prediction(emu, store):
    client, submission, delivery = _delivered(emu, store, "valid")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert news.verified and (news.task_id, news.status.phase) == (submission.task_id, "succeeded")


@pytest.mark.parametrize("signature", ["wrong", "stale", "none"])
def test_forged_stale_or_unsigned_webhooks_are_refused_when_a_secret_is_known(emu, store, signature):
    client, _, delivery = _delivered(emu, store, signature)
    assert client.parse_webhook(delivery["body"], delivery["headers"]) is None


def test_without_any_secret_a_webhook_is_only_a_wake_up(emu, store):
    _, submission, delivery = _delivered(emu, store, "valid")
    client = client_for(emu, "replicate", REPLICATE_WEBHOOK_SECRET="")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert (news.task_id, news.verified) == (submission.task_id, False)


def test_a_webhook_verifies_with_the_fetched_default_secret(emu, store):
    client, submission, delivery = _delivered(emu, store, "valid", REPLICATE_WEBHOOK_SECRET="")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert news.verified and news.task_id == submission.task_id


SECRET = "whsec_" + base64.b64encode(b"unit-test-secret-bytes").decode()
BODY = json.dumps({"id": "p1", "status": "succeeded", "output": "https://r.delivery/out.mp4"}).encode()
NOW = 1_760_000_000


def _headers(secret: str = SECRET, timestamp: int = NOW, body: bytes = BODY, signature: str | None = None):
    value = signature if signature is not None else sign(secret, "msg_1", str(timestamp), body)
    return {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(timestamp), "Webhook-Signature": value}


def _client(secret: str | None = SECRET) -> ReplicateClient:
    return ReplicateClient(HostConfig("https://api.replicate.com", {}, webhook_secret=secret))


def test_a_body_changed_after_signing_is_refused():
    tampered = BODY.replace(b"out.mp4", b"someone-elses.mp4")
    assert _client().parse_webhook(tampered, _headers(), now=NOW) is None


def test_any_one_of_several_signatures_may_match():
    good = sign(SECRET, "msg_1", str(NOW), BODY)
    headers = _headers(signature=f"v1,{base64.b64encode(b'old-secret-digest').decode()} {good}")
    assert _client().parse_webhook(BODY, headers, now=NOW).verified


def test_a_malformed_signature_entry_before_the_match_refuses_the_delivery():
    good = sign(SECRET, "msg_1", str(NOW), BODY)
    assert not signature_valid(_headers(signature=f"garbage {good}"), BODY, SECRET, now=NOW)


@pytest.mark.parametrize(("offset", "fresh"), [(TIMESTAMP_TOLERANCE_S, True), (-TIMESTAMP_TOLERANCE_S, True),
                                               (TIMESTAMP_TOLERANCE_S + 1, False), (-3600, False)])
def test_the_timestamp_must_be_within_the_tolerance(offset, fresh):
    headers = _headers(timestamp=NOW + offset)
    assert signature_valid(headers, BODY, SECRET, now=NOW) is fresh


@pytest.mark.parametrize("missing", ["Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"])
def test_each_signature_header_is_required(missing):
    headers = _headers()
    del headers[missing]
    assert _client().parse_webhook(BODY, headers, now=NOW) is None


@pytest.mark.parametrize("secret", ["not-a-whsec-secret", "whsec_a_b", "whsec_%%%"])
def test_an_unusable_secret_refuses_rather_than_trusts(secret):
    assert secret_key(secret) is None
    assert _client(secret).parse_webhook(BODY, _headers(), now=NOW) is None


def test_a_signature_checked_against_the_real_clock_by_default():
    headers = _headers(timestamp=int(time.time()))
    assert _client().parse_webhook(BODY, headers).verified


@pytest.mark.parametrize("body", [b"", b"null", b'{"id": "x", "status": "???"}', json.dumps([1]).encode()])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None
