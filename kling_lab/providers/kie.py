"""Kie.ai host client for Kling 2.6 (`kling-2.6/text-to-video`, `kling-2.6/image-to-video`).

Kie answers with a body `code` as well as an HTTP status and the docs do not say
whether they agree, so both are checked. Start frames are uploaded first to
Kie's separate file host and referenced by the URL it returns. The create
response says `msg`, the task record says `message`: both are read. The base
URL is the host root (`https://api.kie.ai`); every path starts with `/api/v1`.

Callbacks are checked as docs.kie.ai/common-api/webhook-verification says:
`X-Webhook-Signature` is base64(HMAC-SHA256(taskId + "." + X-Webhook-Timestamp))
with the account's webhook HMAC key (KIE_WEBHOOK_HMAC_KEY). That signature
covers the task id and the time only, not the body, so even a verified
callback is only a wake-up: what the task became is read from recordInfo with
our key. See docs/hosts.md (kie).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostCharge,
    HostConfig,
    HostError,
    HostProtocolError,
    Submission,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, host_error, looks_like_content_policy, refusal_error
from kling_lab.providers.frames import frame_data_uri
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
from kling_lab.providers.retry_after import parse_retry_after
from kling_lab.providers.status_kinds import CodeTable, Refusal
from kling_lab.providers.webhook_auth import b64_equal, header, hmac_sha256, timestamp_fresh
from kling_lab.request import GenerationRequest

TEXT_TO_VIDEO_MODEL = "kling-2.6/text-to-video"
IMAGE_TO_VIDEO_MODEL = "kling-2.6/image-to-video"
UPLOAD_PATH = "kling-lab"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"
CHARGE_FIELD = "consumeCredits"

_STATES: dict[str, str] = {
    "waiting": "queued",
    "queuing": "queued",
    "generating": "running",
    "success": "succeeded",
    "fail": "failed",
}


def build_payload(
    request: GenerationRequest, *, image_url: str | None = None, callback_url: str | None = None
) -> dict[str, Any]:
    """The createTask body for `request`.

    `image_url` is the start frame already uploaded to Kie's file host (required
    for image-to-video). Duration is a string and `sound` is always sent (Kie
    requires it). Kie has no negative prompt, cfg_scale, end frame or voice
    field, and takes `aspect_ratio` for text-to-video only.
    """
    if request.end_frame is not None or any(v.strip() for v in request.voice_ids):
        # validate() refuses these for Kie; dropping them silently would pretend they had an effect.
        raise ValueError("Kie.ai takes neither an end frame nor voice ids.")
    fields: dict[str, Any] = {
        "prompt": request.prompt,
        "sound": bool(request.audio),
        "duration": str(request.duration),
    }
    if request.image_to_video:
        if not image_url:
            raise ValueError("Kie image-to-video needs the uploaded start frame's URL.")
        fields["image_urls"] = [image_url]
    else:
        fields["aspect_ratio"] = request.aspect_ratio
    payload: dict[str, Any] = {
        "model": IMAGE_TO_VIDEO_MODEL if request.image_to_video else TEXT_TO_VIDEO_MODEL,
        "input": fields,
    }
    if callback_url:
        payload["callBackUrl"] = callback_url
    return payload


def _int_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


KIE_CODES = CodeTable(
    exact={
        401: Refusal("auth"),
        402: Refusal("credits"),
        433: Refusal("credits", hint="Kie.ai says this key's usage limit is used up. Raise the key's limit in the "
                      "Kie.ai dashboard or use another key."),
        404: Refusal("not_found"),
        429: Refusal("rate_limited"),
        455: Refusal("maintenance"),
        501: Refusal("generation_failed"),
        505: Refusal("unavailable", default_detail="this feature is disabled for the account"),
        503: Refusal("maintenance"),
    },
    ranges=((range(500, 1 << 31), Refusal("server")),),
)
"""Kie's documented codes (in the body's `code`, or the HTTP status when the body has none)."""


def kie_code_error(
    host: HostIdentity,
    code: int,
    detail: str | None,
    *,
    status_code: int | None = None,
    retry_after: float | None = None,
) -> HostError:
    """The HostError for one of Kie's documented codes; an undocumented 4xx that reads like moderation is policy."""
    refusal = KIE_CODES.refusal(code)
    if refusal is KIE_CODES.default and detail and looks_like_content_policy(detail):
        refusal = Refusal("content_policy")
    if refusal.kind == "server":
        status_code = code  # Kie's 5xx codes mirror HTTP's; the sentence shows the code the host reported.
    return refusal_error(host, refusal, detail, code=code, status_code=status_code, host_code=str(code),
                         retry_after=retry_after)


