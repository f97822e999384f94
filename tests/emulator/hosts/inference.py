"""inference.sh as the `inferencesh` SDK (0.36) reads it, under `/inference` (and `/inference/v1`).

Routes: `POST /apps/run`, `GET /tasks/{id}`, `GET /tasks/{id}/stream` (NDJSON),
`POST /tasks/{id}/cancel`, `POST /files`; the signed upload URLs are under
`/inference-storage/` and the uploaded files' `uri`s under `/inference-cdn/`.

Every answer is the envelope `{"data": ..., "messages": []}` (the SDK's
`Response`); errors are RFC 9457 problem+json (`type` ending in
`/errors/<code>`, `title`, `status`, `detail`), which the SDK's `APIError`
reads. The `X-API-Version` header is ignored, as a host ignores a header it
does not know. Task status is the SDK's `TaskStatus` number, or its name with
the `inference_status_style` knob; the output video is a file object
`{uri, content_type, size, filename}` or, with `inference_video_as_string`, a
bare URL. `[emu:reject]` or `[emu:reject=reason]` in a prompt makes the run
come back already ended with 13 REJECTED and the host's reason, the way the
SDK's types describe a run refused for want of balance (no charge, not counted
as an accepted create).

Files: `POST /files` answers one record per file with a signed `upload_url`
(PUT the bytes with the declared content type and no Authorization header, as
S3 wants) and the `uri` the SDK puts in the input. With `strict`, an input
image must be such a uri (or any other http(s) URL): a data URI is refused,
because the SDK never sends one inline, and a uri whose upload never
completed is refused too. Callbacks are the bare task object, unsigned.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import quote

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, describe, problems
from tests.emulator.tasks import EmuTask, Plan, directives
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route, text_response

KEY = "INFERENCE_API_KEY"
APP = "klingai/video-v2-6"
DEFAULT_REJECT_REASON = "insufficient balance: add credits or a payment method to run this app"
STORAGE = "/inference-storage"
CDN = "/inference-cdn"

_INPUT = [
    Field("prompt", (str,), required=True, max_length=2500),
    Field("duration", (int,), choices=(5, 10)),
    Field("aspect_ratio", (str,), choices=("16:9", "9:16", "1:1")),
    Field("sound", (bool,)),
    Field("mode", (str,), choices=("std", "pro")),
    Field("image", (str,)),
    Field("end_image", (str,)),
]
_BODY = [Field("app", (str,), required=True), Field("input", (dict,), required=True), Field("webhook", (str,))]
_FILE = [
    Field("uri", (str,)),
    Field("filename", (str, type(None))),
    Field("content_type", (str,), required=True),
    Field("path", (str, type(None))),
    Field("size", (int,), required=True, minimum=1),
    Field("public", (bool, type(None))),
]
# inferencesh.types.TaskStatus
_NUMBERS = {"received": 1, "queued": 2, "running": 7, "completed": 10, "failed": 11, "cancelled": 12, "rejected": 13}
_NAMES = {"queued": "queued", "running": "running", "succeeded": "completed", "failed": "failed",
          "canceled": "cancelled"}
_CODES = {400: "invalid_request", 401: "unauthorized", 402: "payment_required", 403: "forbidden", 404: "not_found",
          409: "conflict", 412: "requirements_not_met", 422: "validation_error", 429: "rate_limited",
          503: "app_maintenance"}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 412: "Precondition Failed", 422: "Unprocessable Entity", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def envelope(data: Any) -> dict[str, Any]:
    """The SDK's `Response`: the DTO under `data`, notices under `messages`."""
    return {"data": data, "messages": []}


def _signature(token: str) -> str:
    return hashlib.sha256(f"emu-inference-storage:{token}".encode()).hexdigest()[:40]


def _s3_error(status: int, code: str, message: str) -> EmuResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return text_response(status, body, "application/xml")


