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
        notes={
            "cfg_scale": "fal.ai takes cfg_scale for text-to-video only.",
            "voice_ids": "fal.ai takes voice ids with a start frame (image-to-video) only.",
            "mode": "fal.ai serves Kling 2.6 Pro only.",
        },
    ),
    "kling": HostCapabilities(
        name="kling",
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


def capabilities_for(provider: str) -> HostCapabilities:
    """The capability entry for a provider name; raises KeyError for an unknown one."""
    return CAPABILITIES[provider]
