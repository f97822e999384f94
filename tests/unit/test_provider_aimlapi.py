"""AI/ML API client: payload mapping, base URLs, percent-encoded ids, statuses, reported charges, errors."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from kling_lab.providers.aimlapi import AimlapiClient, build_payload, host_charge, parse_generation
from kling_lab.providers.base import HostCharge, HostError, HostProtocolError, Submission
from kling_lab.providers.frames import frame_data_uri
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
def client(emu) -> AimlapiClient:
    return client_for(emu, "aimlapi")


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_has_model_integer_duration_audio_and_cfg_scale():
    payload = build_payload(text_request(cfg_scale=0.3, negative_prompt="blur", aspect_ratio="9:16", audio=False))
    assert payload == {
        "model": "klingai/video-v2-6-pro-text-to-video",
        "prompt": "A red fox trotting through fresh snow at dawn",
        "duration": 5,
        "generate_audio": False,
        "negative_prompt": "blur",
        "aspect_ratio": "9:16",
        "cfg_scale": 0.3,
    }


def test_image_to_video_payload_has_image_url_and_no_aspect_ratio_or_cfg_scale(store):
    request = text_request(start_frame=store.add(make_png()), cfg_scale=0.3, duration=10, audio=True)
    payload = build_payload(request, image="data:image/png;base64,AAAA")
    assert payload == {
        "model": "klingai/video-v2-6-pro-image-to-video",
        "prompt": "A red fox trotting through fresh snow at dawn",
        "duration": 10,
        "generate_audio": True,
        "image_url": "data:image/png;base64,AAAA",
    }


@pytest.mark.parametrize("field", ["end_frame", "voice_ids"])
def test_controls_aimlapi_lacks_are_refused_rather_than_silently_dropped(store, field):
    value = store.add(make_png(), "The end frame") if field == "end_frame" else ("voice-1",)
    request = text_request(start_frame=store.add(make_png(color=(5, 5, 5))), **{field: value})
    with pytest.raises(ValueError):
        build_payload(request, image="data:x")


def test_unset_cfg_scale_and_empty_negative_prompt_are_left_to_the_host():
    payload = build_payload(text_request())
    assert "cfg_scale" not in payload and "negative_prompt" not in payload


# -- status mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "phase"),
    [("queued", "queued"), ("waiting", "queued"), ("active", "running"), ("generating", "running")],
)
def test_pending_statuses_map_to_phases(client, status, phase):
    _, result = parse_generation(client.host, {"id": "g:m", "status": status, "video": None})
    assert result.phase == phase


def test_completed_reads_video_url(client):
    _, result = parse_generation(client.host, {"id": "g:m", "status": "completed", "video": {"url": "https://v.mp4"}})
    assert (result.phase, result.video_url) == ("succeeded", "https://v.mp4")


def test_completed_generation_reports_credits_used_and_their_dollar_value(client):
    body = {"id": "g:m", "status": "completed", "video": {"url": "https://v.mp4"},
            "meta": {"usage": {"credits_used": 120000}}}
    _, result = parse_generation(client.host, body)
    assert result.host_charge == HostCharge(Decimal(120000), "credits", "meta.usage.credits_used")
    assert result.actual_cost == Decimal("0.06")


def test_fractional_credits_keep_their_exact_value(client):
    body = {"id": "g:m", "status": "completed", "video": {"url": "https://v.mp4"},
            "meta": {"usage": {"credits_used": 1234.5}}}
    _, result = parse_generation(client.host, body)
    assert (result.host_charge.amount, result.actual_cost) == (Decimal("1234.5"), Decimal("0.00061725"))


@pytest.mark.parametrize("meta", [None, {}, {"usage": None}, {"usage": {"credits_used": True}},
                                  {"usage": {"credits_used": -5}}, {"usage": {"credits_used": "120000"}},
                                  {"usage": {"credits_used": float("nan")}}])
def test_a_missing_or_unreadable_charge_is_not_invented(meta):
    assert host_charge({"id": "g:m", "status": "completed", "meta": meta}) is None


def test_a_failed_generation_that_reports_a_charge_keeps_it(client):
    body = {"id": "g:m", "status": "error", "error": {"name": "E", "message": "Upstream failed"},
            "meta": {"usage": {"credits_used": 0}}}
    _, result = parse_generation(client.host, body)
    assert (result.phase, result.host_charge.amount, result.actual_cost) == ("failed", 0, 0)


def test_error_status_reports_the_error_message(client):
    body = {"id": "g:m", "status": "error", "error": {"name": "GenerationError", "message": "Upstream failed"}}
    _, result = parse_generation(client.host, body)
    assert result.error == "AI/ML API could not generate the clip: Upstream failed."


@pytest.mark.parametrize("body", [{"id": "g", "status": "mystery"}, {"id": "g", "status": "completed"}, {}])
def test_unreadable_generations_raise_protocol_errors(client, body):
    with pytest.raises(HostProtocolError):
        parse_generation(client.host, body)


# -- over HTTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/v2", "/v2/"])
def test_a_generation_completes_with_the_base_url_written_either_way(emu, store, suffix):
    client = client_for(emu, "aimlapi", KLING_LAB_AIMLAPI_BASE_URL=emu.base_url("aimlapi") + suffix)

    async def scenario(http):
        submission = await client.create(http, text_request(audio=True), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    status = run(scenario)
    assert status.phase == "succeeded" and status.video_url.startswith(emu.url)
    assert status.host_charge.amount == 120000 and status.actual_cost == Decimal("0.06")
    assert emu.creates("aimlapi")[0].path == "/aimlapi/v2/video/generations"


def test_create_posts_the_mapped_body(emu, client, store):
    request = text_request(cfg_scale=0.5, audio=True)
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("aimlapi")
    assert record.path == "/aimlapi/v2/video/generations"
    assert record.body == build_payload(request)
    assert submission.task_id.endswith(":klingai/video-v2-6-pro-text-to-video")


def test_start_frame_travels_as_a_data_uri(emu, client, store):
    png = make_png()
    run(lambda http: client.create(http, text_request(start_frame=store.add(png)), job_id="j", frames=store))
    assert emu.creates("aimlapi")[0].body["image_url"] == frame_data_uri("image/png", png)


def test_status_percent_encodes_the_generation_id(emu, client, store):
    targets: list[bytes] = []

    async def scenario(http):
        http.event_hooks["request"] = [lambda request: _remember(targets, request)]
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return submission, await poll_until_final(client, http, submission)

    submission, status = run(scenario)
    assert status.phase == "succeeded"
    poll_target = next(t for t in targets if b"generation_id=" in t)
    assert b":" not in poll_target.split(b"generation_id=")[1]
    assert b"%3A" in poll_target and b"%2F" in poll_target
    assert emu.stats()["status_calls"][submission.task_id] >= 1


async def _remember(targets: list[bytes], request: httpx.Request) -> None:
    targets.append(request.url.raw_path)


def test_queued_then_running(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        return first, await client.status(http, submission)

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_failed_and_policy_generations_report_sentences(emu, client, store):
    async def scenario(http):
        results = []
        for prompt in ("[emu:fail=Render failed] fox", "[emu:policy] fox"):
            submission = await client.create(http, text_request(prompt), job_id=prompt, frames=store)
            results.append(await poll_until_final(client, http, submission))
        return results

    failed, refused = run(scenario)
    assert failed.error == "AI/ML API could not generate the clip: Render failed."
    assert "under its content policy" in refused.error


def test_a_wrong_key_is_an_auth_error_without_the_key(emu, store):
    client = client_for(emu, "aimlapi", AIMLAPI_API_KEY="aiml-wrong-key-000111")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == "AI/ML API rejected the API key. Check AIMLAPI_API_KEY in Settings."
    assert_no_secrets(caught.value, emu, ["aiml-wrong-key-000111"])


def test_validation_errors_quote_the_host_message(emu, client, store):
    emu.add_fault("http", host="aimlapi", op="create", status=400, message="duration: must be 5 or 10")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "duration: must be 5 or 10" in caught.value.message


def test_an_empty_balance_answered_with_403_reads_as_out_of_credits(emu, client, store):
    emu.add_fault("http", host="aimlapi", op="create", status=403)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.status_code) == ("credits", 403)
    assert "out of credits" in caught.value.message


def test_a_403_about_something_else_stays_an_access_refusal(emu, client, store):
    emu.add_fault("http", host="aimlapi", op="create", status=403, message="This model is not available to you")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "auth"


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_map_to_host_errors(emu, client, store, case):
    emu.add_fault("http", host="aimlapi", op="create", **fault_options(case))
    emu.add_fault("http", host="aimlapi", op="status", **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == (
        case.kind, case.retry_safe, case.expected_retry_after)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.status(http, Submission("x:y")))
    assert caught.value.kind == case.kind
    assert_no_secrets(caught.value, emu)


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_create_answers_raise_protocol_errors(emu, client, store, kind):
    emu.add_fault(kind, host="aimlapi", op="create")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))


def test_a_timeout_before_processing_creates_nothing(emu, client, store):
    emu.add_fault("timeout", host="aimlapi", op="create", hang_seconds=2)
    with pytest.raises(httpx.TimeoutException):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store), timeout=0.3)
    assert emu.stats()["accepted_creates"] == {}


def test_no_cancel_and_no_lookup(client):
    assert run(lambda http: client.cancel(http, Submission("x"))) is False
    assert run(lambda http: client.lookup(http, "job-1-0-1")) is None


def test_a_callback_is_at_most_a_wake_up_because_nothing_is_signed(client):
    body = json.dumps({"id": "g:m", "status": "completed", "video": {"url": "https://evil.example/v.mp4"}})
    news = client.parse_webhook(body.encode(), {"Authorization": "Bearer anything"})
    assert (news.task_id, news.status, news.verified) == ("g:m", None, False)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"status": "completed"}', b'{"id": "g", "status": "?"}'])
def test_bodies_that_are_not_generations_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None