class InferenceHost(HostEmulator):
    """inference.sh's task and file API for the app klingai/video-v2-6."""

    name = "inference"
    prefix = "/inference"

    def __init__(self, emu: Any) -> None:
        super().__init__(emu)
        self._declared: dict[str, str] = {}
        """Upload token -> the content type its file record declared (the signed URL is bound to it)."""

    def routes(self) -> list[Route]:
        routes = []
        for root in ("/inference", "/inference/v1"):
            routes += [
                route("POST", f"{root}/apps/run", self.run, "inference", "create"),
                route("GET", rf"{root}/tasks/(?P<id>[^/]+)", self.get, "inference", "status"),
                route("GET", rf"{root}/tasks/(?P<id>[^/]+)/stream", self.stream, "inference", "status"),
                route("POST", rf"{root}/tasks/(?P<id>[^/]+)/cancel", self.cancel, "inference", "cancel"),
                route("POST", f"{root}/files", self.create_files, "inference", "upload"),
            ]
        routes += [
            route("PUT", rf"{STORAGE}/(?P<token>[0-9a-f]+)", self.put_file, "inference", "upload"),
            route("GET", rf"{CDN}/(?P<token>[0-9a-f]+)/(?P<name>[^/]+)", self.get_file),
        ]
        return routes

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        kind = str(code) if code is not None else _CODES.get(status, "internal_error")
        problem = {"type": f"https://api.inference.sh/errors/{kind}", "title": _TITLES.get(status, "Error"),
                   "status": status, "detail": message}
        response = json_response(status, problem, headers)
        response.content_type = "application/problem+json"
        return response

    def _authorized_json(self, request: EmuRequest) -> tuple[Any, EmuResponse | None]:
        """(the JSON body, None), or (None, the refusal) for a bad key or a body that is not JSON."""
        if not self.bearer_ok(request, KEY):
            return None, self.error_response(401, "invalid api key")
        try:
            return request.json(), None
        except BadRequestBody:
            return None, self.error_response(400, "request body must be JSON")

    # -- files ---------------------------------------------------------------------------------

    def create_files(self, request: EmuRequest, match: Any) -> EmuResponse:
        body, refused = self._authorized_json(request)
        if refused is not None:
            return refused
        found = problems(body, [Field("files", (list,), required=True)], strict=self.emu.knobs.strict)
        specs = body.get("files") if not found else []
        if not found and not specs:
            found = [("files", "must list at least one file")]
        for index, spec in enumerate(specs):
            found += [(f"files[{index}].{name}", message)
                      for name, message in problems(spec, _FILE, strict=self.emu.knobs.strict)]
        if found:
            return self.error_response(422, describe(found), code="validation_error")
        return json_response(200, envelope([self._file_record(spec) for spec in specs]))

    def _file_record(self, spec: dict[str, Any]) -> dict[str, Any]:
        token = uuid.uuid4().hex
        filename = spec.get("filename") or "upload"
        self._declared[token] = spec["content_type"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": f"file_{token[:20]}",
            "path": f"uploads/{token}/{filename}",
            "remote_path": f"uploads/{token}/{filename}",
            "upload_url": f"{self.emu.url}{STORAGE}/{token}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          f"&X-Amz-Expires=3600&X-Amz-Signature={_signature(token)}",
            "uri": f"{self.emu.url}{CDN}/{token}/{quote(filename)}",
            "content_type": spec["content_type"],
            "size": spec["size"],
            "filename": filename,
            "created_at": now,
            "updated_at": now,
        }

    def put_file(self, request: EmuRequest, match: Any) -> EmuResponse:
        token = match.group("token")
        declared = self._declared.get(token)
        if declared is None or request.query.get("X-Amz-Signature") != _signature(token):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if request.header("authorization"):
            return _s3_error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                                     "query parameter or the Authorization header should be specified")
        if request.header("content-type") != declared:
            return _s3_error(403, "SignatureDoesNotMatch", "The Content-Type is not the one the URL was signed for.")
        self.emu.uploads[token] = (declared, request.body)
        self.emu.count("uploads", "inference")
        etag = hashlib.md5(request.body, usedforsecurity=False).hexdigest()
        return EmuResponse(200, b"", "application/xml", {"ETag": f'"{etag}"'})

    def get_file(self, request: EmuRequest, match: Any) -> EmuResponse:
        stored = self.emu.uploads.get(match.group("token"))
        if stored is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return EmuResponse(200, stored[1], stored[0])

    def _input_image_problem(self, name: str, value: str) -> str | None:
        cdn = f"{self.emu.url}{CDN}/"
        if value.startswith(cdn):
            token = value[len(cdn):].split("/", 1)[0]
            return None if token in self.emu.uploads else f"input.{name}: the file's upload was never completed"
        if value.startswith(("http://", "https://")):
            return None
        if value.startswith("data:") and not self.emu.knobs.strict:
            return None
        return f"input.{name}: must be a file uri (upload it with POST /files first) or an http(s) URL"

    # -- tasks ---------------------------------------------------------------------------------

    def run(self, request: EmuRequest, match: Any) -> EmuResponse:
        body, refused = self._authorized_json(request)
        if refused is not None:
            return refused
        strict = self.emu.knobs.strict
        found = describe(problems(body, _BODY, strict=strict))
        found = found or describe(problems(body["input"], _INPUT, strict=strict), "input.")
        if found:
            return self.error_response(422, found, code="validation_error")
        if body["app"].split("@")[0] != APP:
            return self.error_response(404, f"app {body['app']} not found")
        fields = body["input"]
        for name in ("image", "end_image"):
            problem = self._input_image_problem(name, fields[name]) if name in fields else None
            if problem:
                return self.error_response(422, problem, code="validation_error")
        wanted = directives(fields["prompt"])
        if "reject" in wanted:
            return json_response(200, envelope(self._task_object(self._rejected(body, wanted["reject"]))))
        task = self.emu.accept_create(
            "inference", request, task_id=self._new_task_id(),
            kind="i2v" if fields.get("image") else "t2v", prompt=fields["prompt"], payload=body,
            audio=bool(fields.get("sound", False)), plan=self.emu.plan(fields["prompt"]),
            callback_url=body.get("webhook"),
        )
        return json_response(200, envelope(self._task_object(task)))

    def _new_task_id(self) -> str:
        return f"tsk_{self.emu.random_alnum(20)}"

    def _rejected(self, body: dict[str, Any], reason: str | None) -> EmuTask:
        """A task written already ended (status 13): it never runs and nothing is charged."""
        fields = body["input"]
        task = EmuTask(
            host="inference", task_id=self._new_task_id(), kind="i2v" if fields.get("image") else "t2v",
            prompt=fields["prompt"], payload=body, audio=bool(fields.get("sound", False)),
            plan=Plan(outcome="fail", reason=reason or DEFAULT_REJECT_REASON, latency=0.0),
            created_at=time.monotonic(), created_epoch_ms=int(time.time() * 1000), file_token=uuid.uuid4().hex,
            callback_url=body.get("webhook"), extra={"rejected": True},
            callback_state="pending" if body.get("webhook") else "none",
        )
        self.emu.tasks_table.add(task)
        return task

    def _find(self, request: EmuRequest, match: Any, counter: str) -> EmuTask | EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self.error_response(401, "invalid api key")
        self.emu.count(counter, match.group("id"))
        task = self.emu.tasks_table.get("inference", match.group("id"))
        return task if task is not None else self.error_response(404, "task not found")

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        task = self._find(request, match, "status_calls")
        if isinstance(task, EmuResponse):
            return task
        return json_response(200, envelope(self._task_object(task)))

    def stream(self, request: EmuRequest, match: Any) -> EmuResponse:
        """One NDJSON line: the task when it has ended, else a heartbeat (the SDK then re-reads the task)."""
        task = self._find(request, match, "status_calls")
        if isinstance(task, EmuResponse):
            return task
        task_object = self._task_object(task)
        final = task.extra.get("rejected") or self.now_phase(task) in ("succeeded", "failed", "canceled")
        line = task_object if final else {"type": "heartbeat"}
        return text_response(200, json.dumps(line) + "\n", "application/x-ndjson")

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        task = self._find(request, match, "cancel_calls")
        if isinstance(task, EmuResponse):
            return task
        if self.now_phase(task) in ("queued", "running") and not task.extra.get("rejected"):
            task.canceled_at = time.monotonic()
        return json_response(200, envelope(self._task_object(task)))

    def _status_name(self, task: EmuTask) -> str:
        if task.extra.get("rejected"):
            return "rejected"
        phase = self.now_phase(task)
        if phase == "queued" and self.emu.progress_of(task) < 0.1:
            return "received"
        return _NAMES[phase]

    def _task_object(self, task: EmuTask) -> dict[str, Any]:
        """The task as `TaskDTO` fields: id, status, input, output, error ("" when none), timestamps."""
        name = self._status_name(task)
        status: int | str = _NUMBERS[name] if self.emu.knobs.inference_status_style == "number" else name
        output = None
        if name == "completed":
            url = self.video_url(task)
            output = {"video": url if self.emu.knobs.inference_video_as_string else {
                "uri": url, "content_type": "video/mp4", "size": len(self.emu.clip_for(task)),
                "filename": "output.mp4",
            }}
        error = ""
        if name in ("failed", "rejected"):
            error = task.plan.reason or ""
            if task.plan.outcome == "policy":
                error = f"Content moderation: {error}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(task.created_epoch_ms / 1000))
        return {
            "id": task.task_id,
            "status": status,
            "input": task.payload["input"],
            "output": output,
            "error": error,
            "webhook": task.callback_url,
            "session_id": None,
            "created_at": stamp,
            "updated_at": stamp,
        }

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        return self._task_object(task)
