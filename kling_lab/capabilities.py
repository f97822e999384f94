"""What each Kling 2.6 host accepts, as data in one place.

Validation (`kling_lab.request.validate`), the Compose page's controls and the
host clients all read this table, so a fact about a host is written once. The
facts come from `shared/PROVIDERS.md`; where a host's behaviour is unverified
the entry is conservative and says why in its notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PROVIDER_NAMES: tuple[str, ...] = ("animatic", "kie", "replicate", "aimlapi", "fal", "kling", "inference")
"""Every provider name, in the order the UI lists them."""

KLING_PROMPT_MAX = 2500
DURATIONS: tuple[int, ...] = (5, 10)
ASPECT_RATIOS: tuple[str, ...] = ("16:9", "9:16", "1:1")
MODES: tuple[str, ...] = ("std", "pro")

CfgSupport = Literal["none", "text_to_video", "always"]


@dataclass(frozen=True)
class HostCapabilities:
    """The controls one host takes and its limits."""

    name: str
    label: str
    prompt_max: int
    negative_prompt: bool
    cfg_scale: CfgSupport
    modes: tuple[str, ...]
    start_frame: bool
    end_frame: bool
    voice_ids_max: int
    aspect_ratio_with_start_frame: bool
    can_cancel: bool
    key_env: tuple[str, ...]
    offline: bool = False
    default_base_url: str = ""
    """The host's public root, as its SDK or reference writes it without a version segment."""
    version_segments: tuple[str, ...] = ()
    """Trailing path segments a base URL copied from the host's docs may carry (`/v1`, `/api/v1`); the
    client adds them itself, so `normalize_base_url` strips one of them and never doubles it."""
    create_path: str = ""
    """The path, under the root, that a text-to-video create is sent to (shown in Settings)."""
    voice_ids_need_start_frame: bool = False
    """Voice ids are taken with a start frame (image-to-video) only."""
    callback_signing_env: str | None = None
    """The variable holding the secret the host signs callbacks with; None when the host signs with
    published keys or signs nothing."""
    callback_keys_published: bool = False
    """Callbacks are signed with keys the host publishes (fal.ai's JWKS): its client is given where they are."""
    frames_uploaded_first: bool = False
    """Start frames go to the host's separate file-upload service before the create (Kie.ai): its client is
    given that service's URL."""
    default_concurrency: int = 5
    """How many of this host's jobs run at once unless Settings says otherwise."""
    notes: dict[str, str] = field(default_factory=dict)
    """Why a control is missing or has no effect, keyed by control name."""

    def takes_cfg_scale(self, image_to_video: bool) -> bool:
        """True when this host uses cfg_scale for a request of that kind."""
        if self.cfg_scale == "always":
            return True
        return self.cfg_scale == "text_to_video" and not image_to_video

    @property
    def takes_voice_ids(self) -> bool:
        return self.voice_ids_max > 0


