"""fal.ai queue client: payload, queue URLs, the SDK's final-or-retry rule on results, cancel, signed webhooks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kling_lab.capabilities import normalize_base_url
from kling_lab.providers.base import HostConfig, HostError, HostProtocolError, Submission
from kling_lab.providers.fal import FalClient, build_payload, parse_result, parse_webhook_body, sdk_retries
from kling_lab.providers.fal_webhook_keys import KEYS_MAX_AGE_S, WebhookKeys, jwks_public_keys, signed_message
from kling_lab.providers.frames import frame_data_uri
from kling_lab.providers.registry import host_config
from kling_lab.providers.webhook_auth import TIMESTAMP_TOLERANCE_S
from tests.emulator.hosts.fal import WEBHOOK_USER_ID
from tests.emulator.testing import (
    GENERIC_FAULT_CASES,
    assert_no_secrets,
    client_for,
    fault_options,
    make_png,
    poll_until_final,
    run,
    settings_for,
    text_request,
)

pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture
def client(emu) -> FalClient:
    return client_for(emu, "fal")


class Recorder(httpx.AsyncBaseTransport):
    """Sends requests on to the emulator and keeps (method, path, query) of each."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.url.query.decode()))
        return await self.inner.handle_async_request(request)


def _jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def _signed(key: Ed25519PrivateKey, body: bytes, *, request_id: str = "r1", stamp: int | None = None) -> dict:
    timestamp = str(int(time.time()) if stamp is None else stamp)
    message = signed_message(request_id, "user-1", timestamp, body)
    return {"X-Fal-Webhook-Request-Id": request_id, "X-Fal-Webhook-User-Id": "user-1",
            "X-Fal-Webhook-Timestamp": timestamp, "X-Fal-Webhook-Signature": key.sign(message).hex()}


class KeySet:
    """A JWKS endpoint for WebhookKeys: serves `keys` (or fails), counts fetches, and a clock to move."""

    def __init__(self, *keys: Ed25519PrivateKey, status: int = 200) -> None:
        self.keys = list(keys)
        self.status = status
        self.fetches = 0
        self.now = 1000.0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        return httpx.Response(self.status, json={"keys": [_jwk(k) for k in self.keys]})

    def loader(self) -> WebhookKeys:
        return WebhookKeys("https://keys.example/jwks.json", transport=httpx.MockTransport(self.handler),
                           clock=lambda: self.now)


def _local_client(emu, keys: WebhookKeys | None) -> FalClient:
    return FalClient(host_config("fal", settings_for(emu)), webhook_keys=keys)


INGRESS = "<hr><center>nginx</center>"
OK_BODY = json.dumps({"request_id": "r1", "gateway_request_id": "r1", "status": "OK",
                      "payload": {"video": {"url": "https://v3.fal.media/x.mp4"}}}).encode()


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_has_string_duration_audio_aspect_and_cfg_scale():
    payload = build_payload(text_request(duration=10, cfg_scale=0.25, negative_prompt="blur", audio=False))
    assert payload == {
        "prompt": "A red fox trotting through fresh snow at dawn",
        "duration": "10",
        "generate_audio": False,
        "negative_prompt": "blur",
        "aspect_ratio": "16:9",
        "cfg_scale": 0.25,
    }


def test_image_to_video_payload_has_start_end_frames_and_voices_but_no_aspect_or_cfg(store):
    request = text_request(
        start_frame=store.add(make_png()), end_frame=store.add(make_png(color=(1, 2, 3)), "The end frame"),
        voice_ids=("voice-a", " "), cfg_scale=0.4, audio=True,
    )
    payload = build_payload(request, start_image="data:s", end_image="data:e")
    assert payload == {
        "prompt": "A red fox trotting through fresh snow at dawn",
        "duration": "5",
        "generate_audio": True,
        "start_image_url": "data:s",
        "end_image_url": "data:e",
        "voice_ids": ["voice-a"],
    }


def test_voice_ids_without_a_start_frame_are_refused_rather_than_dropped():
    with pytest.raises(ValueError):
        build_payload(text_request(voice_ids=("voice-1",)))


def test_defaults_are_left_to_the_host_when_unset():
    payload = build_payload(text_request())
    assert "cfg_scale" not in payload and "negative_prompt" not in payload


# -- result and webhook bodies ------------------------------------------------------------------


