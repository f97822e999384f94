"""The contract between the runner and a host client.

A host client maps a `GenerationRequest` to its host's payload and the host's
answers to ours. It owns nothing else: retries, polling cadence, persistence
and downloads live in the runner. Clients are stateless apart from their
configuration; every call gets the runner's shared `httpx.AsyncClient`.

Error contract, which the runner relies on to never pay twice:
- An answer from the host that says "no" raises `HostError` with a sentence a
  person can act on and `accepted=False` (nothing was created, nothing charged).
  `retry_safe=True` marks the answers after which re-sending a create cannot
  double-pay (429 rate limited, 503 unavailable).
- Transport failures (timeouts, resets, refused connections) propagate as
  `httpx` exceptions; the runner decides whether the create may have landed.
- A body the client cannot understand raises `HostProtocolError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

import httpx

from kling_lab.capabilities import HostCapabilities
from kling_lab.domain.jobs import FINAL_STATES, JobState  # noqa: F401 - re-exported for the clients
from kling_lab.images import FrameRef
from kling_lab.request import GenerationRequest

HostErrorKind = Literal[
    "auth",
    "credits",
    "rate_limited",
    "content_policy",
    "maintenance",
    "invalid",
    "not_found",
    "server",
    "generation_failed",
    "unavailable",
]


class HostError(Exception):
    """A host answered and refused: the message is a sentence for the user."""

    def __init__(
        self,
        kind: HostErrorKind,
        message: str,
        *,
        retry_safe: bool = False,
        retry_after: float | None = None,
        status_code: int | None = None,
        host_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_safe = retry_safe
        self.retry_after = retry_after
        self.status_code = status_code
        self.host_code = host_code


class HostProtocolError(Exception):
    """The host's answer could not be understood (malformed JSON, missing fields)."""


@dataclass(frozen=True)
class Submission:
    """What a successful create returns: the host's task id, recorded before anything else."""

    task_id: str
    extra: Mapping[str, str] | None = None
    """Host-specific handles worth keeping (fal's status/response/cancel URLs)."""


TaskPhase = Literal["queued", "running", "succeeded", "failed", "canceled"]


@dataclass(frozen=True)
class TaskStatus:
    """A host's view of a task, mapped to ours."""

    phase: TaskPhase
    video_url: str | None = None
    error: str | None = None
    actual_cost: Decimal | None = None
    """What the host says it charged, in USD, where its unit has a published rate."""
    progress: float | None = None
    """0..1 when the host reports it."""
    host_charge: HostCharge | None = None
    """What the host says it charged, in the host's own unit, exactly as reported."""


@dataclass(frozen=True)
class HostCharge:
    """A charge as the host reported it: `120000 credits` (AI/ML API), `2.5 units` (official Kling API)."""

    amount: Decimal
    unit: str
    source: str
    """The field it was read from, e.g. `meta.usage.credits_used`."""

    def as_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "unit": self.unit, "source": self.source}


@dataclass(frozen=True)
class WebhookNews:
    """What a host's callback says about one task, and whether the host proved it sent it.

    `status` is set only when the callback carried a valid signature from the
    host (checked against a configured secret or the host's published keys);
    then the runner may act on it. Otherwise it is None: an unsigned callback,
    or one from a host that signs nothing, is only a wake-up, and the job moves
    on what an authenticated status request to the host says.
    """

    task_id: str
    status: TaskStatus | None = None

    @property
    def verified(self) -> bool:
        return self.status is not None


def make_create_key(job_id: str, retry: int, attempt: int) -> str:
    """The id of one create attempt: the job id, how many times it was retried, and the attempt within that."""
    return f"{job_id}-{retry}-{attempt}"


def job_id_of(create_key: str) -> str:
    """The job id a create key (or a bare job id) belongs to."""
    match = _CREATE_KEY.match(create_key)
    return match.group(1) if match else create_key


_CREATE_KEY = re.compile(r"^(.+)-\d+-\d+$")


FrameReader = Callable[[FrameRef], bytes]
"""Returns the stored bytes of a checked frame."""


@dataclass(frozen=True)
class HostConfig:
    """Runtime configuration of one host client: where it is and the keys it needs."""

    base_url: str
    """The host's root, normalized (no trailing slash, no version segment): the client adds its own paths."""
    credentials: Mapping[str, str]
    upload_url: str | None = None
    callback_url: str | None = None
    webhook_secret: str | None = None
    """The secret the host signs callbacks with (Replicate's `whsec_...`, Kie's webhook HMAC key), if configured."""
    webhook_keys_url: str | None = None
    """Where the host publishes the public keys its callbacks are signed with (fal's JWKS)."""


class HostClient(Protocol):
    """One Kling 2.6 host.

    A host that keeps its own local copy of a finished clip (the offline animatic)
    may also offer `release(submission)`: the runner calls it once the clip is
    stored and recorded as done, so the file is not kept twice.
    """

    name: str
    caps: HostCapabilities

    async def create(
        self,
        http: httpx.AsyncClient,
        request: GenerationRequest,
        *,
        job_id: str,
        frames: FrameReader,
        create_key: str | None = None,
    ) -> Submission:
        """Submit one paid generation. Raises HostError on refusal; transport errors propagate.

        `create_key` is unique to this create attempt (the runner records it
        before sending); a host that takes an id of ours (the official Kling
        API's `external_task_id`) sends it, and `lookup(create_key)` finds the
        task when the answer is lost. None means `job_id`.
        """
        ...

    async def status(self, http: httpx.AsyncClient, submission: Submission) -> TaskStatus:
        """The task's current state. Safe to call any number of times."""
        ...

    async def cancel(self, http: httpx.AsyncClient, submission: Submission) -> bool:
        """Ask the host to cancel; False when the host has no cancel call."""
        ...

    async def lookup(self, http: httpx.AsyncClient, create_key: str) -> Submission | None:
        """Find the task a create with `create_key` made, when its answer was lost; None when impossible."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> WebhookNews | None:
        """What a callback says, or None when it must be ignored.

        None when the body is not this host's callback, and when it is forged:
        a signature that does not verify, a timestamp outside the tolerance, or
        no signature although a secret is configured. A valid signature gives
        `WebhookNews(task_id, status)`; a host that signs nothing (or no secret
        configured) gives `WebhookNews(task_id)`, a wake-up only. `now` (epoch
        seconds) is for tests of timestamp checks.
        """
        ...