CAPABILITIES: dict[str, HostCapabilities] = {
    "animatic": HostCapabilities(
        name="animatic",
        default_concurrency=10,
        label="Animatic (offline draft)",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=True,
        cfg_scale="always",
        modes=MODES,
        start_frame=True,
        end_frame=True,
        voice_ids_max=0,
        aspect_ratio_with_start_frame=True,
        can_cancel=True,
        key_env=(),
        offline=True,
        notes={
            "cfg_scale": "The animatic records cfg_scale with the clip but it has no visual effect.",
            "negative_prompt": "The animatic records the negative prompt but it has no visual effect.",
            "voice_ids": "The animatic has no voices; voice ids need fal.ai or the official Kling API.",
            "mode": "The animatic renders a draft either way; the mode is kept so the request "
            "can be re-run on a paid host unchanged.",
        },
    ),
    "kie": HostCapabilities(
        name="kie",
        default_concurrency=10,
        default_base_url="https://api.kie.ai",
        version_segments=("/api/v1", "/api"),
        create_path="/api/v1/jobs/createTask",
        callback_signing_env="KIE_WEBHOOK_HMAC_KEY",
        frames_uploaded_first=True,
        label="Kie.ai",
        prompt_max=1000,
        negative_prompt=False,
        cfg_scale="none",
        modes=("pro",),
        start_frame=True,
        end_frame=False,
        voice_ids_max=0,
        aspect_ratio_with_start_frame=False,
        can_cancel=False,
        key_env=("KIE_API_KEY",),
        notes={
            "negative_prompt": "Kie.ai has no negative prompt field for Kling 2.6.",
            "cfg_scale": "Kie.ai does not take cfg_scale for Kling 2.6.",
            "end_frame": "Kie.ai's Kling 2.6 image-to-video takes a start frame only.",
            "voice_ids": "Kie.ai does not offer voice ids for Kling 2.6.",
            "mode": "Kie.ai does not expose a mode; its Kling 2.6 is sold as Pro.",
            "prompt": "Kie.ai accepts at most 1,000 characters.",
        },
    ),
    "replicate": HostCapabilities(
        name="replicate",
        default_concurrency=10,
        default_base_url="https://api.replicate.com",
        version_segments=("/v1",),
        create_path="/v1/models/kwaivgi/kling-v2.6/predictions",
        callback_signing_env="REPLICATE_WEBHOOK_SECRET",
        label="Replicate",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=True,
        cfg_scale="none",
        modes=("pro",),
        start_frame=True,
        end_frame=False,
        voice_ids_max=0,
        aspect_ratio_with_start_frame=False,
        can_cancel=True,
        key_env=("REPLICATE_API_TOKEN",),
        notes={
            "cfg_scale": "Replicate's kwaivgi/kling-v2.6 has no cfg_scale input.",
            "end_frame": "Replicate's kwaivgi/kling-v2.6 has no end-frame input.",
            "voice_ids": "Replicate's kwaivgi/kling-v2.6 has no voice input.",
            "mode": "Replicate serves Kling 2.6 Pro only.",
        },
    ),
    "aimlapi": HostCapabilities(
        name="aimlapi",
        default_concurrency=5,
        default_base_url="https://api.aimlapi.com",
        version_segments=("/v2", "/v1"),
        create_path="/v2/video/generations",
        callback_signing_env=None,
        label="AI/ML API",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=True,
        cfg_scale="text_to_video",
        modes=("pro",),
        start_frame=True,
        end_frame=False,
        voice_ids_max=0,
        aspect_ratio_with_start_frame=False,
        can_cancel=False,
        key_env=("AIMLAPI_API_KEY",),
        notes={
            "cfg_scale": "AI/ML API takes cfg_scale for text-to-video only.",
            "end_frame": "AI/ML API documents no end-frame field for Kling 2.6.",
            "voice_ids": "AI/ML API does not offer voice ids for Kling 2.6.",
            "mode": "AI/ML API serves Kling 2.6 Pro only.",
        },
    ),
    "fal": HostCapabilities(
        name="fal",
        default_concurrency=10,
        default_base_url="https://queue.fal.run",
        version_segments=(),
        create_path="/fal-ai/kling-video/v2.6/pro/text-to-video",
        callback_signing_env=None,
        callback_keys_published=True,
        label="fal.ai",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=True,
        cfg_scale="text_to_video",
        modes=("pro",),
        start_frame=True,
        end_frame=True,
        voice_ids_max=2,
        aspect_ratio_with_start_frame=False,
        can_cancel=True,
        key_env=("FAL_KEY",),
        voice_ids_need_start_frame=True,
        notes={
            "cfg_scale": "fal.ai takes cfg_scale for text-to-video only.",
            "voice_ids": "fal.ai takes voice ids with a start frame (image-to-video) only.",
            "mode": "fal.ai serves Kling 2.6 Pro only.",
        },
    ),
    "kling": HostCapabilities(
        name="kling",
        default_concurrency=5,
        default_base_url="https://api-singapore.klingai.com",
        version_segments=("/v1",),
        create_path="/v1/videos/text2video",
        callback_signing_env=None,
        label="Kling official API",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=True,
        cfg_scale="none",
        modes=MODES,
        start_frame=True,
        end_frame=True,
        voice_ids_max=2,
        aspect_ratio_with_start_frame=False,
        can_cancel=False,
        key_env=("KLING_ACCESS_KEY", "KLING_SECRET_KEY"),
        notes={
            "cfg_scale": "The official API documents cfg_scale for Kling v1.x only, not 2.6.",
        },
    ),
    "inference": HostCapabilities(
        name="inference",
        default_concurrency=5,
        default_base_url="https://api.inference.sh",
        version_segments=("/v1",),
        create_path="/apps/run",
        callback_signing_env=None,
        label="inference.sh",
        prompt_max=KLING_PROMPT_MAX,
        negative_prompt=False,
        cfg_scale="none",
        modes=MODES,
        start_frame=True,
        end_frame=True,
        voice_ids_max=0,
        aspect_ratio_with_start_frame=False,
        can_cancel=True,
        key_env=("INFERENCE_API_KEY",),
        notes={
            "negative_prompt": "inference.sh's input schema for Kling 2.6 could not be verified to take "
            "a negative prompt.",
            "cfg_scale": "inference.sh's input schema for Kling 2.6 has no verified cfg_scale.",
            "voice_ids": "inference.sh's voice-id field could not be verified.",
        },
    ),
}


def normalize_base_url(provider: str, url: str | None) -> str:
    """The host root a client builds its paths on, from a base URL written either way.

    `https://api.replicate.com/v1` and `https://api.replicate.com` (the SDK's
    `REPLICATE_BASE_URL`) both give `https://api.replicate.com`; AI/ML API's
    `https://api.aimlapi.com/v2` gives the root too. Trailing slashes go; one
    of the host's version segments is stripped, so the client's own never
    doubles. An empty value gives the host's public default.
    """
    caps = CAPABILITIES[provider]
    value = (url or "").strip().rstrip("/") or caps.default_base_url
    lowered = value.lower()
    for segment in sorted(caps.version_segments, key=len, reverse=True):
        if lowered.endswith(segment.lower()):
            return value[: len(value) - len(segment)].rstrip("/")
    return value


def missing_key_sentence(provider: str, then: str = "", *, context: str = "app") -> str:
    """The one sentence for a host whose key is not set: where a key can come from, and what to do next.

    `context` is "app" (Settings, the secrets file or the environment) or "cli": the command has no
    Settings page, so it names the variable to set and the two places the command reads it from.
    """
    caps = CAPABILITIES[provider]
    names = " and ".join(caps.key_env)
    if context == "cli":
        sentence = (f"No key is set for {caps.label}: set {names} in the environment, or in .streamlit/secrets.toml "
                    "in the folder you run kling-lab from (the environment wins).")
    else:
        sentence = (f"No key is set for {caps.label}: add {names} in Settings (this browser only), "
                    ".streamlit/secrets.toml or the environment.")
    return f"{sentence} {then}" if then else sentence


def create_endpoint(provider: str, url: str | None) -> str:
    """The full URL a text-to-video create goes to with this base URL (what Settings shows)."""
    return normalize_base_url(provider, url) + CAPABILITIES[provider].create_path


def capabilities_for(provider: str) -> HostCapabilities:
    """The capability entry for a provider name; raises KeyError for an unknown one."""
    return CAPABILITIES[provider]
