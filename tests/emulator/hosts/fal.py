"""fal.ai queue for `fal-ai/kling-video/v2.6/pro/{text-to-video,image-to-video}` under `/fal`.

Submit answers with `status_url`, `response_url` and `cancel_url` on the
owner/app path (`fal-ai/kling-video/requests/{id}`), not the model sub-path,
exactly the documented gotcha: a client that builds URLs from the model path
gets 404s. A failed request ends COMPLETED and its result is an error body.
Webhooks (`?fal_webhook=`) POST `{request_id, gateway_request_id, status, payload, error}`.
"""

from __future__ import annotations

import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "FAL_KEY"
APP = "fal-ai/kling-video"
ENDPOINTS = {"v2.6/pro/text-to-video": "t2v", "v2.6/pro/image-to-video": "i2v"}
POLICY_MESSAGE = (
    "The content could not be processed because it contained material flagged by a content checker."
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


class FalHost(HostEmulator):
    """fal.ai's queue API for Kling 2.6 Pro."""

    name = "fal"
    prefix = "/fal"

    def routes(self) -> list[Route]:
        request_root = rf"/fal/{APP}/requests/(?P<id>[^/]+)"
        return [
            route("POST", rf"/fal/{APP}/(?P<endpoint>v2\.6/pro/[a-z-]+)", self.submit, "fal", "create"),
            route("GET", request_root + "/status", self.status, "fal", "status"),
            route("GET", request_root, self.result, "fal", "result"),
            route("PUT", request_root + "/cancel", self.cancel, "fal", "cancel"),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        error_type = str(code) if code is not None else {
            429: "rate_limited", 502: "runner_disconnected", 503: "runner_scheduling_failure",
            504: "request_timeout",
        }.get(status, "internal_error" if status >= 500 else "invalid_request")
        response = json_response(status, {"detail": message, "error_type": error_type}, headers)
        response.headers.setdefault("X-Fal-Error-Type", error_type)
        response.headers.setdefault("X-Fal-Retryable", "true" if status in (429, 502, 503, 504) else "false")
        return response

    def _urls(self, task_id: str) -> dict[str, str]:
        root = f"{self.base_url}/{APP}/requests/{task_id}"
        return {"response_url": root, "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}

    def _unauthorized(self) -> EmuResponse:
        return json_response(401, {"detail": "No user found for Key ID and Secret"})

    def _task(self, match: Any) -> EmuTask | None:
        return self.emu.tasks_table.get("fal", match.group("id"))

    def submit(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        kind = ENDPOINTS.get(match.group("endpoint"))
        if kind is None:
            return json_response(404, {"detail": f"Application {match.group('endpoint')!r} not found"})
        try:
            body = request.json()
        except BadRequestBody:
            return json_response(400, {"detail": "Request body must be JSON"})
        found = problems(body, _I2V if kind == "i2v" else _T2V, strict=self.emu.knobs.strict)
        if found:
            return json_response(422, {"detail": [
                {"loc": ["body", name], "msg": message, "type": "value_error"} for name, message in found
            ]})
        for name in ("start_image_url", "end_image_url"):
            value = body.get(name)
            if value is not None and not str(value).startswith(("data:image/", "http://", "https://")):
                return json_response(422, {"detail": [
                    {"loc": ["body", name], "msg": "must be a URL or a data URI", "type": "value_error"}
                ]})
        plan = self.emu.plan(body["prompt"])
        task_id = self.emu.new_id()
        task = self.emu.accept_create(
            "fal", request, task_id=task_id, kind=kind, prompt=body["prompt"], payload=body,
            audio=body.get("generate_audio", True), plan=plan, callback_url=request.query.get("fal_webhook"),
        )
        return json_response(200, {"request_id": task.task_id, "status": "IN_QUEUE", "queue_position": 0,
                                   **self._urls(task.task_id)})

    def status(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("status_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return json_response(404, {"detail": "Request not found"})
        phase = self.now_phase(task)
        body: dict[str, Any] = {"status": _STATUS[phase], "response_url": self._urls(task.task_id)["response_url"]}
        if phase == "queued":
            body["queue_position"] = 0
        if phase == "running":
            body["logs"] = [{"message": "Generating video", "level": "INFO", "timestamp": time.time()}]
        return json_response(200 if phase in ("succeeded", "failed", "canceled") else 202, body)

    def result(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("result_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return json_response(404, {"detail": "Request not found"})
        return self._result_response(task)

    def _result_response(self, task: EmuTask) -> EmuResponse:
        phase = self.now_phase(task)
        if phase == "succeeded":
            return json_response(200, self._result_body(task))
        if phase == "failed":
            return json_response(422, self._error_body(task), {"X-Fal-Retryable": "false"})
        if phase == "canceled":
            return json_response(400, {"detail": "Request was cancelled"})
        return json_response(400, {"detail": "Request is still in progress"})

    def _result_body(self, task: EmuTask) -> dict[str, Any]:
        data = self.emu.clip_for(task)
        return {"video": {"url": self.video_url(task), "content_type": "video/mp4", "file_name": "output.mp4",
                          "file_size": len(data)}}

    def _error_body(self, task: EmuTask) -> dict[str, Any]:
        if task.plan.outcome == "policy":
            return {"detail": [{"loc": ["body", "prompt"], "msg": POLICY_MESSAGE, "type": "content_policy_violation",
                                "input": task.prompt}]}
        return {"detail": [{"loc": ["body"], "msg": task.plan.reason, "type": "no_media_generated"}]}

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY, scheme="Key"):
            return self._unauthorized()
        self.emu.count("cancel_calls", match.group("id"))
        task = self._task(match)
        if task is None:
            return json_response(404, {"status": "NOT_FOUND"})
        if self.now_phase(task) in ("queued", "running"):
            task.canceled_at = time.monotonic()
            return json_response(202, {"status": "CANCELLATION_REQUESTED"})
        return json_response(400, {"status": "ALREADY_COMPLETED"})

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        phase = self.now_phase(task)
        body: dict[str, Any] = {"request_id": task.task_id, "gateway_request_id": task.task_id}
        if phase == "succeeded":
            body.update(status="OK", payload=self._result_body(task))
        elif phase == "canceled":
            body.update(status="ERROR", error="Request was cancelled", payload={"detail": "Request was cancelled"})
        else:
            body.update(status="ERROR", error="Invalid status code: 422", payload=self._error_body(task))
        return body
