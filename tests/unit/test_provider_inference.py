"""inference.sh client: payload mapping, the SDK's statuses and envelope, frame uploads, errors, cancel, callbacks."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from kling_lab.config import load_settings
from kling_lab.providers.base import HostError, HostProtocolError, Submission, WebhookNews
from kling_lab.providers.inference import (
    STATUS_NAMES,
    InferenceClient,
    build_payload,
    file_request,
    parse_task,
    status_phase,
)
from kling_lab.providers.registry import host_config
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


def recorded_run(scenario, log: list[httpx.Request]):
    """Like `run`, with every request the client sends appended to `log`."""

    async def record(request: httpx.Request) -> None:
        log.append(request)

    async def main():
        async with httpx.AsyncClient(timeout=5.0, event_hooks={"request": [record]}) as http:
            return await scenario(http)

    return asyncio.run(main())


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


def test_image_to_video_payload_sends_file_uris_and_no_aspect_ratio(store):
    request = text_request(start_frame=store.add(make_png()), end_frame=store.add(make_png(color=(1, 1, 1))))
    payload = build_payload(request, image="https://cdn/s.png", end_image="https://cdn/e.png")
    assert payload["input"]["image"] == "https://cdn/s.png" and payload["input"]["end_image"] == "https://cdn/e.png"
    assert "aspect_ratio" not in payload["input"]


def test_unverified_fields_are_never_sent():
    payload = build_payload(text_request(negative_prompt="blur", cfg_scale=0.5, voice_ids=(" ",)))
    assert set(payload["input"]) == {"prompt", "duration", "sound", "mode", "aspect_ratio"}


def test_voice_ids_are_refused_rather_than_silently_dropped():
    with pytest.raises(ValueError):
        build_payload(text_request(voice_ids=("voice-1",)))


def test_file_request_describes_one_file_as_the_sdk_does():
    assert file_request("image/png", 1234, "a.png") == {"files": [
        {"uri": "", "filename": "a.png", "content_type": "image/png", "path": None, "size": 1234, "public": None}
    ]}


# -- status mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (0, "queued"), (1, "queued"), (2, "queued"), (3, "queued"), (4, "running"), (5, "running"),
        (6, "running"), (7, "running"), (8, "running"), (9, "running"), (10, "succeeded"), (11, "failed"),
        (12, "canceled"), (13, "failed"),
        ("unknown", "queued"), ("received", "queued"), ("dispatched", "queued"), ("setting_up", "running"),
        ("uploading", "running"), ("completed", "succeeded"), ("failed", "failed"), ("cancelled", "canceled"),
        ("rejected", "failed"), ("COMPLETED", "succeeded"),
    ],
)
def test_sdk_statuses_by_number_and_by_name_map_to_phases(client, status, phase):
    assert status_phase(client.host, status) == phase


def test_every_sdk_status_number_has_a_name():
    assert sorted(STATUS_NAMES) == list(range(14))


@pytest.mark.parametrize("status", [14, -1, "10", "exploded", "canceled", None, True])
def test_statuses_the_sdk_does_not_know_raise_protocol_errors(client, status):
    with pytest.raises(HostProtocolError):
        status_phase(client.host, status)


def test_a_rejected_task_fails_with_the_hosts_reason(client):
    _, status = parse_task(client.host, {"id": "t", "status": 13, "error": "insufficient balance"})
    assert status.phase == "failed"
    assert status.error == (
        "inference.sh refused to run the clip: insufficient balance. Nothing was generated. Add credits or a "
        "payment method to your inference.sh account, then press Retry."
    )


@pytest.mark.parametrize(
    "output",
    [
        {"video": {"uri": "https://x/v.mp4", "content_type": "video/mp4"}},
        {"video": "https://x/v.mp4"},
        {"video": [{"uri": "https://x/v.mp4"}]},
        {"result": {"uri": "https://x/v.mp4", "content_type": "video/mp4"}},
    ],
    ids=["object", "string", "list", "other-key"],
)
def test_completed_output_video_is_found_in_each_shape(client, output):
    _, status = parse_task(client.host, {"id": "t", "status": 10, "output": output})
    assert status.video_url == "https://x/v.mp4"


def test_a_completed_task_without_a_video_is_a_protocol_error(client):
    with pytest.raises(HostProtocolError):
        parse_task(client.host, {"id": "t", "status": 10, "output": {"image": {"uri": "https://x/i.png"}}})


def test_failed_task_reports_its_error(client):
    _, status = parse_task(client.host, {"id": "t", "status": "failed", "error": "Upstream 500"})
    assert status.error == "inference.sh could not generate the clip: Upstream 500."


def test_the_task_object_reports_no_charge(client):
    _, status = parse_task(client.host, {"id": "t", "status": 10, "output": {"video": "https://x/v.mp4"},
                                         "usage_events": [{"quantity": 5, "unit": "second"}]})
    assert (status.actual_cost, status.host_charge) == (None, None)


# -- over HTTP ----------------------------------------------------------------------------------


def test_run_sends_only_the_sdks_headers_and_the_mapped_body(emu, client, store):
    request = text_request()
    submission = run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    [record] = emu.creates("inference")
    assert record.path == "/inference/apps/run"
    assert "x-api-version" not in record.headers
    assert record.headers["authorization"] == f"Bearer {emu.keys['INFERENCE_API_KEY']}"
    assert record.headers["content-type"] == "application/json"
    assert record.body == build_payload(request)
    assert record.task_id == submission.task_id


def test_the_run_answers_envelope_is_unwrapped(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        answer = await http.get(f"{emu.base_url('inference')}/tasks/{submission.task_id}",
                                headers={"Authorization": f"Bearer {emu.keys['INFERENCE_API_KEY']}"})
        return submission, answer.json(), await client.status(http, submission)

    submission, body, status = run(scenario)
    assert set(body) == {"data", "messages"} and body["data"]["id"] == submission.task_id
    assert (status.phase, status.video_url) == ("succeeded", body["data"]["output"]["video"]["uri"])


def test_a_bare_task_answer_is_read_as_the_sdk_reads_it(client):
    response = httpx.Response(200, json={"id": "t", "status": 7}, request=httpx.Request("GET", "https://x/tasks/t"))
    assert client._read(response) == {"id": "t", "status": 7}


def test_a_start_frame_is_uploaded_and_its_uri_sent(emu, client, store):
    start = make_png()
    log: list[httpx.Request] = []
    request = text_request(start_frame=store.add(start))
    recorded_run(lambda http: client.create(http, request, job_id="j", frames=store), log)
    post_file, put, post_run = log
    assert (post_file.method, post_file.url.path) == ("POST", "/inference/files")
    assert json.loads(post_file.content)["files"][0]["size"] == len(start)
    assert put.method == "PUT" and put.content == start and put.headers["content-type"] == "image/png"
    assert (post_run.method, post_run.url.path) == ("POST", "/inference/apps/run")
    image = emu.creates("inference")[0].body["input"]["image"]
    assert run(lambda http: http.get(image)).content == start


def test_the_upload_url_never_gets_our_key(emu, client, store):
    log: list[httpx.Request] = []
    request = text_request(start_frame=store.add(make_png()))
    recorded_run(lambda http: client.create(http, request, job_id="j", frames=store), log)
    [put] = [r for r in log if r.method == "PUT"]
    assert "authorization" not in put.headers


def test_start_and_end_frames_are_both_uploaded(emu, client, store):
    start, end = make_png(), make_png(color=(9, 9, 9))
    request = text_request(start_frame=store.add(start), end_frame=store.add(end))
    run(lambda http: client.create(http, request, job_id="j", frames=store))
    fields = emu.creates("inference")[0].body["input"]
    assert emu.stats()["uploads"] == {"inference": 2}
    assert run(lambda http: http.get(fields["end_image"])).content == end


def test_the_emulator_refuses_an_inline_data_uri_as_the_sdk_never_sends_one(emu, client, store):
    body = build_payload(text_request(start_frame=store.add(make_png())), image="data:image/png;base64,AAAA")
    answer = run(lambda http: http.post(f"{emu.base_url('inference')}/apps/run", json=body, headers=client._headers()))
    assert answer.status_code == 422 and "POST /files" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("fault", "kind", "retry_safe"),
    [
        ({"kind": "http", "status": 500}, "server", True),
        ({"kind": "http", "status": 502}, "server", True),
        ({"kind": "http", "status": 403, "skip": 1}, "server", True),
        ({"kind": "reset_before"}, "unavailable", True),
        ({"kind": "reset_before", "skip": 1}, "unavailable", True),
        ({"kind": "malformed_json"}, "server", False),
    ],
    ids=["files-500", "files-502", "put-403", "files-reset", "put-reset", "files-malformed"],
)
def test_a_failed_upload_is_a_refusal_and_nothing_runs(emu, client, store, fault, kind, retry_safe):
    emu.add_fault(host="inference", op="upload", **fault)
    request = text_request(start_frame=store.add(make_png()))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="j", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.status_code) == (kind, retry_safe, None)
    assert "nothing was run" in caught.value.message.lower()
    assert emu.stats()["accepted_creates"] == {}
    assert_no_secrets(caught.value, emu)


def test_a_rejected_run_fails_on_the_first_poll_with_the_hosts_reason(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request("[emu:reject=no balance left] fox"), job_id="j",
                                         frames=store)
        return await client.status(http, submission)

    status = run(scenario)
    assert status.phase == "failed" and "refused to run the clip: no balance left" in status.error
    assert emu.stats()["accepted_creates"] == {}


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


@pytest.mark.parametrize("suffix", ["", "/v1", "/v1/"], ids=["root", "v1", "v1-slash"])
def test_create_status_download_work_with_the_base_url_written_either_way(emu, store, suffix):
    env = {**emu.env(), "KLING_LAB_INFERENCE_BASE_URL": emu.base_url("inference") + suffix}
    config = host_config("inference", load_settings(environ=env, secrets={}))
    client = InferenceClient(config)
    assert config.base_url == emu.base_url("inference")

    async def scenario(http):
        request = text_request(start_frame=store.add(make_png()))
        submission = await client.create(http, request, job_id="job-1", frames=store)
        status = await poll_until_final(client, http, submission)
        return (await http.get(status.video_url)).content

    clip = run(scenario)
    assert clip[4:8] == b"ftyp"


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


def test_a_wrong_key_is_refused_before_a_frame_is_uploaded(emu, store):
    client = client_for(emu, "inference", INFERENCE_API_KEY="inf_wrong_key_7777")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(start_frame=store.add(make_png())), job_id="j",
                                       frames=store))
    assert caught.value.kind == "auth" and emu.stats()["uploads"] == {}


def test_validation_errors_quote_the_problem_detail(emu, client, store):
    emu.add_fault("http", host="inference", op="create", status=422, message="input.duration: must be 5 or 10")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "input.duration: must be 5 or 10" in caught.value.message


@pytest.mark.parametrize("code", ["payment_method_required", "payment_required"])
def test_a_payment_refusal_is_a_credits_error(emu, client, store, code):
    emu.add_fault("http", host="inference", op="create", status=402, code=code, message="add a payment method")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.host_code) == ("credits", code)


def test_requirements_not_met_names_what_is_missing(client):
    body = {"type": "https://api.inference.sh/errors/requirements_not_met", "status": 412, "detail": "x",
            "errors": [{"type": "secret", "key": "KLING_KEY", "message": "Add the secret KLING_KEY"}]}
    response = httpx.Response(412, json=body, request=httpx.Request("POST", "https://x/apps/run"))
    with pytest.raises(HostError) as caught:
        client._read(response)
    assert caught.value.kind == "invalid" and "Add the secret KLING_KEY" in caught.value.message


def test_a_legacy_success_false_answer_is_a_refusal(client):
    response = httpx.Response(200, json={"success": False, "error": {"code": "x", "message": "app is paused"}},
                              request=httpx.Request("POST", "https://x/apps/run"))
    with pytest.raises(HostError) as caught:
        client._read(response)
    assert "app is paused" in caught.value.message


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


# -- callbacks ----------------------------------------------------------------------------------


def test_the_emulated_callback_is_unsigned_and_only_wakes_the_job(emu, store):
    client = client_for(emu, "inference", KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.creates("inference")[0].body["webhook"] == f"{emu.url}/_emulator/sink/webhook/inference"
    assert emu.wait_until(lambda: emu.sink("webhook/inference"))
    [delivery] = emu.sink("webhook/inference")
    assert not any("signature" in name for name in delivery["headers"])
    assert client.parse_webhook(delivery["body"], delivery["headers"]) == WebhookNews(submission.task_id)


def test_a_callback_claiming_success_with_a_foreign_video_is_not_believed(client):
    forged = {"id": "tsk_victim", "status": 10, "output": {"video": {"uri": "https://evil.example/x.mp4"}}}
    news = client.parse_webhook(json.dumps(forged).encode(), {"X-Signature": "anything"})
    assert news == WebhookNews("tsk_victim") and news.status is None


def test_an_enveloped_callback_is_a_wake_up_too(client):
    body = {"data": {"id": "tsk_1", "status": 11, "error": "boom"}, "messages": []}
    assert client.parse_webhook(json.dumps(body).encode(), {}) == WebhookNews("tsk_1")


@pytest.mark.parametrize("body", [b"x", b"[]", b'{"id": "t", "status": 99}', b'{"status": 10}', b'{"data": 3}'])
def test_foreign_webhook_bodies_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


def test_lost_runs_cannot_be_looked_up(client):
    assert run(lambda http: client.lookup(http, "job-1")) is None
