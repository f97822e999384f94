"""Replicate host client for the official model `kwaivgi/kling-v2.6` (one model for text and image).

Predictions are created on the model endpoint (no version hash), polled at
`/predictions/{id}` and cancelled at `/predictions/{id}/cancel`. Audio defaults
to ON at Replicate and doubles the price, so `generate_audio` is always sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.http_errors import (
    HostIdentity,
    failure_sentence,
    frame_data_uri,
    read_json,
    require_mapping,
    require_phase,
    require_text,
)
from kling_lab.request import GenerationRequest

MODEL = "kwaivgi/kling-v2.6"
KEY_NAME = "REPLICATE_API_TOKEN"

_STATES: dict[str, TaskPhase] = {
    "starting": "queued",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    # A Cancel-After deadline hit before the run started: not billed.
    "aborted": "canceled",
}


def build_payload(
    request: GenerationRequest, *, start_image: str | None = None, callback_url: str | None = None
) -> dict[str, Any]:
    """The prediction body for `request`: `{"input": {...}}` plus the webhook when one is configured.

    Duration is an integer, `generate_audio` is always explicit, the negative
    prompt is sent only when non-empty, `aspect_ratio` only for text-to-video
    (Replicate ignores it with a start image), `start_image` is a data URI.
    """
    if request.end_frame is not None or any(v.strip() for v in request.voice_ids):
        # validate() refuses these for Replicate; dropping them silently would pretend they had an effect.
        raise ValueError("Replicate's kwaivgi/kling-v2.6 takes neither an end frame nor voice ids.")
    fields: dict[str, Any] = {
        "prompt": request.prompt,
        "duration": int(request.duration),
        "generate_audio": bool(request.audio),
    }
    if request.negative_prompt.strip():
        fields["negative_prompt"] = request.negative_prompt
    if request.image_to_video:
        if not start_image:
            raise ValueError("Replicate image-to-video needs the start frame as a data URI.")
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


class ReplicateClient(KeyedHostClient):
    """Kling 2.6 on Replicate (`kwaivgi/kling-v2.6`)."""

    name = "replicate"
    caps = CAPABILITIES["replicate"]
    build_payload = staticmethod(build_payload)

    def _prediction_url(self, prediction_id: str) -> str:
        return f"{self._base}/predictions/{quote(prediction_id, safe='')}"

    async def create(
        self, http: httpx.AsyncClient, request: GenerationRequest, *, job_id: str, frames: FrameReader
    ) -> Submission:
        """Create a prediction on the model endpoint. Raises HostError on refusal."""
        headers = self._headers()
        start_image = None
        if request.start_frame is not None:
            start_image = frame_data_uri(request.start_frame.mime, frames(request.start_frame))
        payload = build_payload(request, start_image=start_image, callback_url=self.config.callback_url)
        response = await http.post(f"{self._base}/models/{MODEL}/predictions", headers=headers, json=payload)
        body = require_mapping(self.host, read_json(self.host, response), "a prediction")
        return Submission(task_id=require_text(self.host, body, "id", "a prediction"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The prediction's state."""
        response = await http.get(self._prediction_url(submission.task_id), headers=self._headers())
        body = require_mapping(self.host, read_json(self.host, response), "a prediction")
        return parse_prediction(self.host, body)[1]

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Cancel the prediction; True when Replicate accepted the request."""
        response = await http.post(f"{self._prediction_url(submission.task_id)}/cancel", headers=self._headers())
        read_json(self.host, response)
        return True

    async def lookup(self, http: httpx.AsyncClient, job_id: str) -> Submission | None:
        """Replicate predictions carry no id of ours, so a lost create cannot be found."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> tuple[str, TaskStatus] | None:
        """(prediction id, status) from a webhook POST, or None when it is not a prediction."""
        parsed = webhook_object(body)
        if parsed is None:
            return None
        try:
            return parse_prediction(self.host, parsed)
        except HostProtocolError:
            return None
