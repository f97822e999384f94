"""Official Kling API host client (`model_name: "kling-v2-6"`).

Each request carries `Authorization: Bearer <jwt>`: an HS256 JWT signed with
the secret key over `{iss: access key, exp: now+1800, nbf: now-5}`, made with
PyJWT as the reference's "General Information" page does. The token is cached
and replaced five minutes before it expires. The base URL is the host root
(`https://api-singapore.klingai.com`); every path starts with `/v1`.

Every create attempt carries its own `external_task_id` (the runner's create
key): the API requires the id unique per account, so a retry after a refused
or failed attempt is accepted as a new task, while a lost answer is still
found by querying with the attempt's id (`lookup`). Callbacks are not signed
(the reference's Callback Protocol page documents a body and nothing else), so
one is only a wake-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.providers.base import (
    FrameReader,
    HostCharge,
    HostConfig,
    HostError,
    HostProtocolError,
    Submission,
    TaskPhase,
    TaskStatus,
    WebhookNews,
)
from kling_lab.providers.client_base import KeyedHostClient, webhook_object
from kling_lab.providers.errors import failure_sentence, host_error_from_response, missing_key_error, refusal_error
from kling_lab.providers.frames import frame_base64
from kling_lab.providers.host_identity import HostIdentity
from kling_lab.providers.jsonish import (
    charge_amount,
    decode_json,
    host_detail,
    require_mapping,
    require_phase,
    require_text,
    try_decode_json,
)
from kling_lab.providers.kling_jwt import KlingToken
from kling_lab.providers.retry_after import parse_retry_after
from kling_lab.providers.status_kinds import CodeTable, Refusal
from kling_lab.request import GenerationRequest

MODEL_NAME = "kling-v2-6"
USD_PER_UNIT = Decimal("0.14")
"""Kling's standard price per video-generation unit (PROVIDERS.md §5)."""

TEXT2VIDEO = "text2video"
IMAGE2VIDEO = "image2video"

_STATES: dict[str, TaskPhase] = {
    "submitted": "queued",
    "processing": "running",
    "succeed": "succeeded",
    "failed": "failed",
}


# --------------------------------------------------------------------------------------------
# Mapping


def endpoint_kind(request: GenerationRequest) -> str:
    """`text2video` or `image2video`: the path segment serving `request`."""
    return IMAGE2VIDEO if request.image_to_video else TEXT2VIDEO


