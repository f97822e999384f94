"""Replicate host client for the official model `kwaivgi/kling-v2.6` (one model for text and image).

Requests are the ones replicate 1.0.7 (the official SDK) sends. The base URL is
the host root (`https://api.replicate.com`, as the SDK's `REPLICATE_BASE_URL`)
and every path starts with `/v1`. Predictions are created on the model
endpoint (no version hash), polled at `/v1/predictions/{id}` and cancelled at
`/v1/predictions/{id}/cancel`. A start frame is uploaded to `/v1/files` first,
as the SDK does with a file input, and the file's URL goes in `start_image`.
Audio defaults to ON at Replicate and doubles the price, so `generate_audio`
is always sent.

Webhook deliveries are signed (`webhook-id`, `webhook-timestamp`,
`webhook-signature`) with the account's `whsec_...` secret and checked here
exactly as `replicate.webhooks.validate` checks them, plus a timestamp window
the SDK leaves optional. With no secret configured (REPLICATE_WEBHOOK_SECRET),
the client fetches the account's default secret once, as the SDK's
`webhooks.default.secret()` does, when it first needs it.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.images import FrameRef
from kling_lab.providers.base import (
    FrameReader,
    HostConfig,
    HostError,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, read_json
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import require_mapping, require_phase, require_text
from kling_lab.providers.webhook_auth import b64_equal, header, hmac_sha256, timestamp_fresh
from kling_lab.request import GenerationRequest

MODEL = "kwaivgi/kling-v2.6"

log = logging.getLogger(__name__)

_STATES: dict[str, TaskPhase] = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    # A Cancel-After deadline hit before the run started: not billed.
    "aborted": "canceled",
}


def refuse_unsupported(request: GenerationRequest) -> None:
    """ValueError for controls the model lacks: dropping them silently would pretend they had an effect."""
    if request.end_frame is not None or any(v.strip() for v in request.voice_ids):
        raise ValueError("Replicate's kwaivgi/kling-v2.6 takes neither an end frame nor voice ids.")


def build_payload(
    request: GenerationRequest, *, start_image: str | None = None, callback_url: str | None = None
) -> dict[str, Any]:
    """The prediction body for `request`: `{"input": {...}}` plus the webhook when one is configured.

    Duration is an integer, `generate_audio` is always explicit, the negative
    prompt is sent only when non-empty, `aspect_ratio` only for text-to-video
    (Replicate ignores it with a start image), `start_image` is the URL of the
    uploaded start frame.
    """
    refuse_unsupported(request)
    fields: dict[str, Any] = {
        "prompt": request.prompt,
        "duration": int(request.duration),
        "generate_audio": bool(request.audio),
    }
    if request.negative_prompt.strip():
        fields["negative_prompt"] = request.negative_prompt
    if request.image_to_video:
        if not start_image:
            raise ValueError("Replicate image-to-video needs the uploaded start frame's URL.")
        fields["start_image"] = start_image
    else:
        fields["aspect_ratio"] = request.aspect_ratio
    payload: dict[str, Any] = {"input": fields}
    if callback_url:
        payload["webhook"] = callback_url
        payload["webhook_events_filter"] = ["completed"]
    return payload


def _output_url(host: HostIdentity, output: Any) -> str:
    # The schema says a single URI string; older models answer a list of them.
    if isinstance(output, list) and output:
        output = output[0]
    if isinstance(output, str) and output:
        return output
    raise HostProtocolError(f"{host.label} reported success without an output URL.")


def parse_prediction(host: HostIdentity, body: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(prediction id, status) from a prediction object (a GET answer or a webhook body)."""
    prediction_id = require_text(host, body, "id", "a prediction")
    phase = require_phase(host, body.get("status"), _STATES, "prediction status")
    if phase == "succeeded":
        return prediction_id, TaskStatus("succeeded", video_url=_output_url(host, body.get("output")), progress=1.0)
    if phase == "failed":
        return prediction_id, TaskStatus("failed", error=failure_sentence(host, body.get("error")))
    return prediction_id, TaskStatus(phase)


# --------------------------------------------------------------------------------------------
# Webhook signatures (Standard Webhooks, as replicate/webhook.py in replicate 1.0.7 checks them)


def secret_key(secret: str) -> bytes | None:
    """The HMAC key in a `whsec_<base64>` secret, decoded as the SDK decodes it; None when unusable."""
    parts = secret.strip().split("_")
    if len(parts) != 2:
        return None
    try:
        key = base64.b64decode(parts[1])
    except (binascii.Error, ValueError):
        return None
    return key or None


