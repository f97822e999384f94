"""Replicate: `kwaivgi/kling-v2.6` predictions under `/replicate/v1`.

Create on the model endpoint (201), get and cancel by prediction id, webhook
POST of the prediction when it completes (if "completed" is in the filter).
Input follows version b13f36d0's schema: an integer duration, no end frame,
cfg_scale or voices.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "REPLICATE_API_TOKEN"
MODEL = "kwaivgi/kling-v2.6"
VERSION = "b13f36d030496dd78d2986ba8b2b22a44222b3f58c15fb63ef7d6b4aa3a53319"
POLICY_ERROR = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"

_INPUT = [
    Field("prompt", (str,), required=True),
    Field("negative_prompt", (str,)),
    Field("start_image", (str,)),
    Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1")),
    Field("duration", (int,), choices=(5, 10)),
    Field("generate_audio", (bool,)),
]
_BODY = [
    Field("input", (dict,), required=True),
    Field("webhook", (str,)),
    Field("webhook_events_filter", (list,)),
]
_STATUS = {"queued": "starting", "running": "processing", "succeeded": "succeeded", "failed": "failed",
           "canceled": "canceled"}


class ReplicateHost(HostEmulator):
    """Replicate's predictions API for one official model."""

    name = "replicate"
    prefix = "/replicate/v1"

    def routes(self) -> list[Route]:
        return [
            route("POST", r"/replicate/v1/models/(?P<owner>[^/]+)/(?P<model>[^/]+)/predictions", self.create,
                  "replicate", "create"),
            route("GET", r"/replicate/v1/predictions/(?P<id>[^/]+)", self.get, "replicate", "status"),
            route("POST", r"/replicate/v1/predictions/(?P<id>[^/]+)/cancel", self.cancel, "replicate", "cancel"),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        if status == 429:
            message = message if "throttled" in message else "Request was throttled. Your rate limit resets in ~30s."
        return json_response(status, {"title": message.split(".")[0], "detail": message, "status": status}, headers)

    def _authorized(self, request: EmuRequest) -> bool:
        return self.bearer_ok(request, KEY)

    def _unauthenticated(self) -> EmuResponse:
        return json_response(401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication "
                                   "token", "status": 401})

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self._authorized(request):
            return self._unauthenticated()
        if f"{match.group('owner')}/{match.group('model')}" != MODEL:
            return json_response(404, {"title": "Not found", "detail": "The requested model was not found.",
                                       "status": 404})
        try:
            body = request.json()
        except BadRequestBody:
            return json_response(400, {"title": "Invalid JSON", "detail": "The request body is not JSON",
                                       "status": 400})
        strict = self.emu.knobs.strict
        found = problems(body, _BODY, strict=strict) or problems(body["input"], _INPUT, strict=strict)
        if found:
            detail = "\n".join(f"- input.{name}: {message}" for name, message in found)
            return json_response(422, {
                "title": "Input validation failed",
                "detail": detail,
                "status": 422,
                "invalid_fields": [{"type": "invalid", "field": f"input.{n}", "description": m} for n, m in found],
            })
        fields = body["input"]
        if fields.get("start_image") and not re.match(r"(data:image/|https?://)", fields["start_image"]):
            return json_response(422, {"title": "Input validation failed", "status": 422,
                                       "detail": "- input.start_image: must be a URI or a data URI"})
        plan = self.emu.plan(fields["prompt"])
        task_id = self.emu.random_alnum(26)
        events = body.get("webhook_events_filter")
        wants_completed = events is None or "completed" in events
        task = self.emu.accept_create(
            "replicate", request, task_id=task_id, kind="i2v" if fields.get("start_image") else "t2v",
            prompt=fields["prompt"], payload=body, audio=fields.get("generate_audio", True), plan=plan,
            callback_url=body.get("webhook") if wants_completed else None,
        )
        return json_response(201, self._prediction(task))

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self._authorized(request):
            return self._unauthenticated()
        task_id = match.group("id")
        self.emu.count("status_calls", task_id)
        task = self.emu.tasks_table.get("replicate", task_id)
        if task is None:
            return json_response(404, {"title": "Not found", "detail": "Not found.", "status": 404})
        return json_response(200, self._prediction(task))

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self._authorized(request):
            return self._unauthenticated()
        task_id = match.group("id")
        self.emu.count("cancel_calls", task_id)
        task = self.emu.tasks_table.get("replicate", task_id)
        if task is None:
            return json_response(404, {"title": "Not found", "detail": "Not found.", "status": 404})
        if self.now_phase(task) in ("queued", "running"):
            task.canceled_at = time.monotonic()
        return json_response(200, self._prediction(task))

    def _prediction(self, task: EmuTask) -> dict[str, Any]:
        phase = self.now_phase(task)
        error = None
        if phase == "failed":
            error = POLICY_ERROR if task.plan.outcome == "policy" else task.plan.reason
        root = f"{self.base_url}/predictions/{task.task_id}"
        return {
            "id": task.task_id,
            "model": MODEL,
            "version": VERSION,
            "input": task.payload["input"],
            "logs": "",
            "output": self.video_url(task) if phase == "succeeded" else None,
            "error": error,
            "status": _STATUS[phase],
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(task.created_epoch_ms / 1000)),
            "urls": {"get": root, "cancel": f"{root}/cancel", "web": f"https://replicate.com/p/{task.task_id}"},
            "metrics": {"predict_time": task.plan.latency} if phase == "succeeded" else {},
        }

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        return self._prediction(task)
