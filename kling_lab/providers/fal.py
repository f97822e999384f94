"""fal.ai host client for `fal-ai/kling-video/v2.6/pro/{text-to-video,image-to-video}` (queue API).

Requests are the ones fal_client 1.0.3 (the official SDK) sends: submit
`POST <base>/fal-ai/kling-video/v2.6/pro/<endpoint>` with the model input as
the JSON body (and `?fal_webhook=<url>` for a callback), then
`GET <status_url>?logs=false`, `GET <response_url>` and `PUT <cancel_url>` on
the URLs the submit answer returns. Those use only the owner/app path
(`fal-ai/kling-video`), not the model sub-path. Auth is `Authorization: Key
<FAL_KEY>`. Audio defaults to ON: `generate_audio` is always sent. Frames go
inline as data URIs, which the SDK's `encode_file` also produces.

A request that fails also ends COMPLETED; its result URL then answers with the
error. The SDK asks again only after 408, 409, 429 and a 502/503/504 from the
ingress (`_should_retry_response`); every other error answer is final, and so
it is here: the job ends failed with fal's reason.

Callbacks are signed with ED25519 and verified with fal's published keys
(`fal_webhook_keys`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostConfig,
    HostError,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, host_error, host_error_from_response, read_json
from kling_lab.providers.fal_webhook_keys import SIGNATURE_HEADER, SIGNED_HEADERS, WebhookKeys, signed_message
from kling_lab.providers.frames import frame_data_uri
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import (
    decode_json,
    host_detail,
    require_mapping,
    require_phase,
    require_text,
    try_decode_json,
)
from kling_lab.providers.webhook_auth import header, timestamp_fresh
from kling_lab.request import GenerationRequest

APP_PATH = "fal-ai/kling-video"
TEXT_TO_VIDEO_PATH = f"{APP_PATH}/v2.6/pro/text-to-video"
IMAGE_TO_VIDEO_PATH = f"{APP_PATH}/v2.6/pro/image-to-video"

_STATES: dict[str, TaskPhase] = {
    "IN_QUEUE": "queued",
    "IN_PROGRESS": "running",
    "COMPLETED": "succeeded",
    # Some schemas list these too.
    "FAILED": "failed",
    "ERROR": "failed",
    "CANCELED": "canceled",
    "CANCELLED": "canceled",
}

# fal_client 1.0.3 `RETRY_CODES` and `INGRESS_ERROR_CODES`.
_SDK_RETRY_CODES = frozenset({408, 409, 429})
_INGRESS_CODES = frozenset({502, 503, 504})


def model_path(request: GenerationRequest) -> str:
    """The queue path of the endpoint that serves `request`."""
    return IMAGE_TO_VIDEO_PATH if request.image_to_video else TEXT_TO_VIDEO_PATH


def build_payload(
    request: GenerationRequest, *, start_image: str | None = None, end_image: str | None = None
) -> dict[str, Any]:
    """The submit body for `request` (the model input itself, no wrapper).

    Duration is a string, `generate_audio` is always explicit, the negative
    prompt only when non-empty. Text-to-video adds `aspect_ratio` and
    `cfg_scale` (when set); image-to-video adds `start_image_url`, an optional
    `end_image_url` (data URIs) and `voice_ids`.
    """
    payload: dict[str, Any] = {
        "prompt": request.prompt,
        "duration": str(request.duration),
        "generate_audio": bool(request.audio),
    }
    if request.negative_prompt.strip():
        payload["negative_prompt"] = request.negative_prompt
    if request.image_to_video:
        if not start_image:
            raise ValueError("fal.ai image-to-video needs the start frame as a data URI.")
        payload["start_image_url"] = start_image
        if end_image:
            payload["end_image_url"] = end_image
        voices = [v for v in request.voice_ids if v.strip()]
        if voices:
            payload["voice_ids"] = voices
    else:
        if any(v.strip() for v in request.voice_ids) or request.end_frame is not None:
            # fal takes these on image-to-video only; validate() refuses them without a start frame.
            raise ValueError("fal.ai takes voice ids and an end frame with a start frame only.")
        payload["aspect_ratio"] = request.aspect_ratio
        if request.cfg_scale is not None and CAPABILITIES["fal"].takes_cfg_scale(False):
            payload["cfg_scale"] = float(request.cfg_scale)
    return payload


def _video_url(result: Any) -> str | None:
    if not isinstance(result, Mapping):
        return None
    video = result.get("video")
    if isinstance(video, Mapping) and isinstance(video.get("url"), str) and video["url"]:
        return str(video["url"])
    return None


def parse_result(host: HostIdentity, result: Any) -> TaskStatus:
    """The status a result body stands for: succeeded with the video, or failed with the host's detail."""
    url = _video_url(result)
    if url:
        return TaskStatus("succeeded", video_url=url, progress=1.0)
    reason = host_detail(result)
    if reason:
        return TaskStatus("failed", error=failure_sentence(host, reason))
    raise HostProtocolError(f"{host.label} sent a result without a video.")