def signature_valid(headers: Mapping[str, str], body: bytes, secret: str, *, now: float | None = None) -> bool:
    """True when the delivery is signed with `secret` over `{id}.{timestamp}.{body}` and its timestamp is recent.

    As the SDK: all three headers and a body are required; `webhook-signature`
    holds space-separated `<version>,<base64>` entries, any one of which may
    match, and a malformed entry before a match refuses the delivery. Unlike
    the SDK, whose tolerance is off unless asked for, the timestamp must be
    within `webhook_auth.TIMESTAMP_TOLERANCE_S`, so a captured delivery cannot
    be replayed later.
    """
    webhook_id = header(headers, "webhook-id")
    timestamp = header(headers, "webhook-timestamp")
    signatures = header(headers, "webhook-signature")
    if not (webhook_id and timestamp and signatures and body):
        return False
    if not timestamp_fresh(timestamp, now=now):
        return False
    key = secret_key(secret)
    if key is None:
        return False
    expected = hmac_sha256(key, f"{webhook_id}.{timestamp}.".encode() + body)
    for entry in signatures.split():
        parts = entry.split(",")
        if len(parts) < 2:
            return False
        if b64_equal(expected, parts[1]):
            return True
    return False


class ReplicateClient(KeyedHostClient):
    """Kling 2.6 on Replicate (`kwaivgi/kling-v2.6`)."""

    name = "replicate"
    caps = CAPABILITIES["replicate"]
    build_payload = staticmethod(build_payload)

    def __init__(self, config: HostConfig) -> None:
        super().__init__(config)
        self._default_secret: str | None = None
        self._secret_asked = False

    def _prediction_url(self, prediction_id: str) -> str:
        return f"{self._base}/v1/predictions/{quote(prediction_id, safe='')}"

    @property
    def webhook_secret(self) -> str | None:
        """The secret deliveries are checked with: the configured one, else the account default fetched."""
        return self.config.webhook_secret or self._default_secret

    async def _learn_default_secret(self, http: httpx.AsyncClient) -> None:
        # Only worth a request when Replicate will call us back and no secret was configured.
        if self._secret_asked or self.config.webhook_secret or not self.config.callback_url:
            return
        self._secret_asked = True
        try:
            response = await http.get(f"{self._base}/v1/webhooks/default/secret", headers=self._headers())
            body = require_mapping(self.host, read_json(self.host, response), "a webhook secret")
        except httpx.TransportError:
            self._secret_asked = False
            return
        except (HostError, HostProtocolError, httpx.HTTPError):
            log.warning("Replicate did not give its webhook signing secret; its callbacks will only wake jobs up.")
            return
        key = body.get("key")
        if isinstance(key, str) and secret_key(key) is not None:
            self._default_secret = key

    async def upload_frame(self, http: httpx.AsyncClient, ref: FrameRef, data: bytes) -> str:
        """Upload a start frame to `/v1/files` as the SDK does with a file input; returns the file's `urls.get`.

        Nothing is paid yet, so a failed upload is a retry-safe HostError
        rather than a transport error the runner would take for a lost create.
        """
        files = {"content": (f"{ref.sha256[:16]}.{ref.extension}", data, ref.mime)}
        try:
            response = await http.post(f"{self._base}/v1/files", headers=self._headers(), files=files)
            body = require_mapping(self.host, read_json(self.host, response), "a file upload answer")
            urls = require_mapping(self.host, body.get("urls"), "a file upload answer's `urls`")
            return require_text(self.host, urls, "get", "a file upload answer")
        except (httpx.TransportError, HostProtocolError) as exc:
            raise HostError(
                "unavailable",
                f"Replicate did not take the start frame upload ({type(exc).__name__}). "
                "Nothing was created or charged; try again.",
                retry_safe=True,
            ) from None

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Upload the start frame (if any), then create a prediction on the model endpoint."""
        headers = self._headers()
        refuse_unsupported(request)
        await self._learn_default_secret(http)
        start_image = None
        if request.start_frame is not None:
            start_image = await self.upload_frame(http, request.start_frame, frames(request.start_frame))
        payload = build_payload(request, start_image=start_image, callback_url=self.config.callback_url)
        response = await http.post(f"{self._base}/v1/models/{MODEL}/predictions", headers=headers, json=payload)
        body = require_mapping(self.host, read_json(self.host, response), "a prediction")
        return Submission(task_id=require_text(self.host, body, "id", "a prediction"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The prediction's state."""
        await self._learn_default_secret(http)
        response = await http.get(self._prediction_url(submission.task_id), headers=self._headers())
        body = require_mapping(self.host, read_json(self.host, response), "a prediction")
        return parse_prediction(self.host, body)[1]

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Cancel the prediction; True when Replicate accepted the request."""
        response = await http.post(f"{self._prediction_url(submission.task_id)}/cancel", headers=self._headers())
        read_json(self.host, response)
        return True

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """Replicate predictions carry no id of ours, so a lost create cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> WebhookNews | None:
        """The prediction a delivery is about, with its status only when Replicate's signature verifies.

        None for a body that is not a prediction, and for a forged delivery:
        a bad or missing signature or a stale timestamp while a secret is
        known. Without a secret the delivery is only a wake-up.
        """
        parsed = webhook_object(body)
        if parsed is None:
            return None
        try:
            prediction_id, status = parse_prediction(self.host, parsed)
        except HostProtocolError:
            return None
        secret = self.webhook_secret
        if secret is None:
            return WebhookNews(prediction_id)
        if not signature_valid(headers, body, secret, now=now):
            return None
        return WebhookNews(prediction_id, status)