def test_result_with_a_video_is_success(client):
    status = parse_result(client.host, {"video": {"url": "https://v3.fal.media/x.mp4"}})
    assert (status.phase, status.video_url) == ("succeeded", "https://v3.fal.media/x.mp4")


def test_result_with_an_error_detail_is_failure(client):
    status = parse_result(client.host, {"detail": [{"loc": ["body"], "msg": "No media generated"}]})
    assert status.phase == "failed" and "No media generated" in status.error


def test_result_with_neither_is_a_protocol_error(client):
    with pytest.raises(HostProtocolError):
        parse_result(client.host, {"something": 1})


@pytest.mark.parametrize(
    ("body", "phase"),
    [
        ({"request_id": "r1", "status": "OK", "payload": {"video": {"url": "https://x.mp4"}}}, "succeeded"),
        ({"request_id": "r1", "status": "ERROR", "error": "Invalid status code: 422",
          "payload": {"detail": [{"msg": "flagged by a content checker", "type": "content_policy_violation"}]}},
         "failed"),
        ({"request_id": "r1", "status": "OK", "payload": None, "payload_error": "payload too large"}, "failed"),
    ],
)
def test_webhook_bodies_map_to_phases(client, body, phase):
    request_id, status = parse_webhook_body(client.host, body)
    assert (request_id, status.phase) == ("r1", phase)


# -- which result answers fal_client 1.0.3 asks again after ---------------------------------------


@pytest.mark.parametrize(
    ("code", "headers", "text", "retried"),
    [
        (408, {}, "", True),
        (409, {}, "", True),
        (429, {"x-fal-request-id": "r"}, "", True),
        (502, {}, INGRESS, True),
        (503, {}, INGRESS, True),
        (504, {}, INGRESS, True),
        (502, {"x-fal-request-id": "r"}, INGRESS, False),
        (503, {}, '{"detail": "Runner scheduling failure"}', False),
        (504, {"x-fal-request-timeout-type": "user"}, INGRESS, False),
        (500, {}, INGRESS, False),
        (500, {"x-fal-retryable": "true"}, "{}", False),
        (404, {}, "", False),
        (422, {}, "", False),
        (401, {}, "", False),
    ],
)
def test_sdk_retry_rule_is_followed_exactly(code, headers, text, retried):
    assert sdk_retries(httpx.Response(code, headers=headers, text=text)) is retried


# -- over HTTP ----------------------------------------------------------------------------------


def test_submit_uses_key_auth_and_keeps_the_returned_queue_urls(emu, client, store):
    request = text_request(audio=True)
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store, create_key="k-1"))
    [record] = emu.creates("fal")
    assert record.path == "/fal/fal-ai/kling-video/v2.6/pro/text-to-video"
    assert record.headers["authorization"] == f"Key {emu.keys['FAL_KEY']}"
    assert record.body == build_payload(request)
    root = f"{emu.url}/fal/fal-ai/kling-video/requests/{submission.task_id}"
    assert dict(submission.extra) == {"status_url": f"{root}/status", "response_url": root,
                                      "cancel_url": f"{root}/cancel"}


@pytest.mark.parametrize("suffix", ["", "/"])
def test_a_request_runs_to_success_with_the_base_url_written_either_way(emu, store, suffix):
    config = host_config("fal", settings_for(emu))
    client = FalClient(HostConfig(normalize_base_url("fal", emu.base_url("fal") + suffix), config.credentials))

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    assert run(scenario).phase == "succeeded"


def test_image_to_video_goes_to_the_image_endpoint_with_data_uris(emu, client, store):
    start, end = make_png(), make_png(color=(0, 0, 255))
    request = text_request(start_frame=store.add(start), end_frame=store.add(end, "The end frame"))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("fal")
    assert record.path.endswith("/v2.6/pro/image-to-video")
    assert record.body["start_image_url"] == frame_data_uri("image/png", start)
    assert record.body["end_image_url"] == frame_data_uri("image/png", end)


def test_status_is_asked_without_logs_as_the_sdk_asks_then_the_result_is_fetched(emu, client, store):
    recorder = Recorder()

    async def scenario():
        async with httpx.AsyncClient(transport=recorder) as http:
            submission = await client.create(http, text_request(), job_id="job-1", frames=store)
            return submission, await client.status(http, submission)

    submission, status = asyncio.run(scenario())
    root = f"/fal/fal-ai/kling-video/requests/{submission.task_id}"
    assert recorder.seen[1:] == [("GET", f"{root}/status", "logs=false"), ("GET", root, "")]
    assert status.phase == "succeeded" and status.video_url.startswith(emu.url)


