"""The generation request and its validation.

`GenerationRequest` holds exactly what a clip costs and depends on. It carries
no provider: the same request can be priced on, validated for, or sent to any
host. `validate(request, provider)` returns every problem at once as sentences
a person can act on, before any money is spent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, DURATIONS, MODES, HostCapabilities
from kling_lab.images import FrameRef, frame_rule_errors

NEGATIVE_PROMPT_MAX = 2500
VOICE_IDS_MAX = 2
SEED_MAX = 2**31 - 1


@dataclass(frozen=True)
class GenerationRequest:
    """One clip's request: prompt, parameters and frames (by content hash).

    `cfg_scale` None means "the host's default". `seed` is used by hosts that
    take one and by the animatic renderer.
    """

    prompt: str
    negative_prompt: str = ""
    mode: str = "pro"
    duration: int = 5
    aspect_ratio: str = "16:9"
    cfg_scale: float | None = None
    audio: bool = False
    start_frame: FrameRef | None = None
    end_frame: FrameRef | None = None
    voice_ids: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None

    @property
    def image_to_video(self) -> bool:
        """True when the request starts from a frame (image-to-video)."""
        return self.start_frame is not None

    def with_changes(self, **changes: Any) -> GenerationRequest:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, stable for storage and exports."""
        data = asdict(self)
        data["start_frame"] = self.start_frame.to_dict() if self.start_frame else None
        data["end_frame"] = self.end_frame.to_dict() if self.end_frame else None
        data["voice_ids"] = list(self.voice_ids)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        """Inverse of `to_dict`; unknown keys are ignored so old rows still load."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("start_frame", "end_frame"):
            if values.get(key):
                values[key] = FrameRef.from_dict(values[key])
        values["voice_ids"] = tuple(values.get("voice_ids") or ())
        return cls(**values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    if not _is_number(value):
        return False
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float
        return False


def _shown(value: object, limit: int = 40) -> str:
    """A short repr of an untrusted value for a message (never raises, never huge)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - e.g. an int past Python's digit limit
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One validation problem and the input it belongs to (prompt, negative_prompt, parameters, frames, audio)."""

    field: str
    message: str


def validate(request: GenerationRequest, provider: str) -> list[str]:
    """Every problem with `request` on `provider`, as plain sentences; empty when it may be sent.

    Never raises for bad values, including wrong types: a request built from
    untrusted input gets messages, not exceptions.
    """
    return [p.message for p in find_problems(request, provider)]


def find_problems(request: GenerationRequest, provider: str) -> list[Problem]:
    """Like `validate`, with each message tagged by the input it concerns (so a UI can show it there)."""
    caps = CAPABILITIES.get(provider) if isinstance(provider, str) else None
    if caps is None:
        known = ", ".join(CAPABILITIES)
        shown = provider[:40] if isinstance(provider, str) else _shown(provider)
        return [Problem("provider", f"“{shown}” is not a provider Kling Lab knows; choose one of: {known}.")]
    if not isinstance(request, GenerationRequest):
        return [Problem("request", "The request is not a generation request.")]
    problems: list[Problem] = []
    for field_name, messages in (
        ("prompt", _prompt_errors(request, caps)),
        ("parameters", _parameter_errors(request, caps)),
        ("frames", _frame_errors(request, caps)),
        ("audio", _audio_and_voice_errors(request, caps)),
    ):
        problems.extend(Problem(field_name, m) for m in messages)
    return problems


def unstorable_text(text: str) -> str | None:
    """What makes `text` impossible to store or send (a NUL character, or an unpaired surrogate), or None.

    PostgreSQL refuses both in any text column and no host takes them; they
    are refused at input, before anything is written or sent.
    """
    if "\x00" in text:
        return "a NUL character (\\0)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "characters that are not valid Unicode"
    return None


def text_refusal(text: object, what: str) -> str | None:
    """A sentence refusing `text` as `what` ("The prompt", "A note") when it can't be stored, else None."""
    if not isinstance(text, str):
        return None
    reason = unstorable_text(text)
    return f"{what} contains {reason}, which Kling Lab can't store or send; remove it and try again." if reason \
        else None


def _prompt_errors(request: GenerationRequest, caps: HostCapabilities) -> list[str]:
    errors: list[str] = [r for r in (text_refusal(request.prompt, "The prompt"),
                                     text_refusal(request.negative_prompt, "The negative prompt")) if r]
    prompt = request.prompt
    if not isinstance(prompt, str):
        errors.append("The prompt must be text.")
    elif not prompt.strip():
        errors.append("Write a prompt: Kling needs a description of the shot.")
    elif len(prompt) > caps.prompt_max:
        errors.append(
            f"The prompt is {len(prompt):,} characters; {caps.label} accepts at most {caps.prompt_max:,}."
        )
    negative = request.negative_prompt
    if not isinstance(negative, str):
        errors.append("The negative prompt must be text.")
    elif negative.strip():
        if not caps.negative_prompt:
            errors.append(f"{caps.notes.get('negative_prompt', caps.label + ' has no negative prompt.')} "
                          "Clear the negative prompt or pick another host.")
        elif len(negative) > NEGATIVE_PROMPT_MAX:
            errors.append(
                f"The negative prompt is {len(negative):,} characters; "
                f"Kling 2.6 accepts at most {NEGATIVE_PROMPT_MAX:,}."
            )
    return errors


