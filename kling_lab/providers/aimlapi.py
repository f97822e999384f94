"""AI/ML API host client for Kling 2.6 Pro (`klingai/video-v2-6-pro-{text,image}-to-video`).

One endpoint creates and polls: `POST /v2/video/generations`, then
`GET /v2/video/generations?generation_id=<id>` (aimlapi/api-docs:
docs/api-references/video-models/Kling-AI/video-v2-6-pro-*.json and
universal-video-fetch.json). The base URL is the host root; AI/ML API's samples
write `https://api.aimlapi.com/v2`, which Settings normalizes to the root.
Generation ids contain `:` and `/`, so the id is percent-encoded. Audio
defaults to ON here: always sent. What a generation cost comes back as
`meta.usage.credits_used`. AI/ML API documents no webhook and no cancel call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostCharge,
    HostError,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, host_error, read_json
from kling_lab.providers.frames import frame_data_uri
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import host_detail, require_mapping, require_phase, require_text
from kling_lab.request import GenerationRequest

TEXT_TO_VIDEO_MODEL = "klingai/video-v2-6-pro-text-to-video"
IMAGE_TO_VIDEO_MODEL = "klingai/video-v2-6-pro-image-to-video"
CREDITS_PER_USD = Decimal(2_000_000)
"""AI/ML API's published conversion, "$1 USD = 2,000,000 credits" (docs.aimlapi.com/faq/how-can-i-track-my-funds)."""
CHARGE_SOURCE = "meta.usage.credits_used"

_STATES: dict[str, TaskPhase] = {
    "queued": "queued",
    # Their own sample loops treat these two as still pending.
    "waiting": "queued",
    "active": "running",
    "generating": "running",
    "completed": "succeeded",
    "error": "failed",
    "failed": "failed",
}


def build_payload(request: GenerationRequest, *, image: str | None = None) -> dict[str, Any]:
    """The generation body for `request`.

    Duration is an integer, `generate_audio` is always explicit, the negative
    prompt only when non-empty; `aspect_ratio` and `cfg_scale` (when set) for
    text-to-video only; `image_url` carries the start frame as a data URI.
    """
    if request.end_frame is not None or any(v.strip() for v in request.voice_ids):
        # validate() refuses these for AI/ML API; dropping them silently would pretend they had an effect.
        raise ValueError("AI/ML API takes neither an end frame nor voice ids for Kling 2.6.")
    payload: dict[str, Any] = {
        "model": IMAGE_TO_VIDEO_MODEL if request.image_to_video else TEXT_TO_VIDEO_MODEL,
        "prompt": request.prompt,
        "duration": int(request.duration),
        "generate_audio": bool(request.audio),
    }
    if request.negative_prompt.strip():
        payload["negative_prompt"] = request.negative_prompt
    if request.image_to_video:
        if not image:
            raise ValueError("AI/ML API image-to-video needs the start frame as a data URI.")
        payload["image_url"] = image
    else:
        payload["aspect_ratio"] = request.aspect_ratio
    if request.cfg_scale is not None and CAPABILITIES["aimlapi"].takes_cfg_scale(request.image_to_video):
        payload["cfg_scale"] = float(request.cfg_scale)
    return payload


def _video_url(host: HostIdentity, video: Any) -> str:
    if isinstance(video, Mapping) and isinstance(video.get("url"), str) and video["url"]:
        return str(video["url"])
    if isinstance(video, str) and video:
        return video
    raise HostProtocolError(f"{host.label} reported a completed generation without a video URL.")


def host_charge(body: Mapping[str, Any]) -> HostCharge | None:
    """What the answer says the generation cost (`meta.usage.credits_used`), or None when it says nothing usable."""
    meta = body.get("meta")
    usage = meta.get("usage") if isinstance(meta, Mapping) else None
    credits = usage.get("credits_used") if isinstance(usage, Mapping) else None
    if isinstance(credits, bool) or not isinstance(credits, int | float):
        return None
    if not math.isfinite(credits) or credits < 0:
        return None
    return HostCharge(Decimal(str(credits)), "credits", CHARGE_SOURCE)


def parse_generation(host: HostIdentity, body: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(generation id, status) from a create or poll answer (they share one shape), with the charge reported."""
    generation_id = require_text(host, body, "id", "a generation")
    phase = require_phase(host, body.get("status"), _STATES, "generation status")
    charge = host_charge(body)
    cost = charge.amount / CREDITS_PER_USD if charge is not None else None
    if phase == "succeeded":
        video_url = _video_url(host, body.get("video"))
        return generation_id, TaskStatus("succeeded", video_url=video_url, progress=1.0, actual_cost=cost,
                                         host_charge=charge)
    if phase == "failed":
        error = body.get("error")
        reason = host_detail(error) if error is not None else None
        return generation_id, TaskStatus("failed", error=failure_sentence(host, reason), actual_cost=cost,
                                         host_charge=charge)
    return generation_id, TaskStatus(phase, actual_cost=cost, host_charge=charge)


def classify(host: HostIdentity, response: httpx.Response, body: Any) -> HostError | None:
    """AI/ML API answers an empty balance with 403 ("You've run out of credits..."), not 402."""
    detail = host_detail(body) or ""
    if response.status_code == 403 and "credit" in detail.lower():
        return host_error(host, "credits", status_code=403)
    return None


class AimlapiClient(KeyedHostClient):
    """Kling 2.6 Pro on AI/ML API."""

    name = "aimlapi"
    caps = CAPABILITIES["aimlapi"]
    build_payload = staticmethod(build_payload)

    def _read(self, response: httpx.Response) -> Mapping[str, Any]:
        body = read_json(self.host, response, classify=lambda r, b: classify(self.host, r, b))
        return require_mapping(self.host, body, "a generation")

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Start a generation. Raises HostError on refusal."""
        headers = self._headers()
        image = None
        if request.start_frame is not None:
            image = frame_data_uri(request.start_frame.mime, frames(request.start_frame))
        response = await http.post(
            f"{self._base}/v2/video/generations", headers=headers, json=build_payload(request, image=image)
        )
        return Submission(task_id=require_text(self.host, self._read(response), "id", "a generation"))

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The generation's state; the id is percent-encoded because it contains `:` and `/`."""
        url = f"{self._base}/v2/video/generations?generation_id={quote(submission.task_id, safe='')}"
        response = await http.get(url, headers=self._headers())
        return parse_generation(self.host, self._read(response))[1]

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """AI/ML API has no cancel call."""
        return False

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """AI/ML API cannot find a generation by an id of ours."""
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> WebhookNews | None:
        """At most a wake-up: AI/ML API documents no callback and signs nothing, so no status is believed.

        A body of the generation shape names the generation to poll; anything
        else is None.
        """
        parsed = webhook_object(body)
        if parsed is None:
            return None
        try:
            generation_id, _ = parse_generation(self.host, parsed)
        except HostProtocolError:
            return None
        return WebhookNews(generation_id)
