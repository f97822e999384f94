"""fal.ai host client for `fal-ai/kling-video/v2.6/pro/{text-to-video,image-to-video}` (queue API).

Submit returns `status_url`, `response_url` and `cancel_url`; they use only the
owner/app path (`fal-ai/kling-video`), not the model sub-path, so the returned
URLs are kept in `Submission.extra` and used as given. A request that fails
also ends in COMPLETED: the result call then returns an error body instead of a
video. Auth is `Authorization: Key <FAL_KEY>`. Audio defaults to ON: always sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.http_errors import (
    HostIdentity,
    decode_json,
    error_for_status,
    failure_sentence,
    frame_data_uri,
    host_detail,
    read_json,
    require_mapping,
    require_phase,
    require_text,
    try_decode_json,
)
from kling_lab.request import GenerationRequest

APP_PATH = "fal-ai/kling-video"
TEXT_TO_VIDEO_PATH = f"{APP_PATH}/v2.6/pro/text-to-video"
IMAGE_TO_VIDEO_PATH = f"{APP_PATH}/v2.6/pro/image-to-video"
KEY_NAME = "FAL_KEY"

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

# Result answers that say nothing final about the request: the gateway is
# busy, down or refusing us, so the runner should ask again later.
_TRANSIENT_RESULT_STATUSES = frozenset({401, 403, 404, 408, 429})


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


def _video_url(host: HostIdentity, result: Any) -> str | None:
    if not isinstance(result, Mapping):
        return None
    video = result.get("video")
    if isinstance(video, Mapping) and isinstance(video.get("url"), str) and video["url"]:
        return str(video["url"])
    return None


def parse_result(host: HostIdentity, result: Any) -> TaskStatus:
    """The status a result body stands for: succeeded with the video, or failed with the host's detail."""
    url = _video_url(host, result)
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


class FalClient(KeyedHostClient):
    auth_scheme = "Key"
    """Kling 2.6 Pro on fal.ai's queue."""

    name = "fal"
    caps = CAPABILITIES["fal"]
    build_payload = staticmethod(build_payload)

    def _urls(self, submission: Submission) -> dict[str, str]:
        """The request's queue URLs: the ones fal returned, else the documented owner/app form."""
        request_root = f"{self._base}/{APP_PATH}/requests/{quote(submission.task_id, safe='')}"
        extra = submission.extra or {}
        return {
            "status_url": extra.get("status_url") or f"{request_root}/status",
            "response_url": extra.get("response_url") or request_root,
            "cancel_url": extra.get("cancel_url") or f"{request_root}/cancel",
        }

    async def create(
        self, http: httpx.AsyncClient, request: GenerationRequest, *, job_id: str, frames: FrameReader
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
        """The request's state; on COMPLETED the result is fetched, and an error body there means failed."""
        urls = self._urls(submission)
        headers = self._headers()
        response = await http.get(urls["status_url"], headers=headers)
        body = require_mapping(self.host, read_json(self.host, response), "a queue status")
        phase = require_phase(self.host, body.get("status"), _STATES, "queue status")
        if phase == "failed":
            return TaskStatus("failed", error=failure_sentence(self.host, host_detail(body)))
        if phase != "succeeded":
            return TaskStatus(phase)
        if body.get("error"):
            return TaskStatus("failed", error=failure_sentence(self.host, body.get("error")))
        return await self._result(http, urls["response_url"], headers)

    async def _result(self, http: httpx.AsyncClient, response_url: str, headers: dict[str, str]) -> TaskStatus:
        response = await http.get(response_url, headers=headers)
        code = response.status_code
        if code < 400:
            return parse_result(self.host, decode_json(self.host, response))
        body = try_decode_json(response)
        retryable = response.headers.get("x-fal-retryable", "").lower() == "true"
        if code in _TRANSIENT_RESULT_STATUSES or code >= 500 or retryable:
            # A server error here must not turn a possibly paid clip into "failed".
            raise error_for_status(self.host, response, body)
        return TaskStatus("failed", error=failure_sentence(self.host, host_detail(body) or f"HTTP {code}"))

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Ask fal to cancel; False when the request had already completed."""
        response = await http.put(self._urls(submission)["cancel_url"], headers=self._headers())
        if response.status_code == 400:
            body = try_decode_json(response)
            if isinstance(body, Mapping) and str(body.get("status", "")).upper() == "ALREADY_COMPLETED":
                return False
        read_json(self.host, response)
        return True

    async def lookup(self, http: httpx.AsyncClient, job_id: str) -> Submission | None:
        """fal requests carry no id of ours, so a lost submit cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, TaskStatus] | None:
        """(request_id, status) from a `fal_webhook` POST, or None when it is not one."""
        parsed = webhook_object(body)
        if parsed is None or "request_id" not in parsed:
            return None
        try:
            return parse_webhook_body(self.host, parsed)
        except HostProtocolError:
            return None