def _parameter_errors(request: GenerationRequest, caps: HostCapabilities) -> list[str]:
    errors: list[str] = []
    if request.mode not in MODES:
        shown = request.mode[:40] if isinstance(request.mode, str) else _shown(request.mode)
        errors.append(f"The mode “{shown}” is not one of std or pro.")
    elif request.mode not in caps.modes:
        only = " or ".join(caps.modes)
        errors.append(f"{caps.label} runs Kling 2.6 in {only} mode only; choose {only}.")
    duration = request.duration
    # An exact int: 5.0 would reach string-typed hosts as "5.0".
    if not (isinstance(duration, int) and not isinstance(duration, bool) and duration in DURATIONS):
        errors.append(f"The duration must be 5 or 10 seconds, not {_shown(duration)}.")
    if request.aspect_ratio not in ASPECT_RATIOS:
        errors.append(f"The aspect ratio must be 16:9, 9:16 or 1:1, not {_shown(request.aspect_ratio)}.")
    cfg = request.cfg_scale
    if cfg is not None:
        if not _is_finite_number(cfg):
            errors.append(f"cfg_scale must be a number between 0 and 1, not {_shown(cfg)}.")
        elif not 0.0 <= cfg <= 1.0:
            errors.append(f"cfg_scale is {cfg:g}; it must be between 0 and 1.")
        elif not caps.takes_cfg_scale(request.image_to_video):
            reason = caps.notes.get("cfg_scale", f"{caps.label} does not take cfg_scale.")
            errors.append(f"{reason} Leave cfg_scale at the host default.")
    if not isinstance(request.audio, bool):
        errors.append("Audio must be on or off.")
    seed = request.seed
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX):
        errors.append(f"The seed must be a whole number between 0 and {SEED_MAX:,}.")
    return errors


def _frame_errors(request: GenerationRequest, caps: HostCapabilities) -> list[str]:
    errors: list[str] = []
    for ref, what in ((request.start_frame, "The start frame"), (request.end_frame, "The end frame")):
        if ref is None:
            continue
        if not isinstance(ref, FrameRef):
            errors.append(f"{what} is not a checked image; upload it again.")
            continue
        errors += frame_rule_errors(ref, what)
    if request.start_frame is not None and not caps.start_frame:
        errors.append(f"{caps.label} does not take a start frame.")
    if request.end_frame is not None:
        if request.start_frame is None:
            errors.append("An end frame needs a start frame: add a start frame or remove the end frame.")
        if not caps.end_frame:
            errors.append(
                f"{caps.notes.get('end_frame', caps.label + ' does not take an end frame.')} "
                "Remove the end frame or pick fal.ai or the official Kling API."
            )
        elif request.mode != "pro" and "pro" in caps.modes:
            errors.append("Start and end frames together need pro mode.")
    return errors


def _audio_and_voice_errors(request: GenerationRequest, caps: HostCapabilities) -> list[str]:
    errors: list[str] = []
    if request.audio is True:
        if request.mode == "std":
            errors.append("Native audio needs pro mode: switch to pro or turn audio off.")
        if request.end_frame is not None:
            errors.append("Native audio is off when an end frame is used: turn audio off or remove the end frame.")
    voices = request.voice_ids
    if not isinstance(voices, tuple | list) or not all(isinstance(v, str) for v in voices):
        errors.append("Voice ids must be a list of text ids.")
        return errors
    voices = [v for v in voices if v.strip()]
    if not voices:
        return errors
    unstorable = [r for r in (text_refusal(v, "A voice id") for v in voices) if r]
    if unstorable:
        return errors + unstorable[:1]
    if len(voices) > VOICE_IDS_MAX:
        errors.append(f"{len(voices)} voice ids were given; Kling 2.6 takes at most {VOICE_IDS_MAX}.")
    if not caps.takes_voice_ids:
        errors.append(
            f"{caps.notes.get('voice_ids', caps.label + ' does not take voice ids.')} Remove the voice ids."
        )
        return errors
    if caps.voice_ids_need_start_frame and not request.image_to_video:
        errors.append(f"{caps.label} takes voice ids with a start frame only: add a start frame or remove them.")
    if request.audio is not True:
        errors.append("Voice ids need native audio: turn audio on or remove the voice ids.")
    if request.mode != "pro":
        errors.append("Voice ids need pro mode.")
    return errors
