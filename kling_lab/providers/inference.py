"""inference.sh host client for the app `klingai/video-v2-6`.

Runs go to `POST /apps/run` with `X-API-Version: 2` (bare JSON answers); a
v1-style `{"success", "data"}` wrapper is still understood. Task statuses come
as names or numbers; the numbering shifted between SDK versions, so names are
preferred and numbers follow the current SDK (10 completed, 11 failed,
12 cancelled). The input schema is unverified (PROVIDERS.md §6): only the
fields third-party callers send are used.
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
    failure_sentence,
    frame_data_uri,
    host_detail,
    invalid_error,
    read_json,
    require_mapping,
    require_text,
)
from kling_lab.request import GenerationRequest

APP = "klingai/video-v2-6"
KEY_NAME = "INFERENCE_API_KEY"
API_VERSION = "2"

_STATUS_NAMES: dict[str, TaskPhase] = {
    "unknown": "queued",
    "received": "queued",
    "queued": "queued",
    "dispatched": "queued",
    "preparing": "running",
    "serving": "running",
    "setting_up": "running",
    "running": "running",
    "cancelling": "running",
    "uploading": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "canceled",
    "canceled": "canceled",
}

_STATUS_NUMBERS: dict[int, str] = {
    0: "unknown",
    1: "received",
    2: "queued",
    3: "dispatched",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "cancelling",
    9: "uploading",
    10: "completed",
    11: "failed",
    12: "cancelled",
}


def build_payload(
    request: GenerationRequest,
    *,
    image: str | None = None,
    end_image: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The run body for `request`: `{"app", "input", "webhook"?}`.

    Duration is an integer, `sound` a bool always sent, `mode` as requested;
    `aspect_ratio` for text-to-video only; `image`/`end_image` as data URIs.
    No negative prompt, cfg_scale or voice ids: their fields are unverified.
    """
    if any(v.strip() for v in request.voice_ids):
        # validate() refuses voice ids for inference.sh; dropping them silently would pretend they had an effect.
        raise ValueError("inference.sh's voice field is unverified; voice ids cannot be sent.")
    fields: dict[str, Any] = {
        "prompt": request.prompt,
        "duration": int(request.duration),
        "sound": bool(request.audio),
        "mode": request.mode,
    }
    if request.image_to_video:
        if not image:
            raise ValueError("inference.sh image-to-video needs the start frame as a data URI.")
        fields["image"] = image
        if end_image:
            fields["end_image"] = end_image
    else:
        fields["aspect_ratio"] = request.aspect_ratio
    payload: dict[str, Any] = {"app": APP, "input": fields}
    if callback_url:
        payload["webhook"] = callback_url
    return payload


def status_phase(host: HostIdentity, status: Any) -> TaskPhase:
    """Our phase for a task status given by name or by (current SDK) number."""
    if isinstance(status, bool):
        status = None
    if isinstance(status, int):
        name = _STATUS_NUMBERS.get(status)
    elif isinstance(status, str) and status.strip().isdigit():
        name = _STATUS_NUMBERS.get(int(status.strip()))
    elif isinstance(status, str):
        name = status.strip().lower()
    else:
        name = None
    phase = _STATUS_NAMES.get(name or "")
    if phase is None:
        raise HostProtocolError(f"{host.label} reported an unknown task status {status!r}.")
    return phase


def _video_url(host: HostIdentity, output: Any) -> str:
    video = output.get("video") if isinstance(output, Mapping) else output
    if isinstance(video, list) and video:
        video = video[0]
    if isinstance(video, Mapping):
        video = video.get("uri") or video.get("url")
    if isinstance(video, str) and video:
        return video
    raise HostProtocolError(f"{host.label} reported a completed task without a video.")


def _unwrap(host: HostIdentity, body: Any) -> Mapping[str, Any]:
    """The task object, whether bare (API v2) or inside a v1 `{"success", "data"}` envelope."""
    mapping = require_mapping(host, body, "a task")
    if "success" in mapping and "data" in mapping and isinstance(mapping.get("data"), Mapping):
        return mapping["data"]
    return mapping


def parse_task(host: HostIdentity, task: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(task id, status) from a task object (a GET answer or a webhook body)."""
    task_id = require_text(host, task, "id", "a task")
    phase = status_phase(host, task.get("status"))
    if phase == "succeeded":
        return task_id, TaskStatus("succeeded", video_url=_video_url(host, task.get("output")), progress=1.0)
    if phase == "failed":
        error = task.get("error")
        reason = host_detail(error) if isinstance(error, Mapping) else error
        return task_id, TaskStatus("failed", error=failure_sentence(host, reason))
    return task_id, TaskStatus(phase)


class InferenceClient(KeyedHostClient):
    extra_headers = {"X-API-Version": API_VERSION}
    """Kling 2.6 on inference.sh (`klingai/video-v2-6`)."""

    name = "inference"
    caps = CAPABILITIES["inference"]
    build_payload = staticmethod(build_payload)

    def _task_url(self, task_id: str) -> str:
        return f"{self._base}/tasks/{quote(task_id, safe='')}"

    def _read_task(self, response: httpx.Response) -> Mapping[str, Any]:
        body = read_json(self.host, response)
        if isinstance(body, Mapping) and body.get("success") is False:
            # v1 envelopes report refusals with HTTP 200 and success=false.
            raise invalid_error(self.host, host_detail(body) or "the request was refused")
        return _unwrap(self.host, body)

    async def create(
        self, http: httpx.AsyncClient, request: GenerationRequest, *, job_id: str, frames: FrameReader
    ) -> Submission:
        """Run the app. Raises HostError on refusal."""
        headers = self._headers()
        image = end = None
        if request.start_frame is not None:
            image = frame_data_uri(request.start_frame.mime, frames(request.start_frame))
        if request.end_frame is not None:
            end = frame_data_uri(request.end_frame.mime, frames(request.end_frame))
        payload = build_payload(request, image=image, end_image=end, callback_url=self.config.callback_url)
        response = await http.post(f"{self._base}/apps/run", headers=headers, json=payload)
        task = self._read_task(response)
        return Submission(task_id=require_text(self.host, task, "id", "a run answer"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The task's state."""
        response = await http.get(self._task_url(submission.task_id), headers=self._headers())
        return parse_task(self.host, self._read_task(response))[1]

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Ask inference.sh to cancel the task; True when it accepted."""
        response = await http.post(f"{self._task_url(submission.task_id)}/cancel", headers=self._headers())
        if response.status_code >= 400:
            read_json(self.host, response)
        return True

    async def lookup(self, http: httpx.AsyncClient, job_id: str) -> Submission | None:
        """inference.sh tasks carry no id of ours, so a lost run cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, TaskStatus] | None:
        """(task id, status) from a webhook POST (a task object, possibly enveloped)."""
        parsed = webhook_object(body)
        if parsed is None:
            return None
        if isinstance(parsed.get("task"), Mapping):
            parsed = parsed["task"]
        try:
            return parse_task(self.host, _unwrap(self.host, parsed))
        except HostProtocolError:
            return None