def test_status_works_from_the_documented_urls_when_extra_is_missing(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await client.status(http, Submission(submission.task_id))

    assert run(scenario).phase == "succeeded"


def test_queued_then_running(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        return first, await client.status(http, submission)

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_a_failed_request_ends_failed_on_its_first_poll_with_fals_reason(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request("[emu:fail=GPU lost] fox"), job_id="j", frames=store)
        return submission, await client.status(http, submission)

    submission, status = run(scenario)
    assert (status.phase, status.error) == ("failed", "fal.ai could not generate the clip: GPU lost.")
    assert emu.stats()["result_calls"] == {submission.task_id: 1}


def test_a_content_policy_refusal_on_the_result_is_a_content_policy_failure(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request("[emu:policy] fox"), job_id="j", frames=store)
        return await client.status(http, submission)

    status = run(scenario)
    assert status.phase == "failed"
    assert status.error.startswith("fal.ai refused the prompt or image under its content policy: ")


@pytest.mark.parametrize(("code", "reason"), [(500, "Internal server error"), (502, "Bad gateway"),
                                              (504, "Gateway timeout"), (404, "Not found"), (400, "Bad request")])
def test_an_error_answer_the_sdk_does_not_retry_ends_the_job_in_one_poll(emu, client, store, code, reason):
    emu.add_fault("http", host="fal", op="result", status=code)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await client.status(http, submission)

    status = run(scenario)
    assert (status.phase, status.error) == ("failed", f"fal.ai could not generate the clip: {reason}.")


@pytest.mark.parametrize(("code", "options", "kind", "retry_safe"), [
    (429, {"retry_after": "2"}, "rate_limited", True),
    (408, {}, "server", False),
    (409, {}, "server", False),
    (502, {"code": "ingress"}, "server", False),
    (503, {"code": "ingress"}, "maintenance", True),
    (504, {"code": "ingress"}, "server", False),
])
def test_an_error_answer_the_sdk_retries_is_raised_and_the_next_poll_reads_the_result(
    emu, client, store, code, options, kind, retry_safe
):
    emu.add_fault("http", host="fal", op="result", status=code, **options)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        with pytest.raises(HostError) as caught:
            await client.status(http, submission)
        return caught.value, await client.status(http, submission)

    error, status = run(scenario)
    assert (error.kind, error.retry_safe, status.phase) == (kind, retry_safe, "succeeded")


def test_a_refused_key_on_the_result_is_an_auth_error_not_a_failed_clip(emu, client, store):
    emu.add_fault("http", host="fal", op="result", status=401)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        with pytest.raises(HostError) as caught:
            await client.status(http, submission)
        return caught.value

    assert run(scenario).kind == "auth"


def test_the_completed_status_error_is_the_reason_when_the_result_gives_none(emu, client, store):
    emu.add_fault("http", host="fal", op="result", status=500, message=" ")

    async def scenario(http):
        submission = await client.create(http, text_request("[emu:fail=Upstream refused] fox"), job_id="j",
                                         frames=store)
        return await client.status(http, submission)

    assert run(scenario).error == "fal.ai could not generate the clip: Upstream refused."


def test_cancel_of_a_queued_request_is_accepted_and_of_a_finished_one_is_not(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        accepted = await client.cancel(http, submission)
        status = await client.status(http, submission)
        emu.force_phase(submission.task_id, "succeeded")
        again = await client.cancel(http, submission)
        return accepted, status, again

    accepted, status, again = run(scenario)
    assert (accepted, status.phase, again) == (True, "canceled", False)


def test_a_wrong_key_is_an_auth_error_without_the_key(emu, store):
    client = client_for(emu, "fal", FAL_KEY="fal-wrong:secret-999999")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == "fal.ai rejected the API key. Check FAL_KEY in Settings."
    assert_no_secrets(caught.value, emu, ["fal-wrong:secret-999999", "secret-999999"])


def test_validation_errors_quote_the_field_and_message(emu, client, store):
    emu.configure(strict=True)
    request = text_request(start_frame=store.add(make_png()), voice_ids=("a", "b", "c"))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "voice_ids" in caught.value.message


def test_content_policy_validation_error_at_submit_is_a_content_policy_error(emu, client, store):
    message = "The content could not be processed because it contained material flagged by a content checker."
    emu.add_fault("http", host="fal", op="create", status=422, message=message)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "content_policy"


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_map_to_host_errors_on_submit_and_status(emu, client, store, case):
    emu.add_fault("http", host="fal", op="create", **fault_options(case))
    emu.add_fault("http", host="fal", op="status", **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == (
        case.kind, case.retry_safe, case.expected_retry_after)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.status(http, Submission("r1")))
    assert caught.value.kind == case.kind
    assert_no_secrets(caught.value, emu)


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_submit_answers_raise_protocol_errors(emu, client, store, kind):
    emu.add_fault(kind, host="fal", op="create")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))


def test_a_reset_after_submit_loses_the_answer_but_the_request_exists(emu, client, store):
    emu.add_fault("reset_after", host="fal", op="create")
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.stats()["accepted_creates"] == {"fal": 1}


def test_lost_submits_cannot_be_looked_up(client):
    assert run(lambda http: client.lookup(http, "job-1")) is None


# -- signed webhooks, as the emulator delivers them ------------------------------------------------


def _delivered(emu, store, signature: str, prompt: str = "A fox"):
    """(submission, delivery) of one callback signed the `signature` way, and a client that reads it."""
    emu.configure(callback_signature=signature)
    client = client_for(emu, "fal", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(prompt), job_id="job-1", frames=store))
    assert emu.wait_until(lambda: emu.sink("webhook/fal"))
    [delivery] = emu.sink("webhook/fal")
    return client, submission, delivery


