"""Reel player: a whole sequence played as one timeline, gapless, each take with its own sound (Custom Components v2).

Usage::

    from components.reel_player import ReelShot, reel_player

    event = reel_player([ReelShot(...), ...], key="reel")
    if event is not None and event.kind == "open_shot":
        st.session_state["open_shot"] = event.shot_id   # show that shot's takes side by side

Each shot plays the trimmed part of its pick (``trim_in`` to ``trim_out``, whole frames at ``fps``)
and the next shot follows at once: the browser keeps two ``<video>`` elements, the one shown and
the next one already loaded and seeked to its in point, and swaps them at the cut, which it finds
with ``requestVideoFrameCallback`` and the frame loop (a ``timeupdate`` fallback where neither runs).
Only the shown take is heard. Takes of any aspect ratio sit letterboxed in one 16:9 stage.

The browser side lives in ``reel.js`` / ``reel.css`` / ``reel.html`` beside this file and is read
once, at import. Clips are loaded by URL (an app route with Range support), never as bytes. Keep
the same ``key`` from run to run: the browser keeps the mounted player and diffs the shots by
``shot_id``, so playback survives reruns. Browser behaviour is covered by tests/e2e/test_reel_player.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import streamlit as st

__all__ = ["ASPECT_RATIOS", "EVENT_KINDS", "MAX_SHOTS", "ReelEvent", "ReelShot", "reel_player"]

MAX_SHOTS = 60
ASPECT_RATIOS = frozenset({"16:9", "9:16", "1:1"})
EVENT_KINDS = ("open_shot", "jump")
EventKind = Literal["open_shot", "jump"]

_HERE = Path(__file__).parent
_COMPONENT_NAME = "kling_lab_reel_player"


def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


# Registered once per process; Streamlit re-attaches it to each new runtime (AppTest included).
_REEL = st.components.v2.component(
    _COMPONENT_NAME,
    html=_asset("reel.html"),
    css=_asset("reel.css"),
    js=_asset("reel.js"),
)


@dataclass(frozen=True)
class ReelShot:
    """One shot of the reel: the trimmed part of its pick, or a slate card while it has no pick."""

    shot_id: str
    """Stable id (the shot's id); segments are matched by it across reruns."""
    code: str
    """The shot's code, e.g. ``"SH010"``."""
    take_code: str
    """The pick's number within the shot, e.g. ``"T003"`` (empty while there is no pick)."""
    label: str
    """The shot's description as typed (shown as text, never as markup)."""
    url: str | None
    """Relative URL of the pick's MP4 (served with Range support); None = no pick yet: a slate card, skipped."""
    poster: str | None
    """A key-frame image URL shown before the first frame, or None."""
    trim_in: int
    """First frame played, 0-based, in the clip's own frames."""
    trim_out: int
    """One past the last frame played (exclusive): ``trim_out - trim_in`` frames play."""
    has_audio: bool
    """Whether the take has sound (the player says which shots are silent)."""
    aspect_ratio: str = "16:9"
    """``"16:9"``, ``"9:16"`` or ``"1:1"``: letterboxed into the 16:9 stage."""

    @property
    def frames(self) -> int:
        """Frames this shot adds to the reel (0 for a shot without a pick)."""
        return self.trim_out - self.trim_in if self.url else 0


@dataclass(frozen=True)
class ReelEvent:
    """What the person did last in the reel (delivered once, on the rerun it caused)."""

    kind: EventKind
    """``"open_shot"``: the Takes button (show that shot's takes); ``"jump"``: a click on the shot's segment."""
    shot_id: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(shots: Sequence[ReelShot], fps: int) -> None:
    if not _is_int(fps) or not 1 <= fps <= 120:
        raise ValueError(f"The reel's frame rate must be a whole number from 1 to 120; got {fps!r}.")
    if len(shots) > MAX_SHOTS:
        raise ValueError(f"The reel plays at most {MAX_SHOTS} shots; got {len(shots)}.")
    seen: set[str] = set()
    for shot in shots:
        if not isinstance(shot, ReelShot):
            raise TypeError(f"reel_player expects ReelShot items; got {type(shot).__name__}.")
        if not isinstance(shot.shot_id, str) or not shot.shot_id:
            raise ValueError("Every shot needs a shot_id.")
        if shot.shot_id in seen:
            raise ValueError(f"Duplicate shot_id {shot.shot_id!r}: each shot needs a stable, unique id.")
        seen.add(shot.shot_id)
        name = f"Shot {shot.code or shot.shot_id!r}"
        if shot.aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"{name}: aspect ratio {shot.aspect_ratio!r} is not 16:9, 9:16 or 1:1.")
        if not _is_int(shot.trim_in) or not _is_int(shot.trim_out):
            raise ValueError(f"{name}: trims are whole frames; got {shot.trim_in!r} and {shot.trim_out!r}.")
        if shot.url is not None and not 0 <= shot.trim_in < shot.trim_out:
            raise ValueError(
                f"{name}: the in point must come before the out point, from frame 0; "
                f"got in {shot.trim_in} and out {shot.trim_out}."
            )
        for what, url in (("clip", shot.url), ("poster", shot.poster)):
            if url is not None and url.split(":", 1)[0].strip().lower() in {"data", "blob", "javascript"}:
                raise ValueError(f"{name}: pass a {what} URL the server streams, not embedded bytes or script.")


def _parse_event(payload: Any, shot_ids: frozenset[str] | None = None) -> ReelEvent | None:
    """The trigger payload from reel.js, or None when it is absent, malformed or names a shot no longer shown."""
    if not isinstance(payload, dict):
        return None
    kind, shot_id = payload.get("kind"), payload.get("shot_id")
    if kind not in EVENT_KINDS or not isinstance(shot_id, str) or not shot_id:
        return None
    if shot_ids is not None and shot_id not in shot_ids:
        return None
    return ReelEvent(kind, shot_id)


def _payload(shots: Sequence[ReelShot], fps: int) -> dict[str, Any]:
    return {"fps": fps, "shots": [dataclasses.asdict(shot) for shot in shots]}


def reel_player(
    shots: Sequence[ReelShot],
    *,
    key: str,
    fps: int = 24,
    on_event: Callable[[ReelEvent], None] | None = None,
) -> ReelEvent | None:
    """Play the shots as one reel and return what the person just did (open a shot's takes, or jump to it).

    One transport: Play/Pause (Space), one-frame steps (← →), a scrubber whose segments are the shots
    (width by frames, labelled "SH010 T003"; a click jumps to the shot's first frame), the reel timecode
    HH:MM:SS:FF at ``fps``, the current shot, and a Takes button that asks the page to show the current
    shot's takes. Shots without a ``url`` appear as a slate card and are skipped in playback.
    Returns the event on the one rerun it caused, else None; ``on_event`` (optional) receives the same
    event before the script body runs. Raises ValueError on more than 60 shots, duplicate ids, an unknown
    aspect ratio, trims that are not 0 ≤ in < out, or a ``data:``/``blob:`` URL.
    """
    _validate(shots, fps)
    shot_ids = frozenset(shot.shot_id for shot in shots)

    def _forward() -> None:
        if on_event is None:
            return
        state = st.session_state.get(key)
        event = _parse_event(getattr(state, "event", None) if state is not None else None, shot_ids)
        if event is not None:
            on_event(event)

    result = _REEL(key=key, data=_payload(shots, fps), on_event_change=_forward)
    return _parse_event(getattr(result, "event", None), shot_ids)