def build_payload(
    request: GenerationRequest,
    *,
    external_task_id: str,
    image: str | None = None,
    image_tail: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The create body for `request`.

    Always sends `model_name`, `mode`, `sound` ("on"/"off") and a string
    duration; `external_task_id` is the create attempt's id. `image`/`image_tail` are raw
    base64 without a `data:` prefix. `aspect_ratio` is for text-to-video only;
    cfg_scale is never sent (the API documents it for v1.x models only).
    """
    payload: dict[str, Any] = {
        "model_name": MODEL_NAME,
        "prompt": request.prompt,
        "mode": request.mode,
        "sound": "on" if request.audio else "off",
        "duration": str(request.duration),
        "external_task_id": external_task_id,
    }
    if request.negative_prompt.strip():
        payload["negative_prompt"] = request.negative_prompt
    if request.image_to_video:
        if not image:
            raise ValueError("Kling image-to-video needs the start frame as base64.")
        payload["image"] = image
        if image_tail:
            payload["image_tail"] = image_tail
    else:
        payload["aspect_ratio"] = request.aspect_ratio
    voices = [v for v in request.voice_ids if v.strip()]
    if voices:
        payload["voice_list"] = [{"voice_id": v} for v in voices]
    if callback_url:
        payload["callback_url"] = callback_url
    return payload


_NOT_FOUND = Refusal("not_found")
_POLICY = Refusal("content_policy", default_detail="policy triggered")
_CLOCK = Refusal("auth", hint="The signed token was expired or not yet valid: check this computer's clock.")

KLING_CODES = CodeTable(
    exact={
        1003: _CLOCK,
        1004: _CLOCK,
        1100: Refusal("unavailable",
                      default_detail="the account has a problem; check it in the Kling developer console"),
        1101: Refusal("credits", hint="The official Kling API says the account is in arrears. Top up the account, "
                      "then try again."),
        1102: Refusal("credits", hint="The official Kling API says the resource pack is used up or expired. Buy a "
                      "new pack, then try again."),
        1103: Refusal("auth", hint="The key has no access to this model or API (code 1103)."),
        1202: _NOT_FOUND,
        1203: _NOT_FOUND,
        1300: _POLICY,
        1301: _POLICY,
        1302: Refusal("rate_limited"),
        1303: Refusal("rate_limited", hint="is already running as many tasks as the resource pack allows"),
        1304: Refusal("unavailable", default_detail="this machine's IP address is not on the account's whitelist"),
        5001: Refusal("maintenance"),
    },
    ranges=(
        (range(1000, 1100), Refusal("auth")),
        (range(1200, 1300), Refusal("invalid", default_detail="code {code}")),
        (range(5000, 1 << 31), Refusal("server")),
    ),
)
"""The official API's documented error codes (the body's `code`; 0 means success)."""


def kling_code_error(
    host: HostIdentity,
    code: int,
    message: str | None,
    *,
    status_code: int | None,
    retry_after: float | None = None,
) -> HostError:
    """The HostError for one of the official API's documented error codes."""
    return refusal_error(host, KLING_CODES.refusal(code), message, code=code, status_code=status_code,
                         host_code=str(code), retry_after=retry_after)


def _read_kling_answer(host: HostIdentity, response: httpx.Response) -> Mapping[str, Any]:
    """The body of an answer with `code` 0; raises the mapped HostError otherwise."""
    body = try_decode_json(response) if response.status_code >= 400 else decode_json(host, response)
    mapping = body if isinstance(body, Mapping) else {}
    code = mapping.get("code")
    has_code = isinstance(code, int) and not isinstance(code, bool)
    if has_code and code != 0:
        raise kling_code_error(
            host,
            int(code),  # type: ignore[arg-type]
            host_detail(mapping),
            status_code=response.status_code,
            retry_after=parse_retry_after(response.headers),
        )
    if response.status_code >= 400:
        raise host_error_from_response(host, response, body)
    if not isinstance(body, Mapping):
        raise HostProtocolError(f"{host.label} sent an answer that is not a JSON object.")
    return body


def host_charge(data: Mapping[str, Any]) -> HostCharge | None:
    """The units the API says it deducted for the task (`final_unit_deduction`, a numeric string)."""
    units = charge_amount(data.get("final_unit_deduction"))
    if units is None:
        return None
    return HostCharge(amount=units, unit="units", source="final_unit_deduction")


def parse_task(host: HostIdentity, data: Mapping[str, Any]) -> tuple[str, TaskStatus]:
    """(task_id, status) from a task object (a query answer's `data`)."""
    task_id = require_text(host, data, "task_id", "a task")
    phase = require_phase(host, data.get("task_status"), _STATES, "task status")
    charge = host_charge(data)
    cost = charge.amount * USD_PER_UNIT if charge is not None else None
    if phase == "succeeded":
        result = data.get("task_result")
        videos = result.get("videos") if isinstance(result, Mapping) else None
        first = videos[0] if isinstance(videos, list) and videos else None
        url = first.get("url") if isinstance(first, Mapping) else None
        if not isinstance(url, str) or not url:
            raise HostProtocolError(f"{host.label} reported success without a video URL.")
        return task_id, TaskStatus("succeeded", video_url=url, actual_cost=cost, progress=1.0, host_charge=charge)
    if phase == "failed":
        return task_id, TaskStatus(
            "failed", error=failure_sentence(host, data.get("task_status_msg")), actual_cost=cost,
            host_charge=charge,
        )
    return task_id, TaskStatus(phase, actual_cost=cost, host_charge=charge)


