"""AI/ML API: `POST /v2/video/generations` and `GET /v2/video/generations?generation_id=` under `/aimlapi`.

Generation ids contain `:` and `/` (`<uuid>:klingai/video-v2-6-pro-...`), as in
the docs, so a client that does not percent-encode them is caught. No
callbacks, no cancel.
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "AIMLAPI_API_KEY"
T2V = "klingai/video-v2-6-pro-text-to-video"
I2V = "klingai/video-v2-6-pro-image-to-video"

_COMMON = [
    Field("model", (str,), required=True, choices=(T2V, I2V)),
    Field("prompt", (str,), required=True, max_length=2500),
    Field("duration", (int,), choices=(5, 10)),
    Field("negative_prompt", (str,), max_length=2500),
    Field("generate_audio", (bool,)),
    Field("provider", (str,), choices=("auto", "kling", "klingai", "fal")),
]
_T2V = [*_COMMON, Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1")),
        Field("cfg_scale", (int, float), minimum=0, maximum=1)]
_I2V = [*_COMMON, Field("image_url", (str,), required=True)]
_STATUS = {"queued": "queued", "running": "generating", "succeeded": "completed", "failed": "error",
           "canceled": "error"}


class AimlapiHost(HostEmulator):
    """AI/ML API's video generations for Kling 2.6 Pro."""

    name = "aimlapi"
    prefix = "/aimlapi"

    def routes(self) -> list[Route]:
        return [
            route("POST", "/aimlapi/v2/video/generations", self.create, "aimlapi", "create"),
            route("GET", "/aimlapi/v2/video/generations", self.get, "aimlapi", "status"),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        name = str(code) if code is not None else {401: "Unauthorized", 429: "TooManyRequests"}.get(status, "Error")
        return json_response(status, {"error": {"name": name, "message": message}, "statusCode": status}, headers)

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "Invalid API key")
        try:
            body = request.json()
        except BadRequestBody:
            return self.error_response(400, "Request body must be JSON", code="BadRequest")
        kind = "i2v" if isinstance(body, dict) and body.get("model") == I2V else "t2v"
        found = problems(body, _I2V if kind == "i2v" else _T2V, strict=self.emu.knobs.strict)
        if found:
            return self.error_response(400, describe(found), code="ValidationError")
        if kind == "i2v" and not re.match(r"(data:image/|https?://|[A-Za-z0-9+/=]{64})", body["image_url"]):
            return self.error_response(400, "image_url: must be a URL or a base64 image", code="ValidationError")
        plan = self.emu.plan(body["prompt"])
        task_id = f"{self.emu.new_id()}:{body['model']}"
        task = self.emu.accept_create(
            "aimlapi", request, task_id=task_id, kind=kind, prompt=body["prompt"], payload=body,
            audio=body.get("generate_audio", True), plan=plan,
        )
        return json_response(201, self._generation(task))

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "Invalid API key")
        task_id = request.query.get("generation_id", "")
        self.emu.count("status_calls", task_id)
        task = self.emu.tasks_table.get("aimlapi", task_id)
        if task is None:
            return self.error_response(404, f"Generation {task_id!r} not found", code="NotFound")
        return json_response(200, self._generation(task))

    def _generation(self, task: EmuTask) -> dict[str, Any]:
        phase = self.now_phase(task)
        status = _STATUS[phase]
        if phase == "queued" and self.emu.progress_of(task) < 0.1:
            status = "waiting"
        body: dict[str, Any] = {"id": task.task_id, "status": status, "video": None, "error": None, "meta": None}
        if phase == "succeeded":
            body["video"] = {"url": self.video_url(task)}
            body["meta"] = {"usage": {"credits_used": 120000 if task.audio else 60000}}
        elif phase == "failed":
            name = "ContentPolicyViolation" if task.plan.outcome == "policy" else "GenerationError"
            body["error"] = {"name": name, "message": task.plan.reason}
        elif phase == "canceled":
            body["error"] = {"name": "Canceled", "message": "The generation was canceled"}
        return body
