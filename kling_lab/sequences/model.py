"""The cut as plain data: what a sequence's reel, its exports and its player all read.

A sequence is an ordered list of shots (SH010, SH020, …); each shot's pick is one
take (T001, T002, … numbered within the shot across its batches), trimmed to
whole frames at `FPS`. `Cut` is that list resolved to files on disk, with each
clip's metadata and its reviewers' timecoded comments as `Marker`s: built once
by the door (which checks every rule and says what is wrong in a sentence) and
handed to the exporters and the reel player, which never read the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FPS = 24
"""Frames per second of every cut: trims, timecodes, EDL, XML and the reel all count in these."""

SHOT_STEP = 10
"""Shot codes go SH010, SH020, …, so a shot can later be slotted between two (SH015) without renumbering."""

MAX_NAME_CHARS = 80
_NAME_FORBIDDEN = re.compile(r"[<>/\\:\"|?*\x00-\x1f\x7f]|\.\.")


def shot_code(number: int) -> str:
    """SH010 for 10, SH120 for 120: the number a shot is known by in the cut and in every export."""
    return f"SH{number:03d}"


def take_code(number: int) -> str:
    """T001 for 1: a take's number within its shot, across every batch made for the shot."""
    return f"T{number:03d}"


def check_name(name: str, what: str = "A sequence name") -> str:
    """The name, tidied (spaces collapsed); ValueError with a sentence when it is empty, too long, or holds markup
    or path characters (it becomes part of file names and of an editor's bin)."""
    tidy = " ".join(str(name).split())
    if not tidy:
        raise ValueError(f"{what} can't be empty.")
    if len(tidy) > MAX_NAME_CHARS:
        raise ValueError(f"{what} is at most {MAX_NAME_CHARS} characters; this one has {len(tidy):,}.")
    if _NAME_FORBIDDEN.search(tidy):
        raise ValueError(f"{what} can't hold < > / \\ : \" | ? * or “..”: it becomes part of file names.")
    return tidy


def seconds_to_frames(seconds: float, fps: int = FPS) -> int:
    """Whole frames in `seconds` (nearest frame)."""
    return max(0, round(seconds * fps))


def frames_to_seconds(frames: int, fps: int = FPS) -> float:
    return frames / fps


def timecode(frames: int, fps: int = FPS) -> str:
    """HH:MM:SS:FF, non-drop-frame."""
    seconds, ff = divmod(max(0, frames), fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


@dataclass(frozen=True)
class Marker:
    """A reviewer's comment (or a status) on a take, at a time of the take's own clip (source seconds)."""

    at: float
    """Seconds from the start of the take's clip (not of the trimmed shot, not of the reel)."""
    until: float | None
    """End of a range comment, or None for a comment at one frame."""
    author: str
    text: str
    kind: str = "comment"
    """"comment", or "status" for an approval/changes/rejected mark (then `text` is the status)."""


@dataclass(frozen=True)
class CutShot:
    """One shot of the cut: its pick, the trimmed part of the pick's clip, and what an editor should know."""

    shot_id: str
    code: str
    """SH010, …"""
    name: str
    """The shot's own description (free text, may be empty)."""
    take_code: str
    """T003, … within the shot."""
    job_id: str
    clip_path: Path
    """The take's MP4 on disk (absolute)."""
    media_name: str
    """Its name beside the exported timeline: `media/SH010_T003_j_0123456789ab.mp4` (relative, so it relinks)."""
    source_frames: int
    """The clip's whole length in frames at FPS."""
    trim_in: int
    """First frame used, 0-based, in source frames."""
    trim_out: int
    """One past the last frame used (exclusive): `trim_out - trim_in` frames play."""
    width: int
    height: int
    has_audio: bool
    prompt: str
    host: str
    """The host's label, e.g. "Kie.ai" or "Animatic (offline draft)"."""
    provider: str
    cost: str | None
    """What it cost in USD as decimal text ("0.35"), or None when unknown."""
    status: str | None = None
    """approved / changes / rejected, or None."""
    markers: tuple[Marker, ...] = field(default_factory=tuple)

    @property
    def frames(self) -> int:
        return self.trim_out - self.trim_in

    @property
    def seconds(self) -> float:
        return frames_to_seconds(self.frames)

    def metadata(self) -> dict[str, str]:
        """What every export carries on the clip: take id, shot, prompt, host and cost (all text)."""
        data = {"kling_lab_take_id": self.job_id, "shot": self.code, "take": self.take_code, "prompt": self.prompt,
                "host": self.host, "provider": self.provider, "cost_usd": self.cost or ""}
        if self.status:
            data["status"] = self.status
        return data


@dataclass(frozen=True)
class Cut:
    """A sequence resolved for playback and export: its shots in order, each with a playable pick."""

    sequence_id: str
    name: str
    shots: tuple[CutShot, ...]
    fps: int = FPS

    @property
    def total_frames(self) -> int:
        return sum(s.frames for s in self.shots)

    @property
    def seconds(self) -> float:
        return frames_to_seconds(self.total_frames, self.fps)

    def starts(self) -> list[int]:
        """The reel frame each shot starts at."""
        out, at = [], 0
        for shot in self.shots:
            out.append(at)
            at += shot.frames
        return out