# --------------------------------------------------------------------------------------------
# Client


class KlingClient(KeyedHostClient):
    """Kling 2.6 on the official API (Kuaishou developer platform)."""

    name = "kling"
    caps = CAPABILITIES["kling"]
    build_payload = staticmethod(build_payload)

    def __init__(self, config: HostConfig, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config)
        access_name, secret_name = self.caps.key_env
        access, secret = config.credentials.get(access_name), config.credentials.get(secret_name)
        self._token = KlingToken(access, secret, clock) if access and secret else None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            raise missing_key_error(self.name)
        return {"Authorization": f"Bearer {self._token.get()}", "Accept": "application/json"}

    def _task_url(self, kind: str, task_id: str) -> str:
        return f"{self._base}/v1/videos/{kind}/{quote(task_id, safe='')}"

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Create the task with `external_task_id = create_key or job_id`. Raises HostError on refusal.

        A reused external id is refused by the API (code 1201) and nothing is charged.
        """
        headers = self._headers()
        image = tail = None
        if request.start_frame is not None:
            image = frame_base64(frames(request.start_frame))
        if request.end_frame is not None:
            tail = frame_base64(frames(request.end_frame))
        kind = endpoint_kind(request)
        payload = build_payload(
            request, external_task_id=create_key or job_id, image=image, image_tail=tail,
            callback_url=self.config.callback_url,
        )
        response = await http.post(f"{self._base}/v1/videos/{kind}", headers=headers, json=payload)
        body = _read_kling_answer(self.host, response)
        data = require_mapping(self.host, body.get("data"), "a create answer")
        return Submission(task_id=require_text(self.host, data, "task_id", "a create answer"), extra={"kind": kind})

    async def _query(self, http: httpx.AsyncClient, kind: str, task_id: str) -> Mapping[str, Any]:
        response = await http.get(self._task_url(kind, task_id), headers=self._headers())
        body = _read_kling_answer(self.host, response)
        return require_mapping(self.host, body.get("data"), "a task answer")

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The task's state, from the endpoint kind recorded at create (both tried when it is unknown)."""
        kind = (submission.extra or {}).get("kind")
        kinds = [kind] if kind in (TEXT2VIDEO, IMAGE2VIDEO) else [TEXT2VIDEO, IMAGE2VIDEO]
        not_found: HostError | None = None
        for candidate in kinds:
            try:
                data = await self._query(http, candidate, submission.task_id)
            except HostError as error:
                if error.kind != "not_found":
                    raise
                not_found = error
                continue
            return parse_task(self.host, data)[1]
        assert not_found is not None  # the loop ran at least once and did not return
        raise not_found

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """The official API has no cancel call."""
        return False

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """The task created with `external_task_id = create_key`, trying text2video then image2video.

        The query path takes an external_task_id in place of the task id (the
        reference's "Query Task (Single)"). None when neither endpoint knows it.
        """
        for kind in (TEXT2VIDEO, IMAGE2VIDEO):
            try:
                data = await self._query(http, kind, create_key)
            except HostError as error:
                if error.kind == "not_found":
                    continue
                raise
            task_id = require_text(self.host, data, "task_id", "a task answer")
            return Submission(task_id=task_id, extra={"kind": kind})
        return None

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: float | None = None
    ) -> WebhookNews | None:
        """A wake-up for the task a callback_url POST names (the task object, bare or under `data`).

        The official API signs no callback, so nothing in the body is believed:
        the runner asks the API for the task's state with our own token. None
        when the body is not a Kling task object.
        """
        parsed = webhook_object(body)
        if parsed is not None and isinstance(parsed.get("data"), Mapping):
            parsed = parsed["data"]
        if parsed is None:
            return None
        task_id = parsed.get("task_id")
        if not isinstance(task_id, str) or not task_id.strip() or parsed.get("task_status") not in _STATES:
            return None
        return WebhookNews(task_id)
