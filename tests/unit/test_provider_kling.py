"""Official Kling API client: PyJWT token, payload mapping, per-attempt external_task_id, codes, charge."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import httpx
import jwt
import pytest

from kling_lab.capabilities import normalize_base_url
from kling_lab.providers.base import HostCharge, HostError, HostProtocolError, Submission, WebhookNews
from kling_lab.providers.kling import KlingClient, build_payload, kling_code_error, parse_task
from kling_lab.providers.kling_jwt import KlingToken, sign_jwt
from kling_lab.providers.registry import host_config
from tests.emulator.testing import (
    GENERIC_FAULT_CASES,
    assert_no_secrets,
    fault_options,
    make_png,
    poll_until_final,
    run,
    settings_for,
    text_request,
)

pytestmark = pytest.mark.usefixtures("fresh")


def make_client(emu, clock=None, **env) -> KlingClient:
    config = host_config("kling", settings_for(emu, **env))
    return KlingClient(config, clock=clock) if clock else KlingClient(config)


@pytest.fixture
def client(emu) -> KlingClient:
    return make_client(emu)


TEST_SECRET = "secret-1-long-enough-for-pyjwt-0123"  # noqa: S105 - a test value of HS256's 32-byte minimum


def _claims_at(token: str, now: float, secret: str = TEST_SECRET) -> dict:
    """The claims PyJWT reads from `token` with `secret`, and a check that `now` lies in nbf..exp."""
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer="access-1",
                        options={"require": ["iss", "exp", "nbf"], "verify_exp": False, "verify_nbf": False})
    assert claims["nbf"] <= now < claims["exp"]
    return claims


# -- JWT ----------------------------------------------------------------------------------------


def test_pyjwt_decodes_our_token_with_the_secret_and_finds_iss_exp_and_nbf():
    token = sign_jwt("access-1", TEST_SECRET, now=1_700_000_000.7)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert _claims_at(token, 1_700_000_000) == {"iss": "access-1", "exp": 1_700_001_800, "nbf": 1_699_999_995}


def test_a_token_made_now_passes_pyjwts_own_clock_checks():
    token = sign_jwt("access-1", TEST_SECRET, now=time.time())
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"], issuer="access-1",
                        options={"require": ["iss", "exp", "nbf"]})
    assert claims["exp"] - claims["nbf"] == 1805


def test_pyjwt_refuses_our_token_under_another_secret():
    token = sign_jwt("access-1", TEST_SECRET, now=time.time())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, TEST_SECRET + "x", algorithms=["HS256"])


def test_a_short_secret_signs_without_a_warning(recwarn):
    sign_jwt("access-1", "short", now=1_700_000_000)
    assert not [w for w in recwarn if "HMAC key" in str(w.message)]


def test_token_is_cached_and_refreshed_five_minutes_before_expiry():
    now = [1_700_000_000.0]
    token = KlingToken("access-1", TEST_SECRET, clock=lambda: now[0])
    first = token.get()
    now[0] += 1800 - 301
    assert token.get() == first
    now[0] += 2
    second = token.get()
    assert second != first
    assert _claims_at(second, now[0])["exp"] == int(now[0]) + 1800


def test_token_repr_hides_the_keys():
    assert "secret" not in repr(KlingToken("access-1", "secret-1"))


def test_requests_carry_a_bearer_jwt_the_host_accepts(emu, client, store):
    run(lambda http: client.create(http, text_request(), job_id="job-jwt", frames=store))
    header = emu.creates("kling")[0].headers["authorization"]
    scheme, token = header.split(" ")
    assert scheme == "Bearer" and token.count(".") == 2


def test_an_expired_token_is_an_auth_error_that_mentions_the_clock(emu, store):
    client = make_client(emu, clock=lambda: 1_000_000_000.0)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "auth" and caught.value.host_code == "1004"
    assert "clock" in caught.value.message
    assert_no_secrets(caught.value, emu)


def test_a_wrong_secret_is_an_auth_error_without_any_key(emu, store):
    client = make_client(emu, KLING_SECRET_KEY="wrong-secret-key-0000")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.message == (
        "Kling official API rejected the API key. Check KLING_ACCESS_KEY and KLING_SECRET_KEY in Settings."
    )
    assert_no_secrets(caught.value, emu, ["wrong-secret-key-0000"])


def test_missing_keys_fail_before_any_request(emu, store):
    client = make_client(emu, KLING_SECRET_KEY="")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert caught.value.kind == "auth" and emu.stats()["requests"] == {}


# -- payload mapping ----------------------------------------------------------------------------


def test_text_to_video_payload_sends_model_mode_sound_string_duration_and_external_id():
    payload = build_payload(
        text_request(mode="std", duration=10, aspect_ratio="1:1", negative_prompt="blur", cfg_scale=0.5),
        external_task_id="job-42",
    )
    assert payload == {
        "model_name": "kling-v2-6",
        "prompt": "A red fox trotting through fresh snow at dawn",
        "mode": "std",
        "sound": "off",
        "duration": "10",
        "external_task_id": "job-42",
        "negative_prompt": "blur",
        "aspect_ratio": "1:1",
    }


def test_image_to_video_payload_sends_raw_base64_frames_voices_and_callback(store):
    request = text_request(start_frame=store.add(make_png()), audio=True, voice_ids=("v1", "v2"))
    payload = build_payload(request, external_task_id="job-7", image="AAAA",
                            callback_url="https://app/webhook/kling")
    assert payload["image"] == "AAAA" and "aspect_ratio" not in payload
    assert payload["sound"] == "on"
    assert payload["voice_list"] == [{"voice_id": "v1"}, {"voice_id": "v2"}]
    assert payload["callback_url"] == "https://app/webhook/kling"


def test_frames_reach_the_host_as_raw_base64_without_a_data_prefix(emu, client, store):
    start, end = make_png(), make_png(color=(9, 9, 9))
    request = text_request(start_frame=store.add(start), end_frame=store.add(end, "The end frame"))
    submission = run(lambda http: client.create(http, request, job_id="job-frames", frames=store))
    [record] = emu.creates("kling")
    assert record.path == "/kling/v1/videos/image2video"
    assert record.body["image"] == base64.b64encode(start).decode()
    assert record.body["image_tail"] == base64.b64encode(end).decode()
    assert dict(submission.extra) == {"kind": "image2video"}


# -- states, codes, cost ------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "phase"), [("submitted", "queued"), ("processing", "running")])
def test_pending_task_statuses_map_to_phases(client, status, phase):
    _, result = parse_task(client.host, {"task_id": "1", "task_status": status})
    assert result.phase == phase


def test_succeeded_task_reports_the_video_and_the_units_charged_in_dollars(client):
    data = {"task_id": "1", "task_status": "succeed", "final_unit_deduction": "2.5",
            "task_result": {"videos": [{"url": "https://k/out.mp4"}]}}
    _, result = parse_task(client.host, data)
    assert (result.phase, result.video_url, result.actual_cost) == ("succeeded", "https://k/out.mp4", Decimal("0.350"))
    assert result.host_charge == HostCharge(Decimal("2.5"), "units", "final_unit_deduction")


@pytest.mark.parametrize("value", [None, "", "many", True, "-1", "NaN"])
def test_a_missing_or_unreadable_unit_deduction_is_no_charge_and_no_cost(client, value):
    data = {"task_id": "1", "task_status": "processing"}
    if value is not None:
        data["final_unit_deduction"] = value
    _, result = parse_task(client.host, data)
    assert (result.host_charge, result.actual_cost) == (None, None)


def test_failed_task_reports_task_status_msg(client):
    _, result = parse_task(client.host, {"task_id": "1", "task_status": "failed", "task_status_msg": "Render error"})
    assert result.error == "Kling official API could not generate the clip: Render error."


@pytest.mark.parametrize("data", [{"task_id": "1", "task_status": "odd"}, {"task_id": "1", "task_status": "succeed"}])
def test_unreadable_tasks_raise_protocol_errors(client, data):
    with pytest.raises(HostProtocolError):
        parse_task(client.host, data)


@pytest.mark.parametrize(
    ("code", "kind", "retry_safe"),
    [
        (1000, "auth", False), (1001, "auth", False), (1002, "auth", False), (1003, "auth", False),
        (1004, "auth", False), (1100, "unavailable", False), (1101, "credits", False), (1102, "credits", False),
        (1103, "auth", False), (1200, "invalid", False), (1201, "invalid", False), (1202, "not_found", False),
        (1203, "not_found", False), (1300, "content_policy", False), (1301, "content_policy", False),
        (1302, "rate_limited", True), (1303, "rate_limited", True), (1304, "unavailable", False),
        (5000, "server", False), (5001, "maintenance", True), (5002, "server", False),
    ],
)
def test_every_documented_error_code_maps_to_a_kind(client, code, kind, retry_safe):
    error = kling_code_error(client.host, code, "message from Kling", status_code=400)
    assert (error.kind, error.retry_safe, error.host_code) == (kind, retry_safe, str(code))


def test_resource_pack_depleted_tells_the_user_to_buy_a_pack(client):
    assert "Buy a new pack" in kling_code_error(client.host, 1102, None, status_code=429).message


# -- over HTTP ----------------------------------------------------------------------------------


def test_a_task_runs_to_success_with_its_real_cost(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request(audio=True), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    status = run(scenario)
    assert status.phase == "succeeded"
    assert status.actual_cost == Decimal("5") * Decimal("0.14")
    assert status.host_charge == HostCharge(Decimal("5"), "units", "final_unit_deduction")


def test_queued_then_running(emu, client, store):
    emu.configure(latency=60)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        first = await client.status(http, submission)
        emu.force_phase(submission.task_id, "running")
        return first, await client.status(http, submission)

    first, second = run(scenario)
    assert (first.phase, second.phase) == ("queued", "running")


def test_the_create_key_is_sent_as_external_task_id(emu, client, store):
    run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store, create_key="job-1-0-1"))
    assert emu.creates("kling")[0].body["external_task_id"] == "job-1-0-1"


def test_without_a_create_key_the_job_id_is_the_external_task_id(emu, client, store):
    run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert emu.creates("kling")[0].body["external_task_id"] == "job-1"


def test_two_attempts_of_one_job_with_different_create_keys_are_both_accepted(emu, client, store):
    async def scenario(http):
        first = await client.create(http, text_request(), job_id="job-r", frames=store, create_key="job-r-0-1")
        second = await client.create(http, text_request(), job_id="job-r", frames=store, create_key="job-r-1-1")
        return first, second

    first, second = run(scenario)
    assert first.task_id != second.task_id
    assert emu.stats()["creates_by_job"] == {"job-r-0-1": 1, "job-r-1-1": 1}


def test_a_reused_create_key_is_refused_as_a_duplicate_and_not_paid_twice(emu, client, store):
    run(lambda http: client.create(http, text_request(), job_id="job-dup", frames=store, create_key="job-dup-0-1"))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-dup", frames=store,
                                       create_key="job-dup-0-1"))
    assert (caught.value.kind, caught.value.host_code, caught.value.retry_safe) == ("invalid", "1201", False)
    assert "already exists" in caught.value.message
    assert emu.stats()["creates_by_job"] == {"job-dup-0-1": 1}


def test_a_lost_create_is_found_by_its_create_key(emu, client, store):
    emu.add_fault("reset_after", host="kling", op="create")
    request = text_request(start_frame=store.add(make_png()))
    with pytest.raises(httpx.TransportError):
        run(lambda http: client.create(http, request, job_id="job-lost", frames=store, create_key="job-lost-0-1"))
    found = run(lambda http: client.lookup(http, "job-lost-0-1"))
    [task] = emu.tasks("kling")
    assert found == Submission(task_id=task["task_id"], extra={"kind": "image2video"})
    assert emu.stats()["lookup_calls"] == {"job-lost-0-1": 2}
    assert run(lambda http: client.lookup(http, "job-lost-0-2")) is None


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_the_base_url_works_written_as_the_root_or_with_v1(emu, store, suffix):
    written = emu.base_url("kling") + suffix
    assert normalize_base_url("kling", written) == emu.base_url("kling")
    client = make_client(emu, KLING_LAB_KLING_BASE_URL=written)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=store)
        return await poll_until_final(client, http, submission)

    assert run(scenario).phase == "succeeded"
    assert emu.creates("kling")[0].path == "/kling/v1/videos/text2video"


def test_lookup_of_a_job_never_created_is_none(emu, client):
    assert run(lambda http: client.lookup(http, "job-never")) is None


def test_status_without_a_recorded_kind_tries_both_endpoints(emu, client, store):
    request = text_request(start_frame=store.add(make_png()))

    async def scenario(http):
        submission = await client.create(http, request, job_id="job-kind", frames=store)
        return await client.status(http, Submission(submission.task_id))

    assert run(scenario).phase == "succeeded"


def test_policy_prompt_is_refused_at_create_with_code_1301(emu, client, store):
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request("[emu:policy] fox"), job_id="job-p", frames=store))
    assert (caught.value.kind, caught.value.host_code) == ("content_policy", "1301")
    assert caught.value.message.endswith("Change the prompt or image.")
    assert emu.stats()["accepted_creates"] == {}


def test_a_failed_task_reports_its_reason_and_no_charge(emu, client, store):
    async def scenario(http):
        submission = await client.create(http, text_request("[emu:fail=Busy GPU] fox"), job_id="j", frames=store)
        return await poll_until_final(client, http, submission)

    status = run(scenario)
    assert status.error == "Kling official API could not generate the clip: Busy GPU."
    assert status.actual_cost == Decimal("0")
    assert status.host_charge == HostCharge(Decimal("0"), "units", "final_unit_deduction")


@pytest.mark.parametrize(
    ("status", "code", "kind", "retry_safe"),
    [
        (429, 1102, "credits", False),
        (429, 1101, "credits", False),
        (429, 1302, "rate_limited", True),
        (429, 1303, "rate_limited", True),
        (400, 1300, "content_policy", False),
        (503, 5001, "maintenance", True),
    ],
)
def test_host_codes_over_http_map_to_kinds(emu, client, store, status, code, kind, retry_safe):
    emu.add_fault("http", host="kling", op="create", status=status, code=code, retry_after="2")
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.host_code) == (kind, retry_safe, str(code))
    if retry_safe:
        assert caught.value.retry_after == 2.0


@pytest.mark.parametrize("case", GENERIC_FAULT_CASES, ids=lambda c: c.id)
def test_http_faults_map_to_host_errors(emu, client, store, case):
    emu.add_fault("http", host="kling", op="create", **fault_options(case))
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))
    assert (caught.value.kind, caught.value.retry_safe, caught.value.retry_after) == (
        case.kind, case.retry_safe, case.expected_retry_after)
    assert_no_secrets(caught.value, emu)


def test_invalid_parameters_quote_the_hosts_message(emu, client, store):
    request = text_request(mode="std", audio=True)
    with pytest.raises(HostError) as caught:
        run(lambda http: client.create(http, request, job_id="job-1", frames=store))
    assert caught.value.kind == "invalid" and "sound is only supported in pro mode" in caught.value.message


@pytest.mark.parametrize("kind", ["malformed_json", "wrong_content_type", "html"])
def test_unreadable_answers_raise_protocol_errors(emu, client, store, kind):
    emu.add_fault(kind, host="kling", op="create")
    with pytest.raises(HostProtocolError):
        run(lambda http: client.create(http, text_request(), job_id="job-1", frames=store))


def test_callback_url_is_sent_and_the_unsigned_callback_is_only_a_wake_up(emu, store):
    client = make_client(emu, KLING_LAB_PUBLIC_URL=f"{emu.url}/_emulator/sink")
    submission = run(lambda http: client.create(http, text_request(), job_id="job-cb", frames=store))
    assert emu.creates("kling")[0].body["callback_url"] == f"{emu.url}/_emulator/sink/webhook/kling"
    assert emu.wait_until(lambda: emu.sink("webhook/kling"))
    [delivery] = emu.sink("webhook/kling")
    news = client.parse_webhook(delivery["body"], delivery["headers"])
    assert news == WebhookNews(submission.task_id) and not news.verified


def test_a_callback_claiming_success_with_any_video_changes_nothing_by_itself(client):
    body = json.dumps({"task_id": "9", "task_status": "succeed", "final_unit_deduction": "0",
                       "task_result": {"videos": [{"url": "http://127.0.0.1:9/evil.mp4"}]}}).encode()
    assert client.parse_webhook(body, {"X-Signature": "anything"}) == WebhookNews("9")


def test_a_callback_wrapped_under_data_names_its_task(client):
    wrapped = json.dumps({"code": 0, "data": {"task_id": "9", "task_status": "processing"}}).encode()
    assert client.parse_webhook(wrapped, {}) == WebhookNews("9")


@pytest.mark.parametrize(
    "body",
    [b"{}", b"garbage", b"[]", json.dumps({"task_id": "9"}).encode(),
     json.dumps({"task_id": "", "task_status": "succeed"}).encode(),
     json.dumps({"task_id": 9, "task_status": "succeed"}).encode(),
     json.dumps({"task_id": "9", "task_status": "exploded"}).encode()],
)
def test_bodies_that_are_not_kling_task_objects_are_ignored(client, body):
    assert client.parse_webhook(body, {}) is None


def test_the_official_api_has_no_cancel(client):
    assert run(lambda http: client.cancel(http, Submission("1"))) is False
