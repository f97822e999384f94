"""fal.ai queue client: payload mapping, returned queue URLs, COMPLETED → result, errors, cancel, webhooks."""

from __future__ import annotations

import json

import httpx
import pytest

from kling_lab.providers.base import HostError, HostProtocolError, Submission
from kling_lab.providers.fal import FalClient, build_payload, parse_result, parse_webhook_body
from kling_lab.providers.http_errors import frame_data_uri
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
def client(emu) -> FalClient:
    return client_for(emu, "fal")


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


# -- result and webhook mapping -----------------------------------------------------------------


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


# -- over HTTP ----------------------------------------------------------------------------------


def test_submit_uses_key_auth_and_keeps_the_returned_queue_urls(emu, client, store):
    request = text_request(audio=True)
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("fal")
    assert record.path == "/fal/fal-ai/kling-video/v2.6/pro/text-to-video"
    assert record.headers["authorization"] == f"Key {emu.keys['FAL_KEY']}"
    assert record.body == build_payload(request)
    root = f"{emu.url}/fal/fal-ai/kling-video/requests/{submission.task_id}"
    assert dict(submission.extra) == {"status_url": f"{root}/status", "response_url": root,
                                      "cancel_url": f"{root}/cancel"}


def test_image_to_video_goes_to_the_image_endpoint_with_data_uris(emu, client, store):
    start, end = make_png(), make_png(color=(0, 0, 255))
    request = text_request(start_frame=store.add(start), end_frame=store.add(end, "The end frame"))
    run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("fal")
    assert record.path.endswith("/v2.6/pro/image-to-video")
    assert record.body["start_image_url"] == frame_data_uri("image/png", start)
    assert record.body["end_image_url"] == frame_data_uri("image/png", end)


def test_completed_requests_fetch_the_result(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return submission, await poll_until_final(client, http, submission)

    submission, status = run(scenario)
    assert status.phase == "succeeded" and status.video_url.startswith(emu.url)
    assert emu.stats()["result_calls"] == {submission.task_id: 1}


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


def test_a_failed_request_completes_and_its_result_error_becomes_the_reason(emu, client, store):
    async def scenario(http):
        results = []
        for prompt in ("[emu:fail=No media generated] fox", "[emu:policy] fox"):
            submission = await client.create(http, text_request(prompt), job_id=prompt, frames=store)
            results.append(await poll_until_final(client, http, submission))
        return results

    failed, refused = run(scenario)
    assert failed.phase == "failed" and failed.error == "fal.ai could not generate the clip: No media generated."
    assert refused.error.startswith("fal.ai refused the prompt or image under its content policy: ")


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_transient_error_on_the_result_is_raised_not_reported_as_a_failed_clip(emu, client, store, status):
    emu.add_fault("http", host="fal", op="result", status=status)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        with pytest.raises(HostError):
            await client.status(http, submission)
        return await client.status(http, submission)

    assert run(scenario).phase == "succeeded"


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


def test_fal_webhook_is_requested_in_the_query_and_its_body_parses(emu, store):
    client = client_for(emu, "fal", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.creates("fal")[0].query["fal_webhook"] == f"{emu.url}/_emulator/sink/webhook/fal"
    assert emu.wait_until(lambda: emu.sink("webhook/fal"))
    request_id, status = client.parse_webhook(emu.sink("webhook/fal")[0]["body"], {})
    assert (request_id, status.phase) == (submission.task_id, "succeeded")


@pytest.mark.parametrize("body", [b"nope", b"{}", json.dumps({"request_id": "r", "status": "MAYBE"}).encode()])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


def test_lost_submits_cannot_be_looked_up(client):
    assert run(lambda http: client.lookup(http, "job-1")) is None