def test_the_callback_is_asked_for_in_the_query(emu, store):
    _delivered(emu, store, "valid")
    assert emu.creates("fal")[0].query["fal_webhook"] == f"{emu.url}/_emulator/sink/webhook/fal"


def test_a_validly_signed_callback_is_believed(emu, store):
    client, submission, delivery = _delivered(emu, store, "valid")
    assert delivery["headers"]["x-fal-webhook-user-id"] == WEBHOOK_USER_ID
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert (news.task_id, news.status.phase) == (submission.task_id, "succeeded")


def test_a_validly_signed_failure_callback_carries_fals_reason(emu, store):
    client, _, delivery = _delivered(emu, store, "valid", "[emu:fail=GPU lost] fox")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert (news.status.phase, news.status.error) == ("failed", "fal.ai could not generate the clip: GPU lost.")


@pytest.mark.parametrize("signature", ["none", "wrong", "stale"])
def test_unsigned_wrongly_signed_or_stale_callbacks_are_refused(emu, store, signature):
    client, _, delivery = _delivered(emu, store, signature)
    assert client.parse_webhook(delivery["body"], delivery["headers"]) is None


def test_a_validly_signed_callback_with_another_body_is_refused(emu, store):
    client, _, delivery = _delivered(emu, store, "valid")
    forged = json.loads(delivery["body"])
    forged["payload"]["video"]["url"] = "https://attacker.example/clip.mp4"
    assert client.parse_webhook(json.dumps(forged).encode(), delivery["headers"]) is None


def test_when_the_key_set_cannot_be_fetched_a_callback_is_only_a_wake_up(emu, store):
    _, submission, delivery = _delivered(emu, store, "valid")
    client = client_for(emu, "fal", KLING_LAB_FAL_JWKS_URL=f"{emu.url}/fal-keys/missing.json")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert (news.task_id, news.status) == (submission.task_id, None)


def test_without_a_key_set_url_a_callback_is_only_a_wake_up(emu):
    config = host_config("fal", settings_for(emu))
    client = FalClient(HostConfig(config.base_url, config.credentials))
    news = client.parse_webhook(OK_BODY, {})
    assert (news.task_id, news.verified) == ("r1", False)


@pytest.mark.parametrize("body", [b"nope", b"{}", json.dumps({"request_id": "r", "status": "MAYBE"}).encode(),
                                  json.dumps({"status": "OK", "payload": {}}).encode()])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


# -- signatures and the key set, with a local key --------------------------------------------------


