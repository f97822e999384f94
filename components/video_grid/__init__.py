"""Synchronized comparison grid: up to ten takes playing as one (Custom Components v2).

Usage::

    from components.video_grid import GridClip, video_grid

    event = video_grid([GridClip(...), ...], key="compare-grid")
    if event is not None and event.kind == "pick":
        get_lab().pick(current_actor(), batch_id, event.clip_id if event.value else None)

The browser side lives in ``grid.js`` / ``grid.css`` / ``grid.html`` beside this file and is read
once, at import. Clips are loaded by URL (``/app/static/...`` or an app route with Range
support), never as bytes, so the server holds no video in memory.

Keep the same ``key`` from run to run: the browser then keeps the mounted element and only diffs
the clips by ``clip_id``, so playback survives status refreshes, whether they come from full
reruns or from an ``st.fragment(run_every=...)`` around the grid (both are covered by
tests/e2e/test_video_grid.py). A clip whose ``url`` appears later joins the running playback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import streamlit as st

__all__ = ["ASPECT_RATIOS", "CLIP_STATES", "MAX_CLIPS", "GridClip", "GridEvent", "video_grid"]

MAX_CLIPS = 10
ASPECT_RATIOS = frozenset({"16:9", "9:16", "1:1"})
CLIP_STATES = frozenset(
    {"queued", "sending", "submitted", "running", "downloading", "done", "failed", "canceled", "unknown"}
)
EventKind = Literal["pick", "star", "rate"]

_HERE = Path(__file__).parent
_COMPONENT_NAME = "kling_lab_video_grid"


def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


# Registered once per process; Streamlit re-attaches it to each new runtime (AppTest included).
_GRID = st.components.v2.component(
    _COMPONENT_NAME,
    html=_asset("grid.html"),
    css=_asset("grid.css"),
    js=_asset("grid.js"),
)


@dataclass(frozen=True)
class GridClip:
    """One cell of the grid: a job of the batch, playable once ``url`` is set."""

    clip_id: str
    """Stable id (the job id); cells are matched by it across reruns."""
    label: str
    """What differs from the sibling clips; also the accessible name of the cell's buttons."""
    host: str
    """Provider label, e.g. ``"Animatic (offline draft)"``."""
    state: str
    """Job state: queued/sending/submitted/running/downloading/done/failed/canceled/unknown."""
    url: str | None
    """Relative URL of the MP4 (served from disk with Range support); None until done."""
    aspect_ratio: str = "16:9"
    """``"16:9"``, ``"9:16"`` or ``"1:1"``."""
    duration: float | None = None
    """Seconds, if known; the browser's own reading wins once the file's metadata loads."""
    cost_text: str | None = None
    """E.g. ``"$0.35"``; None hides the cost (review board)."""
    detail: str | None = None
    """A sentence under the state, e.g. an error or ``"rendering 40%"``."""
    poster: str | None = None
    """Thumbnail URL shown before the first frame."""
    picked: bool = False
    starred: bool = False
    rating: int | None = None
    """1–5, or None for unrated."""


@dataclass(frozen=True)
class GridEvent:
    """What the user did last in the grid (delivered once, on the rerun it caused)."""

    kind: EventKind
    clip_id: str
    value: bool | int | None
    """pick/star: the new on/off state; rate: 1–5, or None when the rating was cleared."""


def _validate(clips: Sequence[GridClip]) -> None:
    if len(clips) > MAX_CLIPS:
        raise ValueError(f"video_grid shows at most {MAX_CLIPS} clips; got {len(clips)}.")
    seen: set[str] = set()
    for clip in clips:
        if not isinstance(clip, GridClip):
            raise TypeError(f"video_grid expects GridClip items; got {type(clip).__name__}.")
        if clip.clip_id in seen:
            raise ValueError(f"Duplicate clip_id {clip.clip_id!r}: each cell needs a stable, unique id.")
        seen.add(clip.clip_id)
        if clip.aspect_ratio not in ASPECT_RATIOS:
            raise ValueError(f"Clip {clip.clip_id!r}: aspect ratio {clip.aspect_ratio!r} is not 16:9, 9:16 or 1:1.")
        if clip.state not in CLIP_STATES:
            raise ValueError(f"Clip {clip.clip_id!r}: unknown state {clip.state!r}.")
        if clip.url is not None and clip.url.split(":", 1)[0].lower() in {"data", "blob"}:
            raise ValueError(f"Clip {clip.clip_id!r}: pass a URL the server streams, not embedded bytes.")
        if clip.rating is not None and not 1 <= clip.rating <= 5:
            raise ValueError(f"Clip {clip.clip_id!r}: rating must be 1–5 or None; got {clip.rating}.")


def _parse_event(payload: Any) -> GridEvent | None:
    """The trigger payload from grid.js, or None when it is absent or malformed."""
    if not isinstance(payload, dict):
        return None
    kind, clip_id, value = payload.get("kind"), payload.get("clip_id"), payload.get("value")
    if not isinstance(clip_id, str):
        return None
    if kind in ("pick", "star") and isinstance(value, bool):
        return GridEvent(kind, clip_id, value)
    is_stars = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5
    if kind == "rate" and (value is None or is_stars):
        return GridEvent(kind, clip_id, value)
    return None


def video_grid(
    clips: Sequence[GridClip],
    *,
    key: str,
    show_cost: bool = True,
    allow_pick: bool = True,
    allow_marks: bool = True,
    on_event: Callable[[GridEvent], None] | None = None,
) -> GridEvent | None:
    """Show up to ten clips in one synchronized player and return the user's last action.

    Every clip plays on one shared transport (play/pause, scrubber, frame step, loop, speed,
    fullscreen) that stays in view (sticky) while the cells scroll; one take is heard (the soloed
    one, else the first; keys 1–9/0 switch) and a hint under the transport says which. Fullscreen
    uses the browser's Fullscreen API for the grid or one take, with an in-page view where it is
    refused. Clips without a ``url`` show their state in place and join playback when their URL
    arrives, without restarting the others. The "star" mark is shown as a "Keep" bookmark, apart
    from the 1–5 rating; ``allow_marks=False`` leaves out both.
    Returns the pick/star/rate the user just made, on the one
    rerun it caused, else None. ``on_event`` (optional) receives the same event before the
    script body runs, which suits writing it to the store. Raises ValueError on more than ten
    clips, duplicate ids, an unknown state or aspect ratio, or a ``data:``/``blob:`` URL.
    """
    _validate(clips)

    def _forward() -> None:
        if on_event is None:
            return
        state = st.session_state.get(key)
        event = _parse_event(getattr(state, "event", None) if state is not None else None)
        if event is not None:
            on_event(event)

    result = _GRID(
        key=key,
        data={
            "clips": [dataclasses.asdict(clip) for clip in clips],
            "show_cost": show_cost,
            "allow_pick": allow_pick,
            "allow_marks": allow_marks,
        },
        on_event_change=_forward,
    )
    return _parse_event(getattr(result, "event", None))