def parse_webhook_body(host: HostIdentity, body: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(request_id, status) from a fal webhook: `{request_id, status: OK|ERROR, payload, error}`."""
    request_id = require_text(host, body, "request_id", "a webhook")
    outcome = str(body.get("status") or "").upper()
    payload = body.get("payload")
    if outcome == "OK":
        if payload is None and body.get("payload_error"):
            return request_id, TaskStatus("failed", error=failure_sentence(host, body.get("payload_error")))
        return request_id, parse_result(host, payload)
    if outcome == "ERROR":
        reason = host_detail(payload) or body.get("error")
        return request_id, TaskStatus("failed", error=failure_sentence(host, reason))
    raise HostProtocolError(f"{host.label} sent a webhook with an unknown status {outcome!r}.")


def sdk_retries(response: httpx.Response) -> bool:
    """True when fal_client 1.0.3 would send this request again after this error answer.

    Its `_should_retry_response`: 408, 409 and 429, and a 502/503/504 that
    came from the ingress (no `x-fal-request-id`, "nginx" in the body), except
    a 504 that reports a caller-set request timeout.
    """
    code = response.status_code
    if code == 504 and response.headers.get("x-fal-request-timeout-type"):
        return False
    if code in _INGRESS_CODES and "x-fal-request-id" not in response.headers and "nginx" in response.text:
        return True
    return code in _SDK_RETRY_CODES


class FalClient(KeyedHostClient):
    """Kling 2.6 Pro on fal.ai's queue."""

    auth_scheme = "Key"
    name = "fal"
    caps = CAPABILITIES["fal"]
    build_payload = staticmethod(build_payload)

    def __init__(self, config: HostConfig, *, webhook_keys: WebhookKeys | None = None) -> None:
        super().__init__(config)
        if webhook_keys is None and config.webhook_keys_url:
            webhook_keys = WebhookKeys(config.webhook_keys_url)
        self.webhook_keys = webhook_keys

    def _urls(self, submission: Submission) -> dict[str, str]:
        """The request's queue URLs: the ones fal returned, else the owner/app form the SDK builds."""
        request_root = f"{self._base}/{APP_PATH}/requests/{quote(submission.task_id, safe='')}"
        extra = submission.extra or {}
        return {
            "status_url": extra.get("status_url") or f"{request_root}/status",
            "response_url": extra.get("response_url") or request_root,
            "cancel_url": extra.get("cancel_url") or f"{request_root}/cancel",
        }

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Submit to the queue; keeps the returned status/response/cancel URLs. Raises HostError on refusal."""
        headers = self._headers()
        start = end = None
        if request.start_frame is not None:
            start = frame_data_uri(request.start_frame.mime, frames(request.start_frame))
        if request.end_frame is not None:
            end = frame_data_uri(request.end_frame.mime, frames(request.end_frame))
        url = f"{self._base}/{model_path(request)}"
        if self.config.callback_url:
            url += f"?fal_webhook={quote(self.config.callback_url, safe='')}"
        response = await http.post(url, headers=headers, json=build_payload(request, start_image=start, end_image=end))
        body = require_mapping(self.host, read_json(self.host, response), "a queue submission")
        request_id = require_text(self.host, body, "request_id", "a queue submission")
        extra = {
            key: str(body[key])
            for key in ("status_url", "response_url", "cancel_url")
            if isinstance(body.get(key), str) and body[key]
        }
        return Submission(task_id=request_id, extra=extra)

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The request's state; on COMPLETED the result is fetched, and an error answer there means failed."""
        urls = self._urls(submission)
        headers = self._headers()
        response = await http.get(urls["status_url"], headers=headers, params={"logs": "false"})
        body = require_mapping(self.host, read_json(self.host, response), "a queue status")
        phase = require_phase(self.host, body.get("status"), _STATES, "queue status")
        if phase == "failed":
            return TaskStatus("failed", error=failure_sentence(self.host, host_detail(body)))
        if phase != "succeeded":
            return TaskStatus(phase)
        return await self._result(http, urls["response_url"], headers, body.get("error"))

    async def _result(
        self, http: httpx.AsyncClient, response_url: str, headers: dict[str, str], status_error: Any
    ) -> TaskStatus:
        response = await http.get(response_url, headers=headers)
        code = response.status_code
        if code < 400:
            return parse_result(self.host, decode_json(self.host, response))
        body = try_decode_json(response)
        if sdk_retries(response):
            raise self._ask_again(response, body)
        if code in (401, 403):
            # Our key, not the clip: the runner ends the job after repeated refusals, saying which setting to fix.
            raise host_error_from_response(self.host, response, body)
        reason = host_detail(body) or status_error or f"its result answered HTTP {code} without a reason"
        return TaskStatus("failed", error=failure_sentence(self.host, reason))

    def _ask_again(self, response: httpx.Response, body: Any) -> HostError:
        if response.status_code in (408, 409):
            return host_error(self.host, "server", host_detail(body), status_code=response.status_code)
        return host_error_from_response(self.host, response, body)

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Ask fal to cancel; False when the request had already completed."""
        response = await http.put(self._urls(submission)["cancel_url"], headers=self._headers())
        if response.status_code == 400:
            body = try_decode_json(response)
            if isinstance(body, Mapping) and str(body.get("status", "")).upper() == "ALREADY_COMPLETED":
                return False
        read_json(self.host, response)
        return True

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """fal requests carry no id of ours, so a lost submit cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> WebhookNews | None:
        """What a `fal_webhook` POST says: believed only with a valid signature from a published key.

        None when the body is not a fal callback, or when the signature is
        missing, wrong or over a stale timestamp. A wake-up (no status) when no
        key set is configured or the published keys cannot be fetched.
        """
        parsed = webhook_object(body)
        if parsed is None or str(parsed.get("status") or "").upper() not in ("OK", "ERROR"):
            return None
        try:
            request_id, status = parse_webhook_body(self.host, parsed)
        except HostProtocolError:
            request_id = parsed.get("request_id") if isinstance(parsed.get("request_id"), str) else ""
            status = None
        if not request_id.strip():
            return None
        if self.webhook_keys is None:
            return WebhookNews(request_id)
        fields = [header(headers, name) for name in SIGNED_HEADERS]
        signature_hex = header(headers, SIGNATURE_HEADER)
        if not all(fields) or not signature_hex or not timestamp_fresh(fields[2], now=now):
            return None
        if fields[0] != request_id:  # signed for another request than the body names
            return None
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            return None
        verified = self.webhook_keys.verify(signed_message(*fields, body), signature)
        if verified is None:
            return WebhookNews(request_id)
        if not verified:
            return None
        return WebhookNews(request_id, status)
