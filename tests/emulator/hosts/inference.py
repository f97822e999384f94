"""inference.sh: `POST /apps/run`, `GET /tasks/{id}`, `POST /tasks/{id}/cancel` under `/inference` (and `/v1`).

With `X-API-Version: 2` answers are bare JSON; without it they use the v1
envelope `{"success": true, "data": ...}`. Status is a number (current SDK:
10 completed, 11 failed, 12 cancelled) or a name, per the
`inference_status_style` knob; the output video is `{uri, ...}` or a string.
"""

from __future__ import annotations

import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "INFERENCE_API_KEY"
APP = "klingai/video-v2-6"

_INPUT = [
    Field("prompt", (str,), required=True),
    Field("duration", (int,), choices=(5, 10)),
    Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1")),
    Field("sound", (bool,)),
    Field("mode", (str,), choices=("std", "pro")),
    Field("image", (str,)),
    Field("end_image", (str,)),
]
_BODY = [Field("app", (str,), required=True), Field("input", (dict,), required=True), Field("webhook", (str,))]
_NAMES = {"queued": "queued", "running": "running", "succeeded": "completed", "failed": "failed",
          "canceled": "cancelled"}
_NUMBERS = {"received": 1, "queued": 2, "running": 7, "completed": 10, "failed": 11, "cancelled": 12}


class InferenceHost(HostEmulator):
    """inference.sh's task API for the app klingai/video-v2-6."""

    name = "inference"
    prefix = "/inference"

    def routes(self) -> list[Route]:
        routes = []
        for root in ("/inference", "/inference/v1"):
            routes += [
                route("POST", f"{root}/apps/run", self.run, "inference", "create"),
                route("GET", rf"{root}/tasks/(?P<id>[^/]+)", self.get, "inference", "status"),
                route("POST", rf"{root}/tasks/(?P<id>[^/]+)/cancel", self.cancel, "inference", "cancel"),
            ]
        return routes

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        error = {"code": str(code) if code is not None else f"http_{status}", "message": message}
        return json_response(status, {"success": False, "error": error}, headers)

    def _answer(self, request: EmuRequest, status: int, task: EmuTask) -> EmuResponse:
        body = self._task_object(task)
        if request.header("x-api-version") != "2":
            return json_response(status, {"success": True, "data": body})
        return json_response(status, body)

    def run(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "invalid api key", code="unauthorized")
        try:
            body = request.json()
        except BadRequestBody:
            return self.error_response(400, "request body must be JSON", code="bad_request")
        strict = self.emu.knobs.strict
        found = problems(body, _BODY, strict=strict) or problems(body["input"], _INPUT, strict=strict)
        if found:
            return self.error_response(422, describe(found), code="validation_error")
        if body["app"].split("@")[0] != APP:
            return self.error_response(404, f"app {body['app']} not found", code="not_found")
        fields = body["input"]
        for name in ("image", "end_image"):
            if name in fields and not fields[name].startswith(("data:image/", "http://", "https://")):
                return self.error_response(422, f"{name}: must be a URL or a data URI", code="validation_error")
        plan = self.emu.plan(fields["prompt"])
        task = self.emu.accept_create(
            "inference", request, task_id=f"tsk_{self.emu.random_alnum(20)}",
            kind="i2v" if fields.get("image") else "t2v", prompt=fields["prompt"], payload=body,
            audio=bool(fields.get("sound", False)), plan=plan, callback_url=body.get("webhook"),
        )
        return self._answer(request, 200, task)

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "invalid api key", code="unauthorized")
        self.emu.count("status_calls", match.group("id"))
        task = self.emu.tasks_table.get("inference", match.group("id"))
        if task is None:
            return self.error_response(404, "task not found", code="not_found")
        return self._answer(request, 200, task)

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "invalid api key", code="unauthorized")
        self.emu.count("cancel_calls", match.group("id"))
        task = self.emu.tasks_table.get("inference", match.group("id"))
        if task is None:
            return self.error_response(404, "task not found", code="not_found")
        if self.now_phase(task) in ("queued", "running"):
            task.canceled_at = time.monotonic()
        return self._answer(request, 200, task)

    def _task_object(self, task: EmuTask) -> dict[str, Any]:
        phase = self.now_phase(task)
        name = _NAMES[phase]
        if phase == "queued" and self.emu.progress_of(task) < 0.1:
            name = "received"
        status: int | str = _NUMBERS[name] if self.emu.knobs.inference_status_style == "number" else name
        output = None
        if phase == "succeeded":
            url = self.video_url(task)
            video: Any = url if self.emu.knobs.inference_video_as_string else {
                "uri": url, "content_type": "video/mp4", "size": len(self.emu.clip_for(task)),
                "filename": "output.mp4",
            }
            output = {"video": video}
        error = None
        if phase == "failed":
            error = ("Content moderation: " + (task.plan.reason or "")) if task.plan.outcome == "policy" \
                else task.plan.reason
        return {
            "id": task.task_id,
            "app": APP,
            "status": status,
            "input": task.payload["input"],
            "output": output,
            "error": error,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(task.created_epoch_ms / 1000)),
        }

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        return self._task_object(task)
