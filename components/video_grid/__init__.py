"""Synchronized comparison grid: up to ten takes playing as one (Custom Components v2).

Usage::

    from components.video_grid import GridClip, video_grid

    event = video_grid([GridClip(...), ...], key="compare-grid")
    if event is not None and event.kind == "pick":
        get_lab().pick(current_actor(), batch_id, event.clip_id if event.value else None)

The browser side lives in ``grid.js`` (playback) and ``review.js`` (comments, statuses, picks by
name), ``grid.css`` and ``grid.html`` beside this file, read once, at import (the two scripts are
joined into the one module Streamlit takes). Clips are loaded by URL (``/app/static/...`` or an app route with Range
support), never as bytes, so the server holds no video in memory.

Keep the same ``key`` from run to run: the browser then keeps the mounted element and only diffs
the clips by ``clip_id``, so playback survives status refreshes, whether they come from full
reruns or from an ``st.fragment(run_every=...)`` around the grid (both are covered by
tests/e2e/test_video_grid.py). A clip whose ``url`` appears later joins the running playback.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from kling_lab.take_review import MAX_COMMENT_CHARS, STATUS_WORDS, TAKE_STATUSES

__all__ = ["ASPECT_RATIOS", "CLIP_STATES", "MAX_CLIPS", "GridClip", "GridComment", "GridEvent", "video_grid"]

MAX_CLIPS = 10
ASPECT_RATIOS = frozenset({"16:9", "9:16", "1:1"})
CLIP_STATES = frozenset(
    {"queued", "sending", "submitted", "running", "downloading", "done", "failed", "canceled", "unknown"}
)
EventKind = Literal["pick", "star", "rate", "comment", "edit_comment", "delete_comment", "status"]

_HERE = Path(__file__).parent
_COMPONENT_NAME = "kling_lab_video_grid"


def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


# Registered once per process; Streamlit re-attaches it to each new runtime (AppTest included).
_GRID = st.components.v2.component(
    _COMPONENT_NAME,
    html=_asset("grid.html"),
    css=_asset("grid.css"),
    js=_asset("grid.js") + "\n" + _asset("review.js"),
)


@dataclass(frozen=True)
class GridComment:
    """A timecoded comment on a take, shown as a marker on the cell's track and a row under it."""

    id: int
    at: float
    """Seconds into the take's clip (a frame's time at 24 fps)."""
    until: float | None
    """End of a range, in seconds; None for a comment at one frame."""
    author: str
    text: str
    """As typed; always shown as text, never as markup."""
    mine: bool
    """This viewer may edit and delete it (the grid then shows Edit and Delete on its row)."""


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
    comments: tuple[GridComment, ...] = ()
    """The take's timecoded comments, in any order (the grid lists them by time)."""
    status: str | None = None
    """The take's review status: ``"approved"``, ``"changes"`` or ``"rejected"``; None when unset."""
    status_by: str | None = None
    """Who set the status, shown as "by NAME"."""
    review_picks: tuple[str, ...] = ()
    """Names of the reviewers who picked this take ("Picked by Ann, Bo")."""
    badge: str | None = None
    """A short tag on the cell, e.g. ``"Pinned · T003 from an earlier batch"`` or ``"SH010 · T004"``."""
    lineage: str | None = None
    """Where the take came from, e.g. ``"T006 from T003: cfg 0.5 → 0.7"``."""


@dataclass(frozen=True)
class GridEvent:
    """What the user did last in the grid (delivered once, on the rerun it caused)."""

    kind: EventKind
    clip_id: str
    value: bool | int | str | dict[str, Any] | None
    """pick/star: the new on/off state; rate: 1–5, or None when the rating was cleared;
    comment: ``{"at": float, "until": float | None, "text": str}``; edit_comment: ``{"id": int, "text": str}``;
    delete_comment: ``{"id": int}``; status: ``"approved"``/``"changes"``/``"rejected"``, or None to clear it."""


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
        if clip.status is not None and clip.status not in TAKE_STATUSES:
            raise ValueError(f"Clip {clip.clip_id!r}: status {clip.status!r} is not approved, changes or rejected.")
        for comment in clip.comments:
            if not isinstance(comment, GridComment):
                raise TypeError(f"Clip {clip.clip_id!r}: comments must be GridComment items.")
            if _time(comment.at) is None or (comment.until is not None and _time(comment.until) is None):
                raise ValueError(f"Clip {clip.clip_id!r}: comment {comment.id} has a time that is not a number ≥ 0.")
        if isinstance(clip.review_picks, str):
            raise TypeError(f"Clip {clip.clip_id!r}: review_picks is a tuple of names, not one string.")


def _time(value: Any) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _comment_text(value: Any) -> str | None:
    """Comment text with its ends stripped, when it is 1 to MAX_COMMENT_CHARS characters; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= MAX_COMMENT_CHARS else None


def _comment_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_review(kind: Any, value: Any) -> tuple[bool, Any]:
    """(ok, value) for the review kinds: comment, edit_comment, delete_comment, status."""
    if kind == "status":
        return (value is None or value in TAKE_STATUSES), value
    if not isinstance(value, dict):
        return False, None
    if kind == "comment":
        at, text, until = _time(value.get("at")), _comment_text(value.get("text")), value.get("until")
        end = None if until is None else _time(until)
        if at is None or text is None or (until is not None and (end is None or end < at)):
            return False, None
        return True, {"at": at, "until": end, "text": text}
    comment_id = _comment_id(value.get("id"))
    if kind == "delete_comment" and comment_id is not None:
        return True, {"id": comment_id}
    text = _comment_text(value.get("text"))
    if kind == "edit_comment" and comment_id is not None and text is not None:
        return True, {"id": comment_id, "text": text}
    return False, None


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
    if kind in ("comment", "edit_comment", "delete_comment", "status"):
        ok, parsed = _parse_review(kind, value)
        return GridEvent(kind, clip_id, parsed) if ok else None
    return None


def video_grid(
    clips: Sequence[GridClip],
    *,
    key: str,
    show_cost: bool = True,
    allow_pick: bool = True,
    allow_marks: bool = True,
    allow_comments: bool = False,
    allow_status: bool = False,
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

    Review: each take's comments are marks on the cell's track (a range is a band) and rows under
    it that seek every take to their frame; its status, the reviewers who picked it, ``badge`` and
    ``lineage`` show on the cell, all as text. ``allow_comments`` adds "Comment" (or the key C) at
    the current frame, a range by shift-dragging the cell's track or Mark in / Mark out, and Edit /
    Delete on the viewer's own comments (``GridComment.mine``); ``allow_status`` adds Approve /
    Request changes / Reject (pressing the current one clears it). These come back as "comment",
    "edit_comment", "delete_comment" and "status" events, checked here for shape only: the door
    checks the rest.
    Returns the pick/star/rate the user just made, on the one
    rerun it caused, else None. ``on_event`` (optional) receives the same event before the
    script body runs, which suits writing it to the store. Raises ValueError on more than ten
    clips, duplicate ids, an unknown state, aspect ratio or status, a comment time that is not a number
    ≥ 0, or a ``data:``/``blob:`` URL.
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
            "allow_comments": allow_comments,
            "allow_status": allow_status,
            "status_words": STATUS_WORDS,
            "max_comment_chars": MAX_COMMENT_CHARS,
        },
        on_event_change=_forward,
    )
    return _parse_event(getattr(result, "event", None))