def test_a_signature_within_the_tolerance_is_believed_and_one_past_it_is_not(emu):
    key = Ed25519PrivateKey.generate()
    client = _local_client(emu, KeySet(key).loader())
    headers = _signed(key, OK_BODY, stamp=1_700_000_000)
    assert client.parse_webhook(OK_BODY, headers, now=1_700_000_000 + TIMESTAMP_TOLERANCE_S).verified
    assert client.parse_webhook(OK_BODY, headers, now=1_700_000_001 + TIMESTAMP_TOLERANCE_S) is None


def test_a_signature_made_for_another_request_than_the_body_names_is_refused(emu):
    key = Ed25519PrivateKey.generate()
    client = _local_client(emu, KeySet(key).loader())
    assert client.parse_webhook(OK_BODY, _signed(key, OK_BODY, request_id="another-request")) is None
    assert client.parse_webhook(OK_BODY, _signed(key, OK_BODY)).verified


@pytest.mark.parametrize("signature", ["zz", "abc", ""])
def test_an_unreadable_signature_is_refused(emu, signature):
    key = Ed25519PrivateKey.generate()
    client = _local_client(emu, KeySet(key).loader())
    headers = {**_signed(key, OK_BODY), "X-Fal-Webhook-Signature": signature}
    assert client.parse_webhook(OK_BODY, headers) is None


def test_a_valid_signature_over_an_unreadable_result_is_a_wake_up(emu):
    key = Ed25519PrivateKey.generate()
    client = _local_client(emu, KeySet(key).loader())
    body = json.dumps({"request_id": "r1", "status": "OK", "payload": {"odd": 1}}).encode()
    news = client.parse_webhook(body, _signed(key, body))
    assert (news.task_id, news.status) == ("r1", None)


def test_the_key_set_is_fetched_once_and_kept_for_a_day():
    key = Ed25519PrivateKey.generate()
    keys = KeySet(key)
    loader = keys.loader()
    message = b"m"
    assert loader.verify(message, key.sign(message)) and loader.verify(message, key.sign(message))
    keys.now += KEYS_MAX_AGE_S - 1
    assert loader.verify(message, key.sign(message)) and keys.fetches == 1
    keys.now += 2
    assert loader.verify(message, key.sign(message)) and keys.fetches == 2


def test_a_rotated_key_is_found_by_fetching_the_set_again():
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = KeySet(old)
    loader = keys.loader()
    assert loader.verify(b"m", old.sign(b"m"))
    keys.keys, keys.now = [new], keys.now + 61
    assert loader.verify(b"m", new.sign(b"m")) and keys.fetches == 2


def test_signatures_no_key_verifies_refetch_the_set_at_most_once_a_minute():
    key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = KeySet(key)
    loader = keys.loader()
    results = [loader.verify(b"m", stranger.sign(b"m")) for _ in range(20)]
    assert results == [False] * 20 and keys.fetches == 1
    keys.now += 61
    assert loader.verify(b"m", stranger.sign(b"m")) is False and keys.fetches == 2


def test_an_unreachable_key_set_gives_no_verdict_and_is_asked_again_after_a_minute():
    key = Ed25519PrivateKey.generate()
    keys = KeySet(key, status=503)
    loader = keys.loader()
    assert [loader.verify(b"m", key.sign(b"m")) for _ in range(5)] == [None] * 5 and keys.fetches == 1
    keys.status, keys.now = 200, keys.now + 61
    assert loader.verify(b"m", key.sign(b"m")) is True and keys.fetches == 2


def test_a_key_set_that_cannot_be_reached_at_all_gives_no_verdict():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    loader = WebhookKeys("https://keys.example/jwks.json", transport=httpx.MockTransport(refuse))
    assert loader.verify(b"m", b"\0" * 64) is None


def test_only_ed25519_entries_of_a_key_set_are_used():
    key = Ed25519PrivateKey.generate()
    document = {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}, {"kty": "OKP", "crv": "X25519", "x": "AAAA"},
                         {"kty": "OKP", "crv": "Ed25519", "x": "not base64 !"}, {"kty": "OKP", "x": 5}, _jwk(key)]}
    [found] = jwks_public_keys(document)
    found.verify(key.sign(b"m"), b"m")


def test_the_signed_message_is_the_four_fields_one_per_line():
    body = b'{"a": 1}'
    assert signed_message("r", "u", "1", body) == f"r\nu\n1\n{hashlib.sha256(body).hexdigest()}".encode()
