"""inference.sh host client for the app `klingai/video-v2-6`, speaking what the `inferencesh` SDK (0.36) speaks.

Every answer is the envelope `{"data": ..., "messages": [...]}`; a body
without `data` is read bare, as the SDK reads it. Requests carry only the
SDK's headers (`Authorization: Bearer`, a JSON content type). Frames are
uploaded first, as the SDK uploads a local image: `POST /files` describes the
file, the bytes go to the signed `upload_url` it returns (without our key),
and the file's `uri` goes in the input. Statuses are the SDK's `TaskStatus`
numbers and names; 13 REJECTED (no balance, no payment method) is a task
that never ran and ends the job failed with the host's reason. Callbacks are
unsigned, so they only wake the job up. The input field names are not in the
SDK and the app's published schema lists descriptions only: see
docs/hosts.md (inference) for what stays unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.images import FrameRef
from kling_lab.providers.base import (
    FrameReader,
    HostError,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, host_error, read_json
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import host_detail, require_mapping, require_text
from kling_lab.request import GenerationRequest

APP = "klingai/video-v2-6"

STATUS_NAMES: dict[int, str] = {
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
    13: "rejected",
}
"""`inferencesh.types.TaskStatus` (SDK 0.36): number -> the name the SDK's string map uses."""

_PHASES: dict[str, TaskPhase] = {
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
    "rejected": "failed",
}

_CREDIT_CODES = frozenset({"payment_required", "payment_method_required", "limit_exceeded"})


def refuse_unverified(request: GenerationRequest) -> None:
    """ValueError for a control whose inference.sh field is unverified, so it is never silently dropped."""
    if any(v.strip() for v in request.voice_ids):
        raise ValueError("inference.sh's voice field is unverified; voice ids cannot be sent.")


