"""AI/ML API has no official Python SDK: its published reference is the oracle for our client and the emulator.

Documents followed (repository aimlapi/api-docs, mirrored at docs.aimlapi.com):
- SPEC_T2V: docs/api-references/video-models/Kling-AI/video-v2-6-pro-text-to-video.json
- SPEC_I2V: docs/api-references/video-models/Kling-AI/video-v2-6-pro-image-to-video.json
- FETCH: docs/api-references/video-models/universal-video-fetch.json
- SAMPLE: the Python sample on the video-v2.6-pro-text-to-video page (base URL
  `https://api.aimlapi.com/v2`, poll loop waiting on waiting/active/queued/generating)
- ERRORS: docs/errors-and-messages/general-info.md and errors-with-status-code-4xx.md
- FUNDS: docs/faq/how-can-i-track-my-funds.md ("$1 USD = 2,000,000 credits")
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from kling_lab.capabilities import create_endpoint, normalize_base_url
from kling_lab.providers.aimlapi import AimlapiClient, parse_generation
from kling_lab.providers.base import HostConfig, HostError, Submission
from tests.emulator.testing import FrameStore, client_for, make_png, poll_until_final, text_request
from tests.oracle.helpers import ours

# The request properties and their OpenAPI types, as SPEC_T2V and SPEC_I2V list them.
SPEC_T2V = {"model": "string", "prompt": "string", "aspect_ratio": "string", "duration": "integer",
            "negative_prompt": "string", "cfg_scale": "number", "generate_audio": "boolean", "provider": "string"}
SPEC_I2V = {"model": "string", "prompt": "string", "image_url": "string", "duration": "integer",
            "negative_prompt": "string", "generate_audio": "boolean", "provider": "string"}
REQUIRED_T2V = {"model", "prompt"}
REQUIRED_I2V = {"model", "prompt", "image_url"}
# The answer's status enum (SPEC_T2V, FETCH) and the extra words SAMPLE's loop keeps waiting on.
STATUS_ENUM = {"queued", "generating", "completed", "error"}
SAMPLE_PENDING = {"waiting", "active", "queued", "generating"}


def sample_config() -> HostConfig:
    """A config with the base URL as SAMPLE writes it."""
    return HostConfig(normalize_base_url("aimlapi", "https://api.aimlapi.com/v2"), {"AIMLAPI_API_KEY": "k" * 12})


def openapi_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), "null")


def type_ok(value: Any, expected: str) -> bool:
    # OpenAPI's "number" includes integers.
    actual = openapi_type(value)
    return actual == expected or (expected == "number" and actual == "integer")


def assert_matches_the_spec(body: dict[str, Any], properties: dict[str, str], required: set[str]) -> None:
    assert required <= set(body), f"missing {required - set(body)}"
    assert set(body) <= set(properties), f"not in the spec: {set(body) - set(properties)}"
    for name, value in body.items():
        assert type_ok(value, properties[name]), f"{name}: {openapi_type(value)} is not {properties[name]}"


# -- base URL (SAMPLE, SPEC servers) ------------------------------------------------------------


def test_the_samples_base_url_and_the_specs_server_give_the_same_create_endpoint():
    assert normalize_base_url("aimlapi", "https://api.aimlapi.com/v2") == "https://api.aimlapi.com"
    assert create_endpoint("aimlapi", "https://api.aimlapi.com/v2") == "https://api.aimlapi.com/v2/video/generations"
    assert create_endpoint("aimlapi", "https://api.aimlapi.com") == "https://api.aimlapi.com/v2/video/generations"


@pytest.mark.parametrize("suffix", ["", "/v2"])
def test_a_generation_completes_with_either_base_url(emu, suffix):
    client = client_for(emu, "aimlapi", KLING_LAB_AIMLAPI_BASE_URL=emu.base_url("aimlapi") + suffix)

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=FrameStore())
        return await poll_until_final(client, http, submission)

    status, requests = ours(scenario)
    assert status.phase == "succeeded"
    assert {r.url.path for r in requests} == {"/aimlapi/v2/video/generations"}


# -- create bodies (SPEC_T2V, SPEC_I2V) -----------------------------------------------------------


def test_text_to_video_body_has_only_spec_fields_with_spec_types(emu):
    client = client_for(emu, "aimlapi")
    request = text_request(negative_prompt="blur", cfg_scale=0.5, duration=10, aspect_ratio="9:16", audio=True)
    _, [create] = ours(lambda http: client.create(http, request, job_id="job-1", frames=FrameStore()))
    body = json.loads(create.content)
    assert_matches_the_spec(body, SPEC_T2V, REQUIRED_T2V)
    assert (create.method, create.headers["authorization"].split(" ")[0]) == ("POST", "Bearer")
    assert (body["model"], body["duration"], body["generate_audio"]) == ("klingai/video-v2-6-pro-text-to-video", 10,
                                                                         True)


def test_image_to_video_body_has_only_spec_fields_with_spec_types(emu):
    store = FrameStore()
    client = client_for(emu, "aimlapi")
    request = text_request(start_frame=store.add(make_png()), cfg_scale=0.5, aspect_ratio="9:16")
    _, [create] = ours(lambda http: client.create(http, request, job_id="job-1", frames=store))
    body = json.loads(create.content)
    assert_matches_the_spec(body, SPEC_I2V, REQUIRED_I2V)
    assert body["image_url"].startswith("data:image/png;base64,")


def test_audio_is_always_sent_because_the_spec_defaults_it_to_true(emu):
    client = client_for(emu, "aimlapi")
    _, [create] = ours(lambda http: client.create(http, text_request(audio=False), job_id="j", frames=FrameStore()))
    assert json.loads(create.content)["generate_audio"] is False


# -- the poll (FETCH) ---------------------------------------------------------------------------


def test_the_poll_is_a_get_with_the_generation_id_percent_encoded(emu):
    client = client_for(emu, "aimlapi")

    async def scenario(http):
        submission = await client.create(http, text_request(), job_id="job-1", frames=FrameStore())
        await client.status(http, submission)
        return submission

    submission, [_, poll] = ours(scenario)
    assert poll.method == "GET" and poll.url.path == "/aimlapi/v2/video/generations"
    raw_query = poll.url.query.decode()
    assert raw_query.startswith("generation_id=") and ":" not in raw_query and "/" not in raw_query
    assert httpx.QueryParams(raw_query)["generation_id"] == submission.task_id


# -- answers (SPEC_T2V responses, FETCH) --------------------------------------------------------


def test_the_emulators_answers_follow_the_answer_schema(emu):
    client = client_for(emu, "aimlapi")
    emu.configure(latency=60)
    request = text_request(audio=True)
    submission, _ = ours(lambda http: client.create(http, request, job_id="j", frames=FrameStore()))
    task = emu.task(submission.task_id)
    answers = []
    for phase in ("queued", "running", "succeeded", "failed"):
        emu.force_phase(submission.task_id, phase)
        answers.append(emu.hosts["aimlapi"].generation(task))
    for answer in answers:
        assert {"id", "status"} <= set(answer) and answer["id"] == submission.task_id
        assert answer["status"] in STATUS_ENUM | SAMPLE_PENDING
        assert answer["video"] is None or set(answer["video"]) == {"url"}
        assert answer["error"] is None or set(answer["error"]) == {"name", "message"}
    completed = answers[2]
    assert completed["status"] == "completed"
    assert openapi_type(completed["meta"]["usage"]["credits_used"]) in ("integer", "number")


@pytest.mark.parametrize(("word", "phase"), [("queued", "queued"), ("waiting", "queued"), ("active", "running"),
                                             ("generating", "running")])
def test_every_word_the_sample_waits_on_keeps_the_job_pending(word, phase):
    client = AimlapiClient(sample_config())
    assert parse_generation(client.host, {"id": "g:m", "status": word})[1].phase == phase


def test_the_specs_completed_and_error_answers_end_the_job():
    client = AimlapiClient(sample_config())
    url = "https://cdn.aimlapi.com/flamingo/files/b/0a84eb06/XtWjnJNjQLBMwJbBz4WcF_output.mp4"
    sample = {"id": "bfb9eca8-178f-41ca-a1f1-6e4551157a0b:klingai/video-v2-6-pro-text-to-video",
              "status": "completed", "video": {"url": url}}
    assert parse_generation(client.host, sample)[1].video_url == url
    failed = {"id": "g:m", "status": "error", "error": {"name": "GenerationError", "message": "Upstream failed"}}
    assert parse_generation(client.host, failed)[1].error == "AI/ML API could not generate the clip: Upstream failed."


# -- what it cost (SPEC_T2V meta.usage.credits_used, FUNDS) --------------------------------------


@pytest.mark.parametrize(("credits", "usd"), [(100_000, "0.05"), (1_000_000, "0.50"), (10_000_000, "5.00"),
                                              (120_000, "0.06")])
def test_credits_used_converts_at_the_published_rate(credits, usd):
    client = AimlapiClient(sample_config())
    body = {"id": "g:m", "status": "completed", "video": {"url": "https://v.mp4"},
            "meta": {"usage": {"credits_used": credits}}}
    status = parse_generation(client.host, body)[1]
    assert status.actual_cost == Decimal(usd)
    assert (status.host_charge.amount, status.host_charge.unit, status.host_charge.source) == (
        credits, "credits", "meta.usage.credits_used")


def test_a_completed_poll_from_the_emulator_carries_the_charge(emu):
    client = client_for(emu, "aimlapi")

    async def scenario(http):
        submission = await client.create(http, text_request(audio=True), job_id="j", frames=FrameStore())
        return await client.status(http, submission)

    status, _ = ours(scenario)
    assert (status.host_charge.amount, status.actual_cost) == (120000, Decimal("0.06"))


# -- errors (ERRORS) ----------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind", "words"), [
    (400, "invalid", "Body validation error"),
    (401, "auth", "rejected the API key"),
    (403, "credits", "out of credits"),
    (429, "rate_limited", "rate limiting"),
    (503, "maintenance", "temporarily unavailable"),
])
def test_documented_error_answers_become_the_right_refusal(emu, status, kind, words):
    emu.add_fault("http", host="aimlapi", op="create", status=status)
    client = client_for(emu, "aimlapi")
    error, _ = ours(lambda http: client.create(http, text_request(), job_id="j", frames=FrameStore()))
    assert isinstance(error, HostError) and (error.kind, error.status_code) == (kind, status)
    assert words in error.message


def test_the_emulators_error_body_has_the_documented_fields(emu):
    response = httpx.post(f"{emu.base_url('aimlapi')}/v2/video/generations", json={})
    assert response.status_code == 401
    assert set(response.json()) == {"message", "path", "requestId", "statusCode", "timestamp"}


def test_a_validation_refusal_quotes_the_hosts_hint(emu):
    client = client_for(emu, "aimlapi")
    request = text_request(duration=7)
    error, _ = ours(lambda http: client.create(http, request, job_id="j", frames=FrameStore()))
    assert isinstance(error, HostError) and error.kind == "invalid"
    assert "Body validation error" in error.message and "duration" in error.message


# -- callbacks: none documented -----------------------------------------------------------------


def test_no_callback_is_asked_for_even_with_a_public_url(emu):
    client = client_for(emu, "aimlapi", KLING_LAB_PUBLIC_URL="https://app.example")
    _, [create] = ours(lambda http: client.create(http, text_request(), job_id="j", frames=FrameStore()))
    assert not {"webhook", "callback_url", "callBackUrl", "webhook_url"} & set(json.loads(create.content))


def test_a_posted_callback_is_at_most_a_wake_up():
    client = AimlapiClient(sample_config())
    body = json.dumps({"id": "g:m", "status": "completed", "video": {"url": "https://forged.example/v.mp4"}})
    news = client.parse_webhook(body.encode(), {})
    assert news is not None and news.task_id == "g:m" and not news.verified
    assert client.parse_webhook(b'{"not": "a generation"}', {}) is None


def test_there_is_no_cancel_call():
    client = AimlapiClient(sample_config())
    accepted, requests = ours(lambda http: client.cancel(http, Submission("g:m")))
    assert accepted is False and requests == []
