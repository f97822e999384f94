"""The shared host-answer helpers: Retry-After, error sentences, detail extraction, redaction, JSON reading."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from kling_lab.providers.base import HostError, HostProtocolError
from kling_lab.providers.errors import failure_sentence, host_error, host_error_from_response, read_json
from kling_lab.providers.frames import frame_base64, frame_data_uri
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import decode_json, host_detail, require_phase
from kling_lab.providers.retry_after import parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
HOST = HostIdentity(label="Example Host", key_hint="EXAMPLE_KEY", secrets=("sk-live-abcdef123456",))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After": " 12 "}, 12.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "Sun, 01 Mar 2026 12:00:30 GMT"}, 30.0),
        ({"Retry-After": "Sun, 01 Mar 2026 11:59:00 GMT"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"retry-after-ms": "soon", "Retry-After": "9"}, 9.0),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": ""}, None),
    ],
)
def test_retry_after_is_parsed_from_seconds_floats_dates_and_milliseconds(headers, expected):
    assert parse_retry_after(headers, now=NOW) == expected


def test_retry_after_reads_httpx_headers_case_insensitively():
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER": "4"}), now=NOW) == 4.0


def _response(status: int, body: bytes = b"{}", content_type: str = "application/json", **headers: str):
    return httpx.Response(status, content=body, headers={"content-type": content_type, **headers})


@pytest.mark.parametrize(
    ("status", "kind", "retry_safe"),
    [
        (400, "invalid", False),
        (401, "auth", False),
        (402, "credits", False),
        (403, "auth", False),
        (404, "not_found", False),
        (409, "invalid", False),
        (422, "invalid", False),
        (429, "rate_limited", True),
        (500, "server", False),
        (502, "server", False),
        (503, "maintenance", True),
        (504, "server", False),
    ],
)
def test_http_status_maps_to_error_kind_and_retry_safety(status, kind, retry_safe):
    error = host_error_from_response(HOST, _response(status), {"detail": "something"})
    assert (error.kind, error.retry_safe, error.status_code) == (kind, retry_safe, status)


def test_rate_limit_error_carries_retry_after_and_says_how_long_to_wait():
    error = host_error_from_response(HOST, _response(429, **{"Retry-After": "3"}))
    assert error.retry_after == 3.0
    assert "Wait 3 seconds" in error.message


def test_bad_key_sentence_names_the_setting():
    error = host_error_from_response(HOST, _response(401))
    assert error.message == "Example Host rejected the API key. Check EXAMPLE_KEY in Settings."


def test_invalid_request_quotes_the_host_detail():
    body = {"detail": [{"loc": ["body", "duration"], "msg": "bad value"}]}
    error = host_error_from_response(HOST, _response(422), body)
    assert error.kind == "invalid"
    assert "duration: bad value" in error.message


def test_moderation_detail_on_a_4xx_is_a_content_policy_error():
    error = host_error_from_response(HOST, _response(422), {"detail": "Prompt flagged by moderation"})
    assert error.kind == "content_policy"
    assert error.message == (
        "Example Host refused the prompt or image under its content policy: Prompt flagged by moderation. "
        "Change the prompt or image."
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": "Request was throttled."}, "Request was throttled."),
        ({"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]}, "prompt: field required"),
        ({"error": {"name": "X", "message": "inner"}}, "inner"),
        ({"error": "Bad Request", "message": "duration must be 5 or 10"}, "duration must be 5 or 10"),
        ({"code": 422, "msg": "msg field"}, "msg field"),
        ({"code": 200, "message": "message field"}, "message field"),
        ({"failMsg": "failed badly"}, "failed badly"),
        ("plain text", "plain text"),
        ({}, None),
        (None, None),
        ([1, 2], None),
    ],
)
def test_host_detail_reads_every_documented_error_shape(body, expected):
    assert host_detail(body) == expected


def test_secrets_and_authorization_values_are_redacted_from_quoted_details():
    detail = (
        "key sk-live-abcdef123456 rejected; header was Bearer abcdefghijklmnop; "
        "token eyJhbGciOi.eyJpc3MiOi.c2lnbmF0dXJl"
    )
    error = host_error_from_response(HOST, _response(400), {"detail": detail})
    assert "sk-live-abcdef123456" not in error.message
    assert "abcdefghijklmnop" not in error.message
    assert "eyJhbGciOi" not in error.message
    assert "[redacted]" in error.message


def test_long_host_details_are_cut():
    error = host_error_from_response(HOST, _response(400), {"detail": "x" * 5000})
    assert len(error.message) < 500
    assert "…" in error.message


def test_failure_sentence_recognises_policy_reasons_and_keeps_others_as_generation_failures():
    assert "under its content policy" in failure_sentence(HOST, "NSFW content detected")
    assert failure_sentence(HOST, "GPU out of memory") == "Example Host could not generate the clip: GPU out of memory."
    assert failure_sentence(HOST, None) == "Example Host could not generate the clip and gave no reason."


def test_content_policy_error_without_reason_still_reads_as_a_sentence():
    error = host_error(HOST, "content_policy", "")
    assert error.kind == "content_policy"
    assert "no reason given" in error.message


def test_decode_json_accepts_json_with_a_wrong_content_type():
    assert decode_json(HOST, _response(200, b'{"a": 1}', "text/plain")) == {"a": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"<html><body>Login</body></html>", "text/html", "an HTML page"),
        (b'{"id": "abc"', "application/json", "JSON that could not be read"),
        (b"upstream reset", "text/plain", "text/plain"),
    ],
)
def test_unreadable_bodies_raise_protocol_errors_that_say_what_arrived(body, content_type, words):
    with pytest.raises(HostProtocolError) as caught:
        decode_json(HOST, _response(200, body, content_type))
    assert words in str(caught.value)
    assert "Example Host" in str(caught.value)


def test_read_json_raises_host_error_for_error_status_even_with_an_html_body():
    with pytest.raises(HostError) as caught:
        read_json(HOST, _response(502, b"<html>Bad gateway</html>", "text/html"))
    assert caught.value.kind == "server"


def test_read_json_lets_a_host_classifier_decide_first():
    def classify(response, body):
        return HostError("credits", "custom") if body and body.get("code") == 402 else None

    with pytest.raises(HostError) as caught:
        read_json(HOST, _response(400, b'{"code": 402}'), classify=classify)
    assert caught.value.kind == "credits"


def test_frames_are_encoded_as_data_uris_or_raw_base64():
    assert frame_data_uri("image/png", b"\x89PNG") == "data:image/png;base64,iVBORw=="
    assert frame_base64(b"\x89PNG") == "iVBORw=="


@pytest.mark.parametrize("raw", ["COMPLETED", "completed", " Completed "])
def test_require_phase_matches_a_state_word_in_any_case(raw) -> None:
    assert require_phase(HOST, raw, {"COMPLETED": "succeeded"}, "queue status") == "succeeded"


@pytest.mark.parametrize("raw", ["exploded", "", None, 7])
def test_require_phase_refuses_an_unknown_state_with_a_sentence(raw) -> None:
    with pytest.raises(HostProtocolError, match="Example Host reported an unknown task status"):
        require_phase(HOST, raw, {"succeed": "succeeded"}, "task status")


# -- one table from status to kind, one error built from a refusal ------------------------------


@pytest.mark.parametrize("status", range(400, 600))
def test_every_error_status_has_one_kind_from_the_table(status) -> None:
    from kling_lab.providers.status_kinds import HTTP_STATUS_REFUSALS, refusal_for_status

    expected = HTTP_STATUS_REFUSALS[status].kind if status in HTTP_STATUS_REFUSALS else (
        "server" if status >= 500 else "invalid")
    assert refusal_for_status(status).kind == expected
    assert host_error_from_response(HOST, _response(status)).kind == expected


def test_a_bare_4xx_without_a_reason_quotes_its_status() -> None:
    assert "invalid: HTTP 418." in host_error_from_response(HOST, _response(418)).message


def test_a_code_table_takes_exact_codes_before_ranges_and_ranges_in_order() -> None:
    from kling_lab.providers.status_kinds import CodeTable, Refusal

    table = CodeTable(
        exact={15: Refusal("not_found")},
        ranges=((range(10, 20), Refusal("auth")), (range(0, 100), Refusal("server"))),
    )
    assert [table.refusal(c).kind for c in (15, 12, 50, 150)] == ["not_found", "auth", "server", "invalid"]
    assert table.refusal(150).default_detail == "code {code}"


@pytest.mark.parametrize(
    ("kind", "retry_safe"),
    [("auth", False), ("credits", False), ("rate_limited", True), ("maintenance", True), ("invalid", False),
     ("not_found", False), ("server", False), ("unavailable", False), ("content_policy", False),
     ("generation_failed", False)],
)
def test_only_rate_limits_and_maintenance_are_retry_safe_and_keep_retry_after(kind, retry_safe) -> None:
    error = host_error(HOST, kind, "why", status_code=400, retry_after=7.0)
    assert (error.kind, error.retry_safe, error.retry_after) == (kind, retry_safe, 7.0 if retry_safe else None)
    assert error.message.startswith("Example Host ")


def test_a_hint_is_added_to_auth_replaces_credits_and_says_what_a_rate_limit_is_about() -> None:
    assert host_error(HOST, "auth", hint="Check the clock.").message == (
        "Example Host rejected the API key. Check EXAMPLE_KEY in Settings. Check the clock.")
    assert host_error(HOST, "credits", hint="The pack is used up.").message == "The pack is used up."
    assert host_error(HOST, "rate_limited", hint="is busy", retry_after=1).message == (
        "Example Host is busy. Wait 1 second and try again.")


def test_a_failed_generation_that_reads_like_moderation_is_a_content_policy_error() -> None:
    assert host_error(HOST, "generation_failed", "flagged as unsafe").kind == "content_policy"
    assert host_error(HOST, "generation_failed", "GPU fell over").kind == "generation_failed"


def test_a_refusal_quotes_its_default_reason_with_the_code_when_the_host_gives_none() -> None:
    from kling_lab.providers.errors import refusal_error
    from kling_lab.providers.status_kinds import Refusal

    error = refusal_error(HOST, Refusal("invalid", default_detail="code {code}"), None, code=1234)
    assert error.message == (
        "Example Host rejected the request as invalid: code 1234. Change the settings and try again.")
    assert refusal_error(HOST, Refusal("invalid", default_detail="code {code}"), "own words", code=1).message \
        .endswith("invalid: own words. Change the settings and try again.")


def test_redaction_keeps_short_configured_values_and_scrubs_long_ones() -> None:
    from kling_lab.providers.redact import DETAIL_MAX_CHARS, quote_detail, redact

    assert redact("the key abc is fine", ("abc",)) == "the key abc is fine"
    assert redact("leaked sk-live-abcdef123456 here", ("sk-live-abcdef123456",)) == "leaked [redacted] here"
    quoted = quote_detail("  many\n words. " + "y" * 1000)
    assert len(quoted) == DETAIL_MAX_CHARS and quoted.startswith("many words") and quoted.endswith("…")


def test_the_shared_helpers_stay_importable_in_one_place() -> None:
    from kling_lab.providers import http_errors

    for name in http_errors.__all__:
        assert getattr(http_errors, name) is not None
