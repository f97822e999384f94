"""inference.sh client: payload mapping, status by number or name, output shapes, envelopes, errors, cancel."""

from __future__ import annotations

import json

import httpx
import pytest

from kling_lab.providers.base import HostError, HostProtocolError, Submission
from kling_lab.providers.http_errors import frame_data_uri
from kling_lab.providers.inference import InferenceClient, build_payload, parse_task, status_phase
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
def client(emu) -> InferenceClient:
    return client_for(emu, "inference")


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_wraps_the_input_for_the_app():
    payload = build_payload(text_request(duration=10, audio=True, aspect_ratio="9:16"), callback_url="https://a/h")
    assert payload == {
        "app": "klingai/video-v2-6",
        "input": {
            "prompt": "A red fox trotting through fresh snow at dawn",
            "duration": 10,
            "sound": True,
            "mode": "pro",
            "aspect_ratio": "9:16",
        },
        "webhook": "https://a/h",
    }


def test_image_to_video_payload_sends_frames_and_no_aspect_ratio(store):
    request = text_request(start_frame=store.add(make_png()), end_frame=store.add(make_png(color=(1, 1, 1))))
    payload = build_payload(request, image="data:s", end_image="data:e")
    assert payload["input"]["image"] == "data:s" and payload["input"]["end_image"] == "data:e"
    assert "aspect_ratio" not in payload["input"]


def test_unverified_fields_are_never_sent():
    payload = build_payload(text_request(negative_prompt="blur", cfg_scale=0.5, voice_ids=(" ",)))
    assert set(payload["input"]) == {"prompt", "duration", "sound", "mode", "aspect_ratio"}


def test_voice_ids_are_refused_rather_than_silently_dropped():
    with pytest.raises(ValueError):
        build_payload(text_request(voice_ids=("voice-1",)))


# -- status mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (0, "queued"), (1, "queued"), (2, "queued"), (3, "queued"), (4, "running"), (5, "running"),
        (6, "running"), (7, "running"), (8, "running"), (9, "running"), (10, "succeeded"), (11, "failed"),
        (12, "canceled"), ("10", "succeeded"), ("received", "queued"), ("queued", "queued"),
        ("running", "running"), ("uploading", "running"), ("completed", "succeeded"), ("failed", "failed"),
        ("cancelled", "canceled"), ("canceled", "canceled"), ("COMPLETED", "succeeded"),
    ],
)
def test_statuses_by_number_and_by_name_map_to_phases(client, status, phase):
    assert status_phase(client.host, status) == phase


@pytest.mark.parametrize("status", [13, -1, "exploded", None, True])
def test_unknown_statuses_raise_protocol_errors(client, status):
    with pytest.raises(HostProtocolError):
        status_phase(client.host, status)


@pytest.mark.parametrize(
    "output",
    [
        {"video": {"uri": "https://x/v.mp4", "content_type": "video/mp4"}},
        {"video": "https://x/v.mp4"},
        {"video": [{"uri": "https://x/v.mp4"}]},
    ],
)
def test_completed_output_video_may_be_an_object_or_a_string(client, output):
    _, status = parse_task(client.host, {"id": "t", "status": 10, "output": output})
    assert status.video_url == "https://x/v.mp4"


def test_failed_task_reports_its_error(client):
    _, status = parse_task(client.host, {"id": "t", "status": "failed", "error": "Upstream 500"})
    assert status.error == "inference.sh could not generate the clip: Upstream 500."


# -- over HTTP ----------------------------------------------------------------------------------


def test_run_sends_api_version_2_and_the_mapped_body(emu, client, store):
    request = text_request()
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("inference")
    assert record.path == "/inference/apps/run"
    assert record.headers["x-api-version"] == "2"
    assert record.headers["authorization"] == f"Bearer {emu.keys['INFERENCE_API_KEY']}"
    assert record.body == build_payload(request)
    assert record.task_id == submission.task_id


