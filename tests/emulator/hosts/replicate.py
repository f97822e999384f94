"""Replicate: `kwaivgi/kling-v2.6` predictions; base URL `/replicate`, routes under `/replicate/v1`.

The base URL is the host root, as replicate 1.0.7's `REPLICATE_BASE_URL`
(`https://api.replicate.com`); the SDK and our client add `/v1`. Answers are
what the SDK's own types parse: `Prediction` (id, model, version, status,
input, output, logs, error, metrics, urls, created/started/completed_at),
`File` from `POST /v1/files`, `WebhookSigningSecret` from
`GET /v1/webhooks/default/secret`, and RFC 7807 problem bodies for errors
(`ReplicateError.from_response`). Input follows version b13f36d0's schema: an
integer duration, no end frame, cfg_scale or voices.

Webhook deliveries are signed the Standard Webhooks way Replicate uses, with
the emulator's `REPLICATE_WEBHOOK_SECRET`, per the `callback_signature` knob.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import hmac
import re
import time
from typing import Any

from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.schema import Field, problems
from tests.emulator.tasks import EmuTask
from tests.emulator.wire import BadRequestBody, EmuRequest, EmuResponse, Route, json_response, route

KEY = "REPLICATE_API_TOKEN"
SECRET = "REPLICATE_WEBHOOK_SECRET"
MODEL = "kwaivgi/kling-v2.6"
VERSION = "b13f36d030496dd78d2986ba8b2b22a44222b3f58c15fb63ef7d6b4aa3a53319"
POLICY_ERROR = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
THROTTLED = "Request was throttled. Your rate limit resets in ~30s."
WRONG_SECRET = "whsec_" + base64.b64encode(b"not-the-account-webhook-secret").decode()

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


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{int(epoch_s * 1e6) % 1_000_000:06d}Z"


def problem(status: int, title: str, detail: str, **extra: Any) -> EmuResponse:
    """An RFC 7807 problem body, as Replicate answers errors."""
    return json_response(status, {"title": title, "detail": detail, "status": status, **extra})


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """A `webhook-signature` value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the whsec_ key."""
    key = base64.b64decode(secret.split("_", 1)[1])
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class ReplicateHost(HostEmulator):
    """Replicate's predictions API for one official model."""

    name = "replicate"
    prefix = "/replicate"

    def routes(self) -> list[Route]:
        v1 = "/replicate/v1"
        return [
            route("POST", rf"{v1}/models/(?P<owner>[^/]+)/(?P<model>[^/]+)/predictions", self.create,
                  "replicate", "create"),
            route("GET", rf"{v1}/predictions/(?P<id>[^/]+)", self.get, "replicate", "status"),
            route("POST", rf"{v1}/predictions/(?P<id>[^/]+)/cancel", self.cancel, "replicate", "cancel"),
            route("POST", rf"{v1}/files", self.upload, "replicate", "upload"),
            # No fault operation: a rule for every operation must not be spent on this side request.
            route("GET", rf"{v1}/webhooks/default/secret", self.default_secret, "replicate"),
        ]

    def error_response(
        self, status: int, message: str, *, code: int | str | None = None, headers: dict[str, str] | None = None
    ) -> EmuResponse:
        if status == 429:
            # Replicate's throttling answer is a bare {"detail": ...} (its rate-limits page).
            detail = message if "throttled" in message else THROTTLED
            return json_response(429, {"detail": detail}, headers)
        response = problem(status, message.split(".")[0], message)
        response.headers.update(headers or {})
        return response

    def _unauthenticated(self) -> EmuResponse:
        return problem(401, "Unauthenticated", "You did not pass a valid authentication token")

    def _not_found(self) -> EmuResponse:
        return problem(404, "Not found", "The requested resource could not be found.")

    # -- predictions -----------------------------------------------------------------------------

    def create(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._unauthenticated()
        if f"{match.group('owner')}/{match.group('model')}" != MODEL:
            return problem(404, "Not found", "The requested model was not found.")
        try:
            body = request.json()
        except BadRequestBody:
            return problem(400, "Invalid JSON", "The request body is not JSON")
        strict = self.emu.knobs.strict
        found = problems(body, _BODY, strict=strict) or problems(body["input"], _INPUT, strict=strict)
        start_image = body["input"].get("start_image") if not found else None
        if start_image and not self._readable_image(start_image):
            found = [("start_image", "must be a URI, a data URI or a file uploaded to /v1/files")]
        if found:
            return problem(
                422, "Input validation failed", "\n".join(f"- input.{n}: {m}" for n, m in found),
                invalid_fields=[{"type": "invalid", "field": f"input.{n}", "description": m} for n, m in found],
            )
        fields = body["input"]
        events = body.get("webhook_events_filter")
        wants_completed = events is None or "completed" in events
        task = self.emu.accept_create(
            "replicate", request, task_id=self.emu.random_alnum(26), kind="i2v" if start_image else "t2v",
            prompt=fields["prompt"], payload=body, audio=fields.get("generate_audio", True),
            plan=self.emu.plan(fields["prompt"]),
            callback_url=body.get("webhook") if wants_completed else None,
        )
        return json_response(201, self.prediction(task))

    def _readable_image(self, value: str) -> bool:
        files_root = f"{self.emu.url}/replicate/v1/files/"
        if value.startswith(files_root):
            return value[len(files_root):] in self.emu.uploads
        return bool(re.match(r"(data:image/|https?://)", value))

    def get(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._unauthenticated()
        task_id = match.group("id")
        self.emu.count("status_calls", task_id)
        task = self.emu.tasks_table.get("replicate", task_id)
        return json_response(200, self.prediction(task)) if task else self._not_found()

    def cancel(self, request: EmuRequest, match: Any) -> EmuResponse:
        if not self.bearer_ok(request, KEY):
            return self._unauthenticated()
        task_id = match.group("id")
        self.emu.count("cancel_calls", task_id)
        task = self.emu.tasks_table.get("replicate", task_id)
        if task is None:
            return self._not_found()
        if self.now_phase(task) in ("queued", "running"):
            task.canceled_at = time.monotonic()
        return json_response(200, self.prediction(task))

    def prediction(self, task: EmuTask) -> dict[str, Any]:
        """The prediction object as Replicate's HTTP API and webhooks carry it."""
        phase = self.now_phase(task)
        created = task.created_epoch_ms / 1000
        started = created + task.plan.latency * self.emu.knobs.queued_share
        ended = created + task.plan.latency
        error = None
        if phase == "failed":
            error = POLICY_ERROR if task.plan.outcome == "policy" else task.plan.reason
        root = f"{self.emu.url}/replicate/v1/predictions/{task.task_id}"
        final = phase in ("succeeded", "failed", "canceled")
        return {
            "id": task.task_id,
            "model": MODEL,
            "version": VERSION,
            "input": task.payload["input"],
            "logs": "" if phase == "queued" else "Generating video...\n",
            "output": self.video_url(task) if phase == "succeeded" else None,
            "data_removed": False,
            "error": error,
            "source": "api",
            "status": _STATUS[phase],
            "created_at": _iso(created),
            "started_at": None if phase == "queued" else _iso(started),
            "completed_at": _iso(ended) if final else None,
            "urls": {"cancel": f"{root}/cancel", "get": root, "web": f"https://replicate.com/p/{task.task_id}"},
            "metrics": {"predict_time": round(ended - started, 6), "total_time": round(ended - created, 6)}
            if phase == "succeeded" else {},
        }

    # -- files and webhook secret ------------------------------------------------------------

    def upload(self, request: EmuRequest, match: Any) -> EmuResponse:
        """`POST /v1/files`: multipart with the file in the `content` part, as the SDK's files.create sends it."""
        if not self.bearer_ok(request, KEY):
            return self._unauthenticated()
        content_type = request.header("content-type")
        if not content_type.startswith("multipart/form-data"):
            return problem(400, "Bad request", "The file must be sent as multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
        part = next((p for p in message.iter_parts() if p.get_param("name", header="content-disposition")
                     == "content"), None)
        data = part.get_payload(decode=True) if part is not None else None
        if not data:
            return problem(400, "Bad request", "The `content` part with the file is missing")
        mime = part.get_content_type()
        name = part.get_filename() or "file"
        file_id = self.emu.store_upload(mime, data)
        self.emu.count("uploads", "replicate")
        now = time.time()
        return json_response(201, {
            "id": file_id,
            "name": name,
            "content_type": mime,
            "size": len(data),
            "etag": hashlib.md5(data).hexdigest(),  # noqa: S324 - an ETag, not security
            "checksums": {"sha256": hashlib.sha256(data).hexdigest(), "md5": hashlib.md5(data).hexdigest()},  # noqa: S324
            "metadata": {},
            "created_at": _iso(now),
            "expires_at": _iso(now + 24 * 3600),
            "urls": {"get": f"{self.emu.url}/replicate/v1/files/{file_id}"},
        })

    def default_secret(self, request: EmuRequest, match: Any) -> EmuResponse:
        """`GET /v1/webhooks/default/secret`: the account's signing secret, `{"key": "whsec_..."}`."""
        if not self.bearer_ok(request, KEY):
            return self._unauthenticated()
        return json_response(200, {"key": self.key(SECRET)})

    # -- callbacks -----------------------------------------------------------------------------

    def callback_body(self, task: EmuTask) -> dict[str, Any] | None:
        return self.prediction(task)

    def callback_headers(self, task: EmuTask, body: bytes) -> dict[str, str]:
        style = self.emu.knobs.callback_signature
        if style == "none":
            return {}
        webhook_id = f"msg_{self.emu.random_alnum(27)}"
        timestamp = str(int(time.time()) - (3600 if style == "stale" else 0))
        secret = WRONG_SECRET if style == "wrong" else self.key(SECRET)
        return {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
                "webhook-signature": sign(secret, webhook_id, timestamp, body)}
