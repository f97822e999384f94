"""The host clients' shared helpers in one import, for code outside `kling_lab.providers`.

Each lives in its own small module: `errors` (one HostError built from a
refusal, `host_error_from_response`), `status_kinds` (the HTTP status table and
host code tables), `jsonish` (reading bodies and required fields), `redact` and
`host_identity` (who speaks, and keeping credentials out of sentences),
`retry_after` and `frames`.
"""

from __future__ import annotations

from kling_lab.providers.errors import (
    RETRY_SAFE_KINDS,
    content_policy_sentence,
    failure_sentence,
    host_error,
    host_error_from_response,
    looks_like_content_policy,
    missing_key_error,
    read_json,
    refusal_error,
)
from kling_lab.providers.frames import frame_base64, frame_data_uri
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import (
    charge_amount,
    decode_json,
    host_detail,
    require_mapping,
    require_phase,
    require_text,
    try_decode_json,
)
from kling_lab.providers.redact import DETAIL_MAX_CHARS, quote_detail, redact
from kling_lab.providers.retry_after import parse_retry_after
from kling_lab.providers.status_kinds import HTTP_STATUS_REFUSALS, CodeTable, Refusal, refusal_for_status

__all__ = [
    "DETAIL_MAX_CHARS",
    "HTTP_STATUS_REFUSALS",
    "RETRY_SAFE_KINDS",
    "CodeTable",
    "HostIdentity",
    "Refusal",
    "charge_amount",
    "content_policy_sentence",
    "decode_json",
    "failure_sentence",
    "frame_base64",
    "frame_data_uri",
    "host_detail",
    "host_error",
    "host_error_from_response",
    "looks_like_content_policy",
    "missing_key_error",
    "parse_retry_after",
    "quote_detail",
    "read_json",
    "redact",
    "refusal_error",
    "refusal_for_status",
    "require_mapping",
    "require_phase",
    "require_text",
    "try_decode_json",
]
