"""The official Kling API: `/v1/videos/{text2video,image2video}` under `/kling`, JWT-authenticated.

Follows the official API reference (app.klingai.com/global/dev/document-api):
apiReference/commonInfo (JWT, error codes), apiReference/model/textToVideo and
imageToVideo (create, query), apiReference/callbackProtocol (callback body).
Checks the HS256 JWT (signature, `iss`, `nbf`, `exp`) like the real API (codes
1000-1004), refuses a reused `external_task_id` (the reference requires it
unique per account but names no code for the refusal: 400 with code 1201 is
inferred from its "invalid parameter" row), finds a task by `external_task_id`
in the query path, applies the documented v2.6 rules (sound needs pro, an end
frame needs pro and silence, voices need sound), refuses a policy prompt at
create with code 1301, and reports `final_unit_deduction` from the unit table.
Callbacks are unsigned, as the Callback Protocol page documents no signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

ACCESS = "KLING_ACCESS_KEY"
SECRET = "KLING_SECRET_KEY"  # noqa: S105 - the variable name, not a secret
KINDS = {"text2video": "t2v", "image2video": "i2v"}

_COMMON = [
    Field("model_name", (str,), choices=("kling-v2-6",)),
    Field("prompt", (str,), required=True, max_length=2500),
    Field("negative_prompt", (str,), max_length=2500),
    Field("mode", (str,), choices=("std", "pro")),
    Field("sound", (str,), choices=("on", "off")),
    Field("duration", (str,), choices=("5", "10")),
    Field("voice_list", (list,), max_length=2),
    Field("watermark_info", (dict,)),
    Field("callback_url", (str,)),
    Field("external_task_id", (str,)),
]
_T2V = [*_COMMON, Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1"))]
_I2V = [*_COMMON, Field("image", (str,)), Field("image_tail", (str,))]
_STATUS = {"queued": "submitted", "running": "processing", "succeeded": "succeed", "failed": "failed",
           "canceled": "failed"}
_DEFAULT_CODES = {400: 1200, 401: 1000, 402: 1102, 403: 1103, 404: 1203, 429: 1302, 500: 5000, 502: 5000,
                  503: 5001, 504: 5002}


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def units_for(payload: dict[str, Any]) -> float:
    """Video-generation units Kling charges for a v2.6 task (PROVIDERS.md §5 table)."""
    ten = payload.get("duration") == "10"
    if payload.get("mode", "std") == "std":
        units = 1.5
    elif payload.get("sound") == "on":
        units = 6.0 if payload.get("voice_list") else 5.0
    else:
        units = 2.5
    return units * (2 if ten else 1)


class KlingHost(HostEmulator):
    """The official Kling API (legacy /v1/videos routes)."""

    name = "kling"
    prefix = "/kling"

    def routes(self) -> list[Route]:
        return [
            route("POST", r"/kling/v1/videos/(?P<kind>text2video|image2video)", self.create, "kling", "create"),
            route("GET", r"/kling/v1/videos/(?P<kind>text2video|image2video)/(?P<id>[^/]+)", self.query, "kling",
                  self._query_op),
        ]

    def _query_op(self, request: EmuRequest, match: Any) -> str:
        # The same path serves a task id (status) and an external_task_id (lookup after a lost create).
        return "status" if self.emu.tasks_table.get("kling", match.group("id")) else "lookup"

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        body_code = int(code) if code is not None else _DEFAULT_CODES.get(status, 5000 if status >= 500 else 1200)
        return json_response(status, {"code": body_code, "message": message, "request_id": self.emu.new_id()},
                             headers)

    def _auth_error(self, request: EmuRequest) -> EmuResponse | None:
        header = request.header("authorization")
        if not header:
            return self.error_response(401, "Authorization is empty", code=1001)
        scheme, _, token = header.partition(" ")
        parts = token.split(".")
        if scheme != "Bearer" or len(parts) != 3:
            return self.error_response(401, "Authorization is invalid", code=1002)
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        expected = hmac.new(self.key(SECRET).encode(), signing_input, hashlib.sha256).digest()
        try:
            header_obj = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            return self.error_response(401, "Authorization is invalid", code=1002)
        if header_obj.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
            return self.error_response(401, "Authorization is invalid", code=1002)
        if claims.get("iss") != self.key(ACCESS):
            return self.error_response(401, "Authorization is invalid", code=1002)
        now = time.time()
        if not isinstance(claims.get("nbf"), int | float) or now < claims["nbf"]:
            return self.error_response(401, "Authorization is not active", code=1003)
        if not isinstance(claims.get("exp"), int | float) or now >= claims["exp"]:
            return self.error_response(401, "Authorization has expired", code=1004)
        return None

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        kind = KINDS[match.group("kind")]
        try:
            body = request.json()
        except BadRequestBody:
            return self.error_response(400, "Request body is not valid JSON", code=1200)
        found = problems(body, _I2V if kind == "i2v" else _T2V, strict=self.emu.knobs.strict)
        rule_error = None if found else self._rule_error(kind, body)
        if found or rule_error:
            return self.error_response(400, rule_error or describe(found), code=1201)
        external = body.get("external_task_id")
        if external and self.emu.tasks_table.by_job_key("kling", external):
            return self.error_response(400, f"external_task_id {external} already exists", code=1201)
        plan = self.emu.plan(body["prompt"])
        if plan.outcome == "policy":
            return self.error_response(400, "Failure to pass the risk control system: " + (plan.reason or ""),
                                       code=1301)
        task_id = self.emu.random_digits(18)
        task = self.emu.accept_create(
            "kling", request, task_id=task_id, kind=kind, prompt=body["prompt"], payload=body,
            audio=body.get("sound") == "on", plan=plan, job_key=external, callback_url=body.get("callback_url"),
            extra={"path_kind": match.group("kind")},
        )
        data = {
            "task_id": task.task_id,
            "task_status": "submitted",
            "task_info": {"external_task_id": external} if external else {},
            "created_at": task.created_epoch_ms,
            "updated_at": task.created_epoch_ms,
        }
        return json_response(200, {"code": 0, "message": "SUCCEED", "request_id": self.emu.new_id(), "data": data})

    def _rule_error(self, kind: str, body: dict[str, Any]) -> str | None:
        mode = body.get("mode", "std")
        sound = body.get("sound", "off") == "on"
        for name in ("image", "image_tail"):
            value = body.get(name)
            if value is None:
                continue
            if value.startswith("data:"):
                return f"{name}: send raw base64 without the data: prefix"
            if not value.startswith(("http://", "https://")):
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    return f"{name}: invalid base64"
        if kind == "i2v" and not (body.get("image") or body.get("image_tail")):
            return "image or image_tail is required"
        if sound and mode != "pro":
            return "sound is only supported in pro mode for kling-v2-6"
        if body.get("image_tail") and (mode != "pro" or sound):
            return "image_tail requires pro mode with sound off for kling-v2-6"
        voices = body.get("voice_list") or []
        if voices and (not sound or mode != "pro"):
            return "voice_list requires pro mode with sound on"
        if any(not isinstance(v, dict) or not isinstance(v.get("voice_id"), str) for v in voices):
            return "voice_list items must be objects with a voice_id"
        return None

    def query(self, request: EmuRequest, match: Any) -> EmuResponse:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        ident = match.group("id")
        task = self.emu.tasks_table.get("kling", ident)
        if task is None:
            self.emu.count("lookup_calls", ident)
            task = self.emu.tasks_table.by_job_key("kling", ident)
        else:
            self.emu.count("status_calls", ident)
        if task is None or task.extra.get("path_kind") != match.group("kind"):
            return self.error_response(404, "Task not found", code=1203)
        return json_response(200, {"code": 0, "message": "SUCCEED", "request_id": self.emu.new_id(),
                                   "data": self._task_data(task)})

    def _task_data(self, task: EmuTask) -> dict[str, Any]:
        phase = self.now_phase(task)
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "task_status": _STATUS[phase],
            "task_status_msg": "",
            "task_info": {"external_task_id": task.job_key} if task.job_key else {},
            "watermark_info": {"enabled": False},
            "created_at": task.created_epoch_ms,
            "updated_at": int(time.time() * 1000),
        }
        if phase == "succeeded":
            data["final_unit_deduction"] = f"{units_for(task.payload):g}"
            data["task_result"] = {"videos": [{
                "id": f"{task.task_id}-v", "url": self.video_url(task), "watermark_url": self.video_url(task),
                "duration": task.payload.get("duration", "5"),
            }]}
        elif phase in ("failed", "canceled"):
            data["final_unit_deduction"] = "0"
            data["task_status_msg"] = task.plan.reason or "Task canceled"
        return data

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        # The Callback Protocol page lists the query's task object without `watermark_info`.
        return {key: value for key, value in self._task_data(task).items() if key != "watermark_info"}
