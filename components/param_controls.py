"""Provider and parameter controls for Compose, driven by the capability table.

A control the chosen host ignores is shown disabled with the reason. Every
widget keeps its value for the session (`persist_state`), so leaving Compose
for Compare and coming back loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, DURATIONS, MODES, PROVIDER_NAMES, HostCapabilities
from kling_lab.lab import Settings
from kling_lab.variations import parse_sweep_values

KEEP = "session"


@dataclass(frozen=True)
class ParamChoice:
    """The single values chosen for the base request, and the sweeps."""

    provider: str
    mode: str
    duration: int
    aspect_ratio: str
    cfg_scale: float | None
    audio: bool
    voice_ids: tuple[str, ...]
    sweeps: dict[str, list[Any]] = field(default_factory=dict)
    sweep_errors: tuple[str, ...] = ()


def provider_label(name: str, settings: Settings) -> str:
    caps = CAPABILITIES[name]
    if caps.offline:
        return f"{caps.label} · free"
    return caps.label if settings.has_key(name) else f"{caps.label} · no key"


def provider_picker(settings: Settings, default: str) -> str:
    """The provider select box; hosts without a key are listed but marked."""
    if "compose_provider" not in st.session_state:
        st.session_state["compose_provider"] = default
    return st.selectbox(
        "Provider",
        PROVIDER_NAMES,
        key="compose_provider",
        format_func=lambda name: provider_label(name, settings),
        persist_state=KEEP,
        help="Where the clips are made. The animatic renders free, offline drafts on this machine.",
    )


def _reason(caps: HostCapabilities, control: str, fallback: str) -> str:
    return caps.notes.get(control, fallback)


def parameter_controls(caps: HostCapabilities, image_to_video: bool) -> ParamChoice:
    """Mode, duration, aspect ratio, cfg_scale, audio and voice ids, plus the sweep controls."""
    cols = st.columns(3, gap="medium")
    with cols[0]:
        mode_options = list(MODES)
        if st.session_state.get("compose_mode") not in caps.modes:
            st.session_state["compose_mode"] = caps.modes[-1]
        mode = st.segmented_control(
            "Mode", mode_options, key="compose_mode", persist_state=KEEP, required=True,
            disabled=len(caps.modes) == 1,
            help=_reason(caps, "mode", "std is 720p and silent; pro is 1080p and can have native audio."),
        )
    with cols[1]:
        st.session_state.setdefault("compose_duration", 5)  # not `default=`: a draft sets these keys
        duration = st.segmented_control(
            "Duration", list(DURATIONS), key="compose_duration", persist_state=KEEP, required=True,
            format_func=lambda d: f"{d} s",
        )
    with cols[2]:
        aspect_note = None
        if image_to_video and not caps.aspect_ratio_with_start_frame:
            aspect_note = f"{caps.label} follows the start frame's shape when one is given."
        st.session_state.setdefault("compose_aspect", "16:9")
        aspect_ratio = st.segmented_control(
            "Aspect ratio", list(ASPECT_RATIOS), key="compose_aspect", persist_state=KEEP, required=True,
            disabled=aspect_note is not None, help=aspect_note,
        )
    takes_cfg = caps.takes_cfg_scale(image_to_video)
    cols = st.columns(3, gap="medium")
    with cols[0]:
        cfg_note = None if takes_cfg else _reason(caps, "cfg_scale", f"{caps.label} does not take cfg_scale.")
        if caps.offline:
            cfg_note = caps.notes.get("cfg_scale")
        use_cfg = st.toggle(
            "Set cfg_scale", key="compose_cfg_on", persist_state=KEEP, disabled=not takes_cfg,
            help=cfg_note or "Off sends no cfg_scale, so the host uses its default (0.5 on fal.ai).",
        )
        st.session_state.setdefault("compose_cfg", 0.5)
        cfg_value = st.slider(
            "cfg_scale", 0.0, 1.0, step=0.05, key="compose_cfg", persist_state=KEEP,
            disabled=not (takes_cfg and use_cfg),
            help="How closely the model follows the prompt: higher is more literal.",
        )
    with cols[1]:
        audio_note = None
        if mode == "std":
            audio_note = "Native audio needs pro mode."
        elif st.session_state.get("compose_end_ref") is not None:
            audio_note = "Native audio is off when an end frame is used."
        if audio_note is None:
            audio = st.toggle("Native audio", key="compose_audio", persist_state=KEEP,
                              help="Sound and speech generated with the video; usually doubles the price.")
        else:  # forced off: shown off, with the reason (the person's own choice is kept for when it applies)
            audio = st.toggle("Native audio", value=False, key="compose_audio_forced_off", disabled=True,
                              help=audio_note)
            st.caption(f"Off: {audio_note}")
    with cols[2]:
        voice_note = None
        if not caps.takes_voice_ids:
            voice_note = _reason(caps, "voice_ids", f"{caps.label} does not take voice ids.")
        voice_text = st.text_input(
            "Voice ids", key="compose_voice_ids", persist_state=KEEP, disabled=voice_note is not None,
            placeholder="e.g. two ids, comma separated",
            help=voice_note or "Up to 2. Refer to them as <<<voice_1>>> in the prompt.",
        )
    with st.expander("Sweeps: vary a parameter across takes", icon=":material/tune:"):
        sweeps, sweep_errors = sweep_controls()
    return ParamChoice(
        provider=caps.name,
        mode=str(mode),
        duration=int(duration),
        aspect_ratio=str(aspect_ratio) if aspect_note is None else "16:9",
        cfg_scale=float(cfg_value) if (takes_cfg and use_cfg) else None,
        audio=bool(audio) and audio_note is None,
        voice_ids=tuple(v.strip() for v in voice_text.split(",") if v.strip()) if voice_note is None else (),
        sweeps=sweeps,
        sweep_errors=tuple(sweep_errors),
    )


def sweep_controls() -> tuple[dict[str, list[Any]], list[str]]:
    """Multi-selects per sweep key; a sweep with one value or none is ignored."""
    st.caption("Each sweep multiplies the takes. Kling Lab runs at most 10 at once.")
    cols = st.columns(3)
    raw: dict[str, list[Any]] = {}
    with cols[0]:
        raw["duration"] = st.pills("Durations", list(DURATIONS), selection_mode="multi", key="sweep_duration",
                                   persist_state=KEEP, format_func=lambda d: f"{d} s")
        raw["audio"] = st.pills("Audio", [False, True], selection_mode="multi", key="sweep_audio",
                                persist_state=KEEP, format_func=lambda a: "on" if a else "off")
    with cols[1]:
        raw["aspect_ratio"] = st.pills("Aspect ratios", list(ASPECT_RATIOS), selection_mode="multi",
                                       key="sweep_aspect", persist_state=KEEP)
        raw["mode"] = st.pills("Modes", list(MODES), selection_mode="multi", key="sweep_mode", persist_state=KEEP)
    with cols[2]:
        raw["provider"] = st.multiselect("Providers", PROVIDER_NAMES, key="sweep_provider", persist_state=KEEP,
                                         format_func=lambda p: CAPABILITIES[p].label)
        cfg_text = st.text_input("cfg_scale values", key="sweep_cfg", persist_state=KEEP,
                                 placeholder="e.g. 0.3, 0.5, 0.8")
    sweeps: dict[str, list[Any]] = {}
    errors: list[str] = []
    for key in ("cfg_scale", "audio", "duration", "aspect_ratio", "mode", "provider"):
        if key == "cfg_scale":
            if not cfg_text.strip():
                continue
            values, problems = parse_sweep_values("cfg_scale", cfg_text)
            errors += problems
        else:
            values = list(raw.get(key) or [])
        if len(values) > 1:
            sweeps[key] = values
    return sweeps, errors