def test_frames_travel_as_data_uris(emu, client, store):
    start = make_png()
    run(lambda http: client.create(http, text_request(start_frame=store.add(start)), job_id="j", frames=store))
    assert emu.creates("inference")[0].body["input"]["image"] == frame_data_uri("image/png", start)


@pytest.mark.parametrize(
    ("style", "as_string"), [("number", False), ("name", False), ("number", True)],
    ids=["numbers-object", "names-object", "numbers-string"],
)
def test_a_task_runs_to_success_whatever_status_and_output_style(emu, client, store, style, as_string):
    emu.configure(inference_status_style=style, inference_video_as_string=as_string)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    status = run(scenario)
    assert status.phase == "succeeded" and status.video_url.startswith(emu.url)


def test_a_v1_envelope_is_unwrapped(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        answer = await http.get(f"{emu.base_url('inference')}/tasks/{submission.task_id}",
                                headers={"Authorization": f"Bearer {emu.keys['INFERENCE_API_KEY']}"})
        return answer.json()

    envelope = run(scenario)
    assert envelope["success"] is True
    assert parse_task(client.host, envelope["data"])[1].phase == "succeeded"
    assert client.parse_webhook(json.dumps(envelope).encode(), {})[1].phase == "succeeded"


def test_queued_then_running(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        return first, await client.status(http, submission)

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_failed_and_policy_tasks_report_sentences(emu, client, store):
    async def scenario(http):
        results = []
        for prompt in ("[emu:fail=Worker lost] fox", "[emu:policy] fox"):
            submission = await client.create(http, text_request(prompt), job_id=prompt, frames=store)
            results.append(await poll_until_final(client, http, submission))
        return results

    failed, refused = run(scenario)
    assert failed.error == "inference.sh could not generate the clip: Worker lost."
    assert "under its content policy" in refused.error


def test_cancel_cancels_a_running_task(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await client.cancel(http, submission), await client.status(http, submission)

    accepted, status = run(scenario)
    assert accepted is True and status.phase == "canceled"


def test_a_wrong_key_is_an_auth_error_without_the_key(emu, store):
    client = client_for(emu, "inference", INFERENCE_API_KEY="inf_wrong_key_7777")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == "inference.sh rejected the API key. Check INFERENCE_API_KEY in Settings."
    assert_no_secrets(caught.value, emu, ["inf_wrong_key_7777"])


def test_validation_errors_quote_the_host_message(emu, client, store):
    emu.add_fault("http", host="inference", op="create", status=422, message="input.duration: must be 5 or 10")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "input.duration: must be 5 or 10" in caught.value.message


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_map_to_host_errors(emu, client, store, case):
    for op in ("create", "status", "cancel"):
        emu.add_fault("http", host="inference", op=op, **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == (
        case.kind, case.retry_safe, case.expected_retry_after)
    for call in (client.status, client.cancel):
        with pytest.raises(HostError) as caught:
            run(lambda http, call=call: call(http, Submission("tsk_x")))
        assert caught.value.kind == case.kind
        assert_no_secrets(caught.value, emu)


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_answers_raise_protocol_errors(emu, client, store, kind):
    emu.add_fault(kind, host="inference", op="create")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))


@pytest.mark.parametrize(("kind", "accepted"), [("reset_before", {}), ("reset_after", {"inference": 1})])
def test_connection_resets_propagate(emu, client, store, kind, accepted):
    emu.add_fault(kind, host="inference", op="create")
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.stats()["accepted_creates"] == accepted


def test_webhook_is_sent_and_parses(emu, store):
    client = client_for(emu, "inference", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.creates("inference")[0].body["webhook"] == f"{emu.url}/_emulator/sink/webhook/inference"
    assert emu.wait_until(lambda: emu.sink("webhook/inference"))
    task_id, status = client.parse_webhook(emu.sink("webhook/inference")[0]["body"], {})
    assert (task_id, status.phase) == (submission.task_id, "succeeded")


@pytest.mark.parametrize("body", [b"x", b"[]", b'{"id": "t", "status": 99}'])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


def test_lost_runs_cannot_be_looked_up(client):
    assert run(lambda http: client.lookup(http, "job-1")) is None
