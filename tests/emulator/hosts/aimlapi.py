"""AI/ML API: `POST /v2/video/generations` and `GET /v2/video/generations?generation_id=` under `/aimlapi`.

Follows AI/ML API's published reference (aimlapi/api-docs):
- bodies and the answer shape `{id, status, video: {url}, error: {name, message},
  meta: {usage: {credits_used}}}`, HTTP 200: docs/api-references/video-models/
  Kling-AI/video-v2-6-pro-text-to-video.json and video-v2-6-pro-image-to-video.json;
- the poll: docs/api-references/video-models/universal-video-fetch.json;
- status words `queued`, `generating`, `completed`, `error` (their sample loops
  also wait on `waiting` and `active`): the spec enum and the sample in
  docs/api-references/video-models/Kling-AI/video-v2-6-pro-text-to-video.md;
- error bodies `{message, path, requestId, statusCode, timestamp}` and the
  messages for 400/401/403/429: docs/errors-and-messages/general-info.md and
  errors-with-status-code-4xx.md (an empty balance is a 403).

Generation ids contain `:` and `/` (`<uuid>:klingai/video-v2-6-pro-...`), as in
the docs. No callbacks, no cancel (none is documented). `credits_used` on a
completed generation is the reference's example figure (120000), halved
without audio: the reference gives no price.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from typing import Any

from tests.emulator.faults import FaultRule
from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "AIMLAPI_API_KEY"
T2V = "klingai/video-v2-6-pro-text-to-video"
I2V = "klingai/video-v2-6-pro-image-to-video"
PATH = "/v2/video/generations"
CREDITS_WITH_AUDIO = 120000
NO_KEY = "This request requires a valid API key. You can create a new API key on the Billing page: https://aimlapi.com/app/keys"
NO_CREDITS = ("You've run out of credits. Please top up your balance or update your payment method to continue: "
              "https://aimlapi.com/app/billing/")

_MESSAGES = {400: "Body validation error!", 401: NO_KEY, 403: NO_CREDITS, 429: "Too Many Requests",
             500: "Internal server error", 503: "Service unavailable", 504: "Generation timeout"}
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
            route("POST", f"/aimlapi{PATH}", self.create, "aimlapi", "create"),
            route("GET", f"/aimlapi{PATH}", self.get, "aimlapi", "status"),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        body = {
            "message": message,
            "path": PATH,
            "requestId": str(uuid.uuid4()),
            "statusCode": status,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        return json_response(status, body, headers)

    def fault_response(self, rule: FaultRule, op: str) -> EmuResponse:
        """An injected fault with the message AI/ML API's error pages list for its status."""
        status = int(rule.status or 500)
        if rule.message is None and op != "download" and status in _MESSAGES:
            rule = dataclasses.replace(rule, message=_MESSAGES[status])
        return super().fault_response(rule, op)

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, NO_KEY)
        try:
            body = request.json()
        except BadRequestBody:
            return self.error_response(400, f"{_MESSAGES[400]} The body is not JSON.")
        kind = "i2v" if isinstance(body, dict) and body.get("model") == I2V else "t2v"
        found = problems(body, _I2V if kind == "i2v" else _T2V, strict=self.emu.knobs.strict)
        if found:
            return self.error_response(400, f"{_MESSAGES[400]} {describe(found)}")
        if kind == "i2v" and not re.match(r"(data:image/|https?://|[A-Za-z0-9+/=]{64})", body["image_url"]):
            return self.error_response(400, f"{_MESSAGES[400]} image_url: must be a URL or a base64 image")
        plan = self.emu.plan(body["prompt"])
        task_id = f"{self.emu.new_id()}:{body['model']}"
        task = self.emu.accept_create(
            "aimlapi", request, task_id=task_id, kind=kind, prompt=body["prompt"], payload=body,
            audio=body.get("generate_audio", True), plan=plan,
        )
        return json_response(200, self.generation(task))

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, NO_KEY)
        task_id = request.query.get("generation_id", "")
        self.emu.count("status_calls", task_id)
        task = self.emu.tasks_table.get("aimlapi", task_id)
        if task is None:
            return self.error_response(404, f"Generation {task_id!r} not found")
        return json_response(200, self.generation(task))

    def generation(self, task: EmuTask) -> dict[str, Any]:
        """A generation as the create and poll answers carry it."""
        phase = self.now_phase(task)
        status = _STATUS[phase]
        if phase == "queued" and self.emu.progress_of(task) < 0.1:
            status = "waiting"
        body: dict[str, Any] = {"id": task.task_id, "status": status, "video": None, "error": None, "meta": None}
        if phase == "succeeded":
            body["video"] = {"url": self.video_url(task)}
            body["meta"] = {"usage": {"credits_used": CREDITS_WITH_AUDIO if task.audio else CREDITS_WITH_AUDIO // 2}}
        elif phase == "failed":
            name = "ContentPolicyViolation" if task.plan.outcome == "policy" else "GenerationError"
            body["error"] = {"name": name, "message": task.plan.reason}
        elif phase == "canceled":
            body["error"] = {"name": "Canceled", "message": "The generation was canceled"}
        return body
