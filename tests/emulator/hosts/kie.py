"""Kie.ai: createTask / recordInfo / callBackUrl under `/kie`, and its file host under `/kie-upload`.

Answers follow docs.kie.ai: market/kling/text-to-video and image-to-video
(createTask), market/common/get-task-detail (recordInfo carries exactly the
fields that page shows), common-api/webhook-verification (callbacks signed
with `X-Webhook-Timestamp` and `X-Webhook-Signature` = base64(HMAC-SHA256(
taskId + "." + timestamp)) under KIE_WEBHOOK_HMAC_KEY, per the emulator's
`callback_signature` knob). Errors carry `{"code", "msg"}`; whether the HTTP
status mirrors the body code is a knob (`kie_http_mirrors_code`) because Kie's
docs do not say. The task record says `message` where createTask says `msg`,
as in the docs. The callback body is the record under `data` with a `code` and
`msg`, and `consumeCredits` as Kie's callbacks show it (the docs show no callback body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "KIE_API_KEY"
HMAC_KEY = "KIE_WEBHOOK_HMAC_KEY"
STALE_S = 3600
MODELS = {"kling-2.6/text-to-video": "t2v", "kling-2.6/image-to-video": "i2v"}

_T2V_INPUT = [
    Field("prompt", (str,), required=True, max_length=1000),
    Field("sound", (bool,), required=True),
    Field("aspect_ratio", (str,), required=True, choices=("1:1", "16:9", "9:16")),
    Field("duration", (str,), required=True, choices=("5", "10")),
]
_I2V_INPUT = [
    Field("prompt", (str,), required=True, max_length=1000),
    Field("image_urls", (list,), required=True, max_length=1),
    Field("sound", (bool,), required=True),
    Field("duration", (str,), required=True, choices=("5", "10")),
]
_BODY = [
    Field("model", (str,), required=True, choices=tuple(MODELS)),
    Field("input", (dict,), required=True),
    Field("callBackUrl", (str,)),
]
_STATE = {"queued": "queuing", "running": "generating", "succeeded": "success", "failed": "fail", "canceled": "fail"}


class KieHost(HostEmulator):
    """Kie.ai's market API for kling-2.6 and its base64 upload endpoint."""

    name = "kie"
    prefix = "/kie"

    def routes(self) -> list[Route]:
        return [
            route("POST", "/kie/api/v1/jobs/createTask", self.create, "kie", "create"),
            route("GET", "/kie/api/v1/jobs/recordInfo", self.record_info, "kie", "status"),
            route("POST", "/kie-upload/api/file-base64-upload", self.upload, "kie", "upload"),
            route("GET", r"/kie-upload/files/(?P<token>[0-9a-f]+)/(?P<name>[^/]+)", self.uploaded_file),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        body_code = int(code) if code is not None else status
        http_status = status if self.emu.knobs.kie_http_mirrors_code else 200
        return json_response(http_status, {"code": body_code, "msg": message, "data": None}, headers)

    def _refuse(self, code: int, message: str) -> EmuResponse:
        return self.error_response(code, message, code=None)

    # -- uploads -----------------------------------------------------------------------------

    def upload(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._refuse(401, "You do not have access permissions")
        try:
            body = request.json()
        except BadRequestBody:
            return self._refuse(422, "Request body must be JSON")
        found = problems(
            body,
            [Field("base64Data", (str,), required=True), Field("uploadPath", (str,), required=True),
             Field("fileName", (str,))],
            strict=self.emu.knobs.strict,
        )
        if found:
            return self._refuse(422, describe(found))
        data_uri = re.fullmatch(r"data:(?P<mime>[\w/+.-]+);base64,(?P<data>.*)", body["base64Data"], re.S)
        mime = data_uri.group("mime") if data_uri else "application/octet-stream"
        encoded = data_uri.group("data") if data_uri else body["base64Data"]
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return self._refuse(422, "base64Data is not valid base64")
        token = self.emu.store_upload(mime, content)
        file_name = body.get("fileName") or f"{token}.bin"
        self.emu.count("uploads", "kie")
        return json_response(200, {
            "success": True,
            "code": 200,
            "msg": "File uploaded successfully",
            "data": {
                "fileName": file_name,
                "filePath": f"{body['uploadPath']}/{file_name}",
                "downloadUrl": f"{self.emu.url}/kie-upload/files/{token}/{file_name}",
                "fileSize": len(content),
                "mimeType": mime,
                "uploadedAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            },
        })

    def uploaded_file(self, request: EmuRequest, match: Any) -> EmuResponse:
        stored = self.emu.uploads.get(match.group("token"))
        if stored is None:
            return json_response(404, {"code": 404, "msg": "file not found"})
        mime, content = stored
        return EmuResponse(200, content, mime)

    # -- tasks -------------------------------------------------------------------------------

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._refuse(401, "You do not have access permissions")
        try:
            body = request.json()
        except BadRequestBody:
            return self._refuse(422, "Request body must be JSON")
        strict = self.emu.knobs.strict
        found = problems(body, _BODY, strict=strict)
        if found:
            return self._refuse(422, describe(found))
        kind = MODELS[body["model"]]
        found = problems(body["input"], _T2V_INPUT if kind == "t2v" else _I2V_INPUT, strict=strict)
        if found:
            return self._refuse(422, describe(found, "input."))
        fields = body["input"]
        if kind == "i2v":
            url = fields["image_urls"][0] if fields["image_urls"] else ""
            token = re.search(r"/kie-upload/files/([0-9a-f]+)/", str(url))
            if not token or token.group(1) not in self.emu.uploads:
                return self._refuse(422, "input.image_urls[0]: the image could not be downloaded")
        plan = self.emu.plan(fields["prompt"])
        task_id = f"task_kling-2.6_{int(time.time() * 1000)}{self.emu.random_digits(4)}"
        self.emu.accept_create(
            "kie", request, task_id=task_id, kind=kind, prompt=fields["prompt"], payload=body,
            audio=fields["sound"], plan=plan, callback_url=body.get("callBackUrl"),
        )
        return json_response(200, {"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def record_info(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._refuse(401, "You do not have access permissions")
        task_id = request.query.get("taskId", "")
        task = self.emu.tasks_table.get("kie", task_id)
        self.emu.count("status_calls", task_id)
        if task is None:
            return self._refuse(404, f"Task {task_id!r} not found")
        return json_response(200, {"code": 200, "message": "success", "data": self._record(task)})

    def _record(self, task: EmuTask) -> dict[str, Any]:
        phase = self.now_phase(task)
        state = _STATE[phase]
        if phase == "queued" and self.emu.progress_of(task) < 0.1:
            state = "waiting"
        result_json, fail_code, fail_msg = "", "", ""
        if phase == "succeeded":
            result_json = json.dumps({"resultUrls": [self.video_url(task)]})
        elif phase == "failed":
            fail_code = "400" if task.plan.outcome == "policy" else "500"
            fail_msg = task.plan.reason or ""
        elif phase == "canceled":
            fail_code, fail_msg = "499", "Task was cancelled"
        done = phase in ("succeeded", "failed", "canceled")
        now_ms = int(time.time() * 1000)
        return {
            "taskId": task.task_id,
            "model": task.payload.get("model"),
            "state": state,
            "param": json.dumps(task.payload),
            "resultJson": result_json,
            "failCode": fail_code,
            "failMsg": fail_msg,
            "completeTime": now_ms if done else None,
            "createTime": task.created_epoch_ms,
            "updateTime": now_ms,
        }

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        record = self._record(task)
        failed = record["state"] == "fail"
        record["consumeCredits"] = 0 if failed else credits_for(task.payload)
        return {"code": 501 if failed else 200, "msg": record["failMsg"] if failed else "success", "data": record}

    def callback_headers(self, task: EmuTask, body: bytes) -> dict[str, str]:
        mode = self.emu.knobs.callback_signature
        if mode == "none":
            return {}
        timestamp = str(int(time.time()) - (STALE_S if mode == "stale" else 0))
        key = self.key(HMAC_KEY) + ("-not-it" if mode == "wrong" else "")
        return {"X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": sign(key, task.task_id, timestamp)}


def sign(key: str, task_id: str, timestamp: str) -> str:
    """Kie's callback signature: base64(HMAC-SHA256(f"{task_id}.{timestamp}", key))."""
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def credits_for(payload: dict[str, Any]) -> int:
    """Kie credits for a kling-2.6 clip: 55 per 5 s silent, doubled for 10 s and for sound (PROVIDERS.md §1)."""
    fields = payload.get("input") or {}
    return 55 * (2 if fields.get("duration") == "10" else 1) * (2 if fields.get("sound") else 1)
