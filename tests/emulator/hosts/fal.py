"""fal.ai queue for `fal-ai/kling-video/v2.6/pro/{text-to-video,image-to-video}` under `/fal`.

Answers are shaped as fal_client 1.0.3 reads them. Submit answers with
`status_url`, `response_url` and `cancel_url` on the owner/app path
(`fal-ai/kling-video/requests/{id}`), not the model sub-path: a client that
builds URLs from the model path gets 404s. Status answers always carry `logs`
(null unless `?logs=1`), `IN_QUEUE` a `queue_position`, `COMPLETED` its
`metrics` and, for a failed request, `error` and `error_type` (the SDK's
`Completed`). A failed request ends COMPLETED and its result URL answers with
the error, as fal documents it (docs.fal.ai/errors, /model-apis/request-errors):
a content-policy refusal is 422 with a `detail` list of typed errors, any other
failure is 500. Every answer of fal's own servers carries `x-fal-request-id`;
an `http` fault with `code="ingress"` answers like the ingress instead (an nginx
page without it), which is the one 5xx fal_client asks again after.

Webhooks (`?fal_webhook=`) POST `{request_id, gateway_request_id, status, payload, error}`
signed with ED25519 as fal signs them: `X-Fal-Webhook-Request-Id`, `-User-Id`,
`-Timestamp` and `-Signature` (hex, over those three and the SHA-256 hex of the
body, one per line). The key pair is made when the host is built; its public
half is served as a JWKS at `jwks_url`.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import (
    BadRequestBody,
    EmuRequest,
    EmuResponse,
    Route,
    json_response,
    route,
    text_response,
)

KEY = "FAL_KEY"
APP = "fal-ai/kling-video"
ENDPOINTS = {"v2.6/pro/text-to-video": "t2v", "v2.6/pro/image-to-video": "i2v"}
WEBHOOK_USER_ID = "emu-fal-user-7d1f"
POLICY_MESSAGE = (
    "The content could not be processed because it contained material flagged by a content checker."
)
INGRESS_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    "<hr><center>nginx</center></body></html>"
)

_COMMON = [
    Field("prompt", (str,), required=True),
    Field("duration", (str,), choices=("5", "10")),
    Field("negative_prompt", (str,)),
    Field("generate_audio", (bool,)),
]
_T2V = [*_COMMON, Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1")),
        Field("cfg_scale", (int, float), minimum=0, maximum=1)]
_I2V = [*_COMMON, Field("start_image_url", (str,), required=True), Field("end_image_url", (str,)),
        Field("voice_ids", (list,), max_length=2)]
_STATUS = {"queued": "IN_QUEUE", "running": "IN_PROGRESS", "succeeded": "COMPLETED", "failed": "COMPLETED",
           "canceled": "CANCELED"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FalHost(HostEmulator):
    """fal.ai's queue API for Kling 2.6 Pro."""

    name = "fal"
    prefix = "/fal"

    def __init__(self, emu: Any) -> None:
        super().__init__(emu)
        self.signing_key = Ed25519PrivateKey.generate()

    @property
    def jwks_url(self) -> str:
        """Where this emulated fal publishes the public keys its webhooks are signed with."""
        return self.emu.url + "/fal-keys/.well-known/jwks.json"

    def routes(self) -> list[Route]:
        request_root = rf"/fal/{APP}/requests/(?P<id>[^/]+)"
        return [
            route("POST", rf"/fal/{APP}/(?P<endpoint>v2\.6/pro/[a-z-]+)", self.submit, "fal", "create"),
            route("GET", request_root + "/status", self.status, "fal", "status"),
            route("GET", request_root, self.result, "fal", "result"),
            route("PUT", request_root + "/cancel", self.cancel, "fal", "cancel"),
            route("GET", r"/fal-keys/\.well-known/jwks\.json", self.jwks),
        ]

    def _own(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, *, task_id: str = ""
    ) -> EmuResponse:
        """An answer from fal's own servers, which name the request they served."""
        response = json_response(status, payload, headers)
        response.headers.setdefault("x-fal-request-id", task_id or str(uuid.uuid4()))
        return response

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        if code == "ingress":
            return text_response(status, INGRESS_PAGE, "text/html")
        error_type = str(code) if code is not None else {
            429: "rate_limited", 502: "runner_disconnected", 503: "runner_scheduling_failure",
            504: "request_timeout",
        }.get(status, "internal_server_error" if status >= 500 else "invalid_request")
        response = self._own(status, {"detail": message, "error_type": error_type}, headers)
        response.headers.setdefault("X-Fal-Error-Type", error_type)
        response.headers.setdefault("X-Fal-Retryable", "true" if status in (429, 502, 503, 504) else "false")
        return response

    def jwks(self, request: EmuRequest, match: Any) -> EmuResponse:
        raw = self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return json_response(200, {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}]})

    def _urls(self, task_id: str) -> dict[str, str]:
        root = f"{self.base_url}/{APP}/requests/{task_id}"
        return {"response_url": root, "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}

    def _unauthorized(self) -> EmuResponse:
        return self._own(401, {"detail": "No user found for Key ID and Secret"})

    def _task(self, match: Any) -> EmuTask | None:
        return self.emu.tasks_table.get("fal", match.group("id"))

    def submit(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        kind = ENDPOINTS.get(match.group("endpoint"))
        if kind is None:
            return self._own(404, {"detail": f"Application {match.group('endpoint')!r} not found"})
        try:
            body = request.json()
        except BadRequestBody:
            return self._own(400, {"detail": "Request body must be JSON"})
        found = problems(body, _I2V if kind == "i2v" else _T2V, strict=self.emu.knobs.strict)
        if found:
            return self._own(422, {"detail": [
                {"loc": ["body", name], "msg": message, "type": "value_error"} for name, message in found
            ]})
        for name in ("start_image_url", "end_image_url"):
            value = body.get(name)
            if value is not None and not str(value).startswith(("data:image/", "http://", "https://")):
                return self._own(422, {"detail": [
                    {"loc": ["body", name], "msg": "must be a URL or a data URI", "type": "value_error"}
                ]})
        plan = self.emu.plan(body["prompt"])
        task_id = self.emu.new_id()
        task = self.emu.accept_create(
            "fal", request, task_id=task_id, kind=kind, prompt=body["prompt"], payload=body,
            audio=body.get("generate_audio", True), plan=plan, callback_url=request.query.get("fal_webhook"),
        )
        return self._own(200, {"request_id": task.task_id, "gateway_request_id": task.task_id, "status": "IN_QUEUE",
                               "queue_position": 0, **self._urls(task.task_id)}, task_id=task.task_id)

    def status(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("status_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return self._own(404, {"detail": "Request not found"})
        phase = self.now_phase(task)
        with_logs = request.query.get("logs", "").lower() in ("1", "true")
        body: dict[str, Any] = {"status": _STATUS[phase], "request_id": task.task_id, **self._urls(task.task_id),
                                "logs": [] if with_logs else None}
        if phase == "queued":
            body["queue_position"] = 0
        if phase == "running" and with_logs:
            body["logs"] = [{"message": "Generating video", "level": "INFO", "source": "user",
                             "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]
        if phase in ("succeeded", "failed"):
            body["metrics"] = {"inference_time": max(task.plan.latency, 0.1)}
        if phase == "failed":
            _, error = self._failure(task)
            body["error"] = error["detail"][0]["msg"]
            body["error_type"] = error["detail"][0]["type"]
        return self._own(200 if phase in ("succeeded", "failed", "canceled") else 202, body, task_id=task.task_id)

    def result(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("result_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return self._own(404, {"detail": "Request not found"})
        phase = self.now_phase(task)
        if phase == "succeeded":
            return self._own(200, self._result_body(task), task_id=task.task_id)
        if phase == "failed":
            status, error = self._failure(task)
            return self._own(status, error, {"X-Fal-Retryable": "true" if status >= 500 else "false"},
                             task_id=task.task_id)
        if phase == "canceled":
            return self._own(400, {"detail": "Request was cancelled"}, task_id=task.task_id)
        return self._own(400, {"detail": "Request is still in progress"}, task_id=task.task_id)

    def _result_body(self, task: EmuTask) -> dict[str, Any]:
        data = self.emu.clip_for(task)
        return {"video": {"url": self.video_url(task), "content_type": "video/mp4", "file_name": "output.mp4",
                          "file_size": len(data)}}

    def _failure(self, task: EmuTask) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body of a failed request's result (fal's model-error shape)."""
        if task.plan.outcome == "policy":
            return 422, {"detail": [{"loc": ["body", "prompt"], "msg": POLICY_MESSAGE,
                                     "type": "content_policy_violation",
                                     "url": "https://docs.fal.ai/errors#content_policy_violation",
                                     "input": task.prompt}]}
        reason = task.plan.reason or "Internal server error"
        return 500, {"detail": [{"loc": ["body"], "msg": reason, "type": "internal_server_error"}]}

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("cancel_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return self._own(404, {"status": "NOT_FOUND"})
        if self.now_phase(task) in ("queued", "running"):
            task.canceled_at = time.monotonic()
            return self._own(202, {"status": "CANCELLATION_REQUESTED"}, task_id=task.task_id)
        return self._own(400, {"status": "ALREADY_COMPLETED"}, task_id=task.task_id)

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        phase = self.now_phase(task)
        body: dict[str, Any] = {"request_id": task.task_id, "gateway_request_id": task.task_id}
        if phase == "succeeded":
            body.update(status="OK", payload=self._result_body(task), error=None)
        elif phase == "canceled":
            body.update(status="ERROR", error="Request was cancelled", payload={"detail": "Request was cancelled"})
        else:
            status, error = self._failure(task)
            body.update(status="ERROR", error=f"Invalid status code: {status}", payload=error)
        return body

    def callback_headers(self, task: EmuTask, body: bytes) -> dict[str, str]:
        """fal's four signature headers, signed as the `callback_signature` knob says."""
        style = self.emu.knobs.callback_signature
        if style == "none":
            return {}
        timestamp = str(int(time.time()) - (3600 if style == "stale" else 0))
        message = "\n".join((task.task_id, WEBHOOK_USER_ID, timestamp, hashlib.sha256(body).hexdigest()))
        key = Ed25519PrivateKey.generate() if style == "wrong" else self.signing_key
        return {
            "X-Fal-Webhook-Request-Id": task.task_id,
            "X-Fal-Webhook-User-Id": WEBHOOK_USER_ID,
            "X-Fal-Webhook-Timestamp": timestamp,
            "X-Fal-Webhook-Signature": key.sign(message.encode("utf-8")).hex(),
        }