def build_payload(
    request: GenerationRequest,
    *,
    image: str | None = None,
    end_image: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The run body for `request`: `{"app", "input", "webhook"?}`.

    Duration is an integer, `sound` a bool always sent, `mode` as requested;
    `aspect_ratio` for text-to-video only; `image`/`end_image` are the `uri`s
    of the uploaded frames. No negative prompt (the app's schema says v2.x
    does not take one), cfg_scale or voice ids.
    """
    refuse_unverified(request)
    fields: dict[str, Any] = {
        "prompt": request.prompt,
        "duration": int(request.duration),
        "sound": bool(request.audio),
        "mode": request.mode,
    }
    if request.image_to_video:
        if not image:
            raise ValueError("inference.sh image-to-video needs the uploaded start frame's uri.")
        fields["image"] = image
        if end_image:
            fields["end_image"] = end_image
    else:
        fields["aspect_ratio"] = request.aspect_ratio
    payload: dict[str, Any] = {"app": APP, "input": fields}
    if callback_url:
        payload["webhook"] = callback_url
    return payload


def file_request(mime: str, size: int, filename: str) -> dict[str, Any]:
    """The `POST /files` body for one file, field for field as the SDK's `upload_file` writes it."""
    return {
        "files": [
            {"uri": "", "filename": filename, "content_type": mime, "path": None, "size": size, "public": None}
        ]
    }


def unwrap(body: Any) -> Any:
    """The `data` of an envelope `{"data": ..., "messages": [...]}`; a body without `data` as it is."""
    if isinstance(body, Mapping) and "data" in body:
        return body["data"]
    return body


def status_name(host: HostIdentity, status: Any) -> str:
    """The SDK's name for a task status given as its number or its name; HostProtocolError when unknown."""
    name: str | None = None
    if isinstance(status, int) and not isinstance(status, bool):
        name = STATUS_NAMES.get(status)
    elif isinstance(status, str) and status.strip().lower() in _PHASES:
        name = status.strip().lower()
    if name is None:
        raise HostProtocolError(f"{host.label} reported an unknown task status {status!r}.")
    return name


def status_phase(host: HostIdentity, status: Any) -> TaskPhase:
    """Our phase for a task status (number or name, as the SDK reads it)."""
    return _PHASES[status_name(host, status)]


def rejected_sentence(host: HostIdentity, reason: object) -> str:
    """Why a run was refused before it ran (status 13): the account could not pay for it."""
    quoted = host.quote(reason) if reason else "no reason given"
    return (
        f"{host.label} refused to run the clip: {quoted}. Nothing was generated. Add credits or a payment "
        f"method to your {host.label} account, then press Retry."
    )


def _video_url(host: HostIdentity, output: Any) -> str:
    video = output.get("video") if isinstance(output, Mapping) else output
    if video is None and isinstance(output, Mapping):
        # The output key is unverified; a single file object of a video type is the clip whatever its key.
        videos = [v for v in output.values()
                  if isinstance(v, Mapping) and str(v.get("content_type", "")).startswith("video/")]
        video = videos[0] if len(videos) == 1 else None
    if isinstance(video, list) and video:
        video = video[0]
    if isinstance(video, Mapping):
        video = video.get("uri") or video.get("url")
    if isinstance(video, str) and video:
        return video
    raise HostProtocolError(f"{host.label} reported a completed task without a video.")


def parse_task(host: HostIdentity, task: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(task id, status) from a task object (the `data` of a GET answer)."""
    task_id = require_text(host, task, "id", "a task")
    name = status_name(host, task.get("status"))
    phase = _PHASES[name]
    if phase == "succeeded":
        return task_id, TaskStatus("succeeded", video_url=_video_url(host, task.get("output")), progress=1.0)
    if phase == "failed":
        error = task.get("error")
        reason = host_detail(error) if isinstance(error, Mapping) else error
        sentence = rejected_sentence(host, reason) if name == "rejected" else failure_sentence(host, reason)
        return task_id, TaskStatus("failed", error=sentence)
    return task_id, TaskStatus(phase)


def problem_code(body: Any) -> str | None:
    """The API's error code, from a problem+json `type` (".../errors/<code>") or a legacy `error.code`."""
    if not isinstance(body, Mapping):
        return None
    kind = body.get("type")
    if isinstance(kind, str) and "/errors/" in kind:
        return kind.rsplit("/errors/", 1)[-1] or None
    error = body.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("code"), str):
        return error["code"]
    return None


class InferenceClient(KeyedHostClient):
    """Kling 2.6 on inference.sh (`klingai/video-v2-6`)."""

    name = "inference"
    caps = CAPABILITIES["inference"]
    build_payload = staticmethod(build_payload)

    def _headers(self) -> dict[str, str]:
        # Exactly what the SDK sends, less its own User-Agent.
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self._credential()}"}

    def _task_url(self, task_id: str) -> str:
        return f"{self._base}/tasks/{quote(task_id, safe='')}"

    def _classify(self, response: httpx.Response, body: Any) -> HostError | None:
        """inference.sh's own refusals that the generic status mapping would word wrongly."""
        status, code = response.status_code, problem_code(body)
        if status == 402 or code in _CREDIT_CODES:
            return host_error(self.host, "credits", status_code=status, host_code=code)
        if status == 412 or code == "requirements_not_met":
            errors = body.get("errors") if isinstance(body, Mapping) else None
            needs = [str(e.get("message")) for e in errors or [] if isinstance(e, Mapping) and e.get("message")]
            detail = "; ".join(needs) or host_detail(body) or "the app's requirements are not met"
            return host_error(self.host, "invalid", detail, status_code=status, host_code=code)
        return None

    def _read(self, response: httpx.Response) -> Any:
        body = read_json(self.host, response, classify=self._classify)
        if isinstance(body, Mapping) and body.get("success") is False:
            # Older API versions refused with HTTP 200 and success=false.
            raise host_error(self.host, "invalid", host_detail(body) or "the request was refused")
        return unwrap(body)

    async def upload_frame(self, http: httpx.AsyncClient, ref: FrameRef, frames: FrameReader) -> str:
        """Upload one frame as the SDK does; returns the file's `uri` for the input.

        Nothing has been run yet, so a lost connection or an unreadable answer
        here is a refusal (a HostError), never a create that may have landed.
        """
        data = frames(ref)
        body = file_request(ref.mime, len(data), f"{ref.sha256[:16]}.{ref.extension}")
        try:
            response = await http.post(f"{self._base}/files", headers=self._headers(), json=body)
            files = self._read(response)
            if not isinstance(files, list) or not files:
                raise HostProtocolError(f"{self.host.label} sent a file answer without the file.")
            record = require_mapping(self.host, files[0], "a file answer")
            upload_url = require_text(self.host, record, "upload_url", "a file answer")
            uri = require_text(self.host, record, "uri", "a file answer")
            # The signed URL is the storage's own credential: our key must not travel there.
            stored = await http.put(upload_url, content=data, headers={"Content-Type": ref.mime})
        except httpx.TransportError as exc:
            raise HostError(
                "unavailable",
                f"{self.host.label} could not take the frame ({type(exc).__name__}). Nothing was run; "
                "try again.",
                retry_safe=True,
            ) from exc
        except HostProtocolError as exc:
            raise HostError("server", f"{exc} The frame was not uploaded and nothing was run.") from exc
        except HostError as exc:
            if exc.kind != "server":
                raise
            # No status code: the runner reads a 502/504 on a create as "may have landed", and no run was sent.
            raise HostError("server", f"{exc.message} The frame was not uploaded and nothing was run.",
                            retry_safe=True, host_code=exc.host_code) from exc
        if not stored.is_success:
            raise HostError(
                "server",
                f"{self.host.label}'s file storage refused the frame (HTTP {stored.status_code}). Nothing was run; "
                "try again.",
                retry_safe=True,
            )
        return uri

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Upload the frames, then run the app. Raises HostError on refusal."""
        headers = self._headers()
        refuse_unverified(request)
        image = end = None
        if request.start_frame is not None:
            image = await self.upload_frame(http, request.start_frame, frames)
        if request.end_frame is not None:
            end = await self.upload_frame(http, request.end_frame, frames)
        payload = build_payload(request, image=image, end_image=end, callback_url=self.config.callback_url)
        response = await http.post(f"{self._base}/apps/run", headers=headers, json=payload)
        task = require_mapping(self.host, self._read(response), "a run answer")
        return Submission(task_id=require_text(self.host, task, "id", "a run answer"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The task's state."""
        response = await http.get(self._task_url(submission.task_id), headers=self._headers())
        return parse_task(self.host, require_mapping(self.host, self._read(response), "a task"))[1]

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Ask inference.sh to cancel the task; True when it accepted."""
        response = await http.post(f"{self._task_url(submission.task_id)}/cancel", headers=self._headers())
        if response.status_code >= 400:
            read_json(self.host, response, classify=self._classify)
        return True

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """inference.sh tasks carry no id of ours, so a lost run cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> WebhookNews | None:
        """A wake-up for the task a callback names, or None when the body is not a task.

        inference.sh signs no callbacks (neither its SDK nor its docs have a
        signature), so a callback never says how the task ended: the job
        moves on what an authenticated `GET /tasks/{id}` then says.
        """
        parsed = webhook_object(body)
        if parsed is None:
            return None
        task = unwrap(parsed)
        if not isinstance(task, Mapping):
            return None
        try:
            task_id = require_text(self.host, task, "id", "a callback")
            status_name(self.host, task.get("status"))
        except HostProtocolError:
            return None
        return WebhookNews(task_id)