def _read_kie_answer(host: HostIdentity, response: httpx.Response) -> Mapping[str, Any]:
    """The body of a Kie answer, raising for an HTTP error status or a non-200 body code."""
    body = try_decode_json(response) if response.status_code >= 400 else decode_json(host, response)
    mapping = body if isinstance(body, Mapping) else {}
    body_code = _int_code(mapping.get("code"))
    failed_by_body = body_code is not None and body_code != 200
    if response.status_code >= 400 or failed_by_body:
        code = body_code if failed_by_body and body_code is not None else response.status_code
        raise kie_code_error(
            host,
            code,
            host_detail(mapping),
            status_code=response.status_code,
            retry_after=parse_retry_after(response.headers),
        )
    if not isinstance(body, Mapping):
        raise HostProtocolError(f"{host.label} sent an answer that is not a JSON object.")
    return body


def _progress(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # Third-party clients show 0..100; a 0..1 value is taken as already a fraction.
    fraction = value / 100.0 if value > 1 else float(value)
    return min(1.0, max(0.0, fraction))


def _result_url(host: HostIdentity, result_json: Any) -> str:
    """The first result URL from `resultJson`, which Kie sends as a JSON-encoded string."""
    if isinstance(result_json, str):
        try:
            result_json = json.loads(result_json)
        except ValueError as exc:
            raise HostProtocolError(f"{host.label} sent a resultJson that is not valid JSON.") from exc
    result = require_mapping(host, result_json, "a resultJson")
    urls = result.get("resultUrls")
    if isinstance(urls, list) and urls and isinstance(urls[0], str) and urls[0]:
        return urls[0]
    raise HostProtocolError(f"{host.label} reported success without a result URL.")


def host_charge(data: Mapping[str, Any]) -> HostCharge | None:
    """The credits Kie says the task cost (`consumeCredits`), when the record carries a number there.

    docs.kie.ai's get-task-detail page does not list the field; Kie's callbacks
    and third-party client types show it. Kie publishes no price per credit, so
    no dollar figure is derived from it.
    """
    amount = charge_amount(data.get(CHARGE_FIELD))
    if amount is None:
        return None
    return HostCharge(amount=amount, unit="credits", source=f"data.{CHARGE_FIELD}")


def parse_record(host: HostIdentity, body: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(taskId, status) from a recordInfo answer."""
    data = require_mapping(host, body.get("data"), "a task record")
    task_id = require_text(host, data, "taskId", "a task record")
    phase = require_phase(host, data.get("state"), _STATES, "task state")
    charge = host_charge(data)
    if phase == "succeeded":
        url = _result_url(host, data.get("resultJson"))
        return task_id, TaskStatus("succeeded", video_url=url, progress=1.0, host_charge=charge)
    if phase == "failed":
        reason = data.get("failMsg") or data.get("failCode") or host_detail(body)
        return task_id, TaskStatus("failed", error=failure_sentence(host, reason), host_charge=charge)
    return task_id, TaskStatus(phase, progress=_progress(data.get("progress")))  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Callbacks


def callback_task_id(body: Mapping[str, Any]) -> str | None:
    """The task id a callback names: `data.taskId` (market callbacks) or `data.task_id` (the
    verification page's sample); None when it names none, or two different ones."""
    data = body.get("data")
    if not isinstance(data, Mapping):
        return None
    found = {value for key in ("taskId", "task_id") if isinstance(value := data.get(key), str) and value.strip()}
    return found.pop() if len(found) == 1 else None


def signature_valid(
    headers: Mapping[str, str], task_id: str, secret: str, *, now: float | None = None
) -> bool:
    """True when `X-Webhook-Signature` is base64(HMAC-SHA256(f"{task_id}.{timestamp}", secret)) and
    `X-Webhook-Timestamp` is within `webhook_auth.TIMESTAMP_TOLERANCE_S` of now (Kie names no window)."""
    timestamp = header(headers, TIMESTAMP_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    if not (timestamp and signature and secret) or not timestamp_fresh(timestamp, now=now):
        return False
    expected = hmac_sha256(secret.encode("utf-8"), f"{task_id}.{timestamp}".encode())
    return b64_equal(expected, signature)


class KieClient(KeyedHostClient):
    """Kling 2.6 on Kie.ai: createTask, recordInfo, callBackUrl; uploads start frames first."""

    name = "kie"
    caps = CAPABILITIES["kie"]
    build_payload = staticmethod(build_payload)

    def __init__(self, config: HostConfig) -> None:
        super().__init__(config)
        self._upload_base = (config.upload_url or "").rstrip("/")

    async def upload_frame(self, http: httpx.AsyncClient, mime: str, data: bytes, file_name: str) -> str:
        """Upload one frame to Kie's file host; returns the download URL to put in `image_urls`."""
        if not self._upload_base:
            raise HostProtocolError("Kie.ai's upload URL is not configured (KLING_LAB_KIE_UPLOAD_URL).")
        response = await http.post(
            f"{self._upload_base}/api/file-base64-upload",
            headers=self._headers(),
            json={"base64Data": frame_data_uri(mime, data), "uploadPath": UPLOAD_PATH, "fileName": file_name},
        )
        body = _read_kie_answer(self.host, response)
        if body.get("success") is False:
            raise host_error(self.host, "invalid", host_detail(body) or "the upload was refused")
        data_field = require_mapping(self.host, body.get("data"), "an upload answer")
        return require_text(self.host, data_field, "downloadUrl", "an upload answer")

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Upload the start frame (if any), then createTask. Raises HostError on refusal.

        Kie takes no id of ours, so `job_id` and `create_key` are not sent.
        """
        headers = self._headers()
        image_url = None
        if request.start_frame is not None:
            ref = request.start_frame
            image_url = await self.upload_frame(http, ref.mime, frames(ref), f"{ref.sha256[:16]}.{ref.extension}")
        payload = build_payload(request, image_url=image_url, callback_url=self.config.callback_url)
        response = await http.post(f"{self._base}/api/v1/jobs/createTask", headers=headers, json=payload)
        body = _read_kie_answer(self.host, response)
        data = require_mapping(self.host, body.get("data"), "a createTask answer")
        return Submission(task_id=require_text(self.host, data, "taskId", "a createTask answer"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The task's state from recordInfo."""
        response = await http.get(
            f"{self._base}/api/v1/jobs/recordInfo",
            headers=self._headers(),
            params={"taskId": submission.task_id},
        )
        body = _read_kie_answer(self.host, response)
        _, status = parse_record(self.host, body)
        return status

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Kie.ai has no cancel call."""
        return False

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """Kie.ai cannot find a task by an id of ours."""
        return None

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> WebhookNews | None:
        """A wake-up for the task a callBackUrl POST names, or None when it must be ignored.

        None when the body names no task, and, with KIE_WEBHOOK_HMAC_KEY set, when
        the signature is missing, wrong or its timestamp stale. A valid signature
        proves only that Kie called about this task recently: the body it came
        with is not signed, so the task's state and video URL are never taken from
        it; the runner reads them from recordInfo.
        """
        parsed = webhook_object(body)
        task_id = callback_task_id(parsed) if parsed is not None else None
        if task_id is None:
            return None
        secret = self.config.webhook_secret
        if secret and not signature_valid(headers, task_id, secret, now=now):
            return None
        return WebhookNews(task_id)
