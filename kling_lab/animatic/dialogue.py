"""Dialogue: quoted lines in a prompt, and when each is on screen.

Kling 2.6 speaks the quoted text of a prompt when native audio is on; the
animatic shows the same lines as burned-in subtitles so the timing of a shot's
dialogue can be judged before paying for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Straight double quotes, curly double quotes, and guillemets. Single quotes are
# left alone: they are far more often apostrophes than dialogue.
# Empty quotes ("") match too, so they pair up and are skipped instead of pairing with the next quote.
_QUOTED = re.compile(r'"([^"\n]*)"|“([^”\n]*)”|«([^»\n]*)»|„([^“”\n]*)[“”]')

MAX_LINES = 8
"""At most this many lines, and only as many as fit at `MIN_LINE_SECONDS` each; the rest are dropped."""
MIN_LINE_SECONDS = 0.5
LEAD_IN = 0.35
"""Seconds before the first line: a cut straight into speech reads as a glitch."""
TAIL = 0.25
GAP = 0.15
CHARS_PER_SECOND = 14.0
"""Unhurried speech; a line is on screen as long as it would take to say, plus a beat to read it."""


@dataclass(frozen=True)
class Subtitle:
    """One line of dialogue and its interval in seconds from the start of the clip (end exclusive)."""

    text: str
    start: float
    end: float

    def visible_at(self, seconds: float) -> bool:
        return self.start <= seconds < self.end

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "start": self.start, "end": self.end}


def extract_dialogue(prompt: str) -> list[str]:
    """The quoted lines of a prompt, in order, whitespace collapsed, empty quotes skipped."""
    if not isinstance(prompt, str):
        return []
    lines: list[str] = []
    for found in _QUOTED.finditer(prompt):
        text = next(group for group in found.groups() if group is not None)
        text = " ".join(text.split())
        if text:
            lines.append(text)
    return lines


def time_subtitles(lines: list[str], duration: float) -> tuple[Subtitle, ...]:
    """Spread lines across the clip in prompt order, each on screen about as long as it takes to say.

    The clip (after a short lead-in) is divided into one slot per line, in
    proportion to line length; each line starts at its slot and lasts its
    spoken length, cut to the slot when the dialogue is too long for the clip.
    Lines never overlap and end before the clip does; at most `MAX_LINES` are
    kept so each stays readable.
    """
    if not lines or duration <= 0:
        return ()
    window_start = min(LEAD_IN, duration * 0.1)
    window = max(0.0, duration - TAIL - window_start)
    fits = max(1, int(window // (MIN_LINE_SECONDS + GAP)))
    lines = lines[: min(MAX_LINES, fits)]
    # Very short lines still need a moment on screen; long ones get more, but not all of it.
    weights = [min(max(len(line), 12), 90) for line in lines]
    total = float(sum(weights))
    subtitles: list[Subtitle] = []
    cursor = window_start
    for line, weight in zip(lines, weights, strict=True):
        slot = window * weight / total
        # A gap between lines when there is room for one; never longer than the slot, so no overlap.
        room = slot - GAP if slot - GAP >= MIN_LINE_SECONDS else min(MIN_LINE_SECONDS, slot)
        spoken = 0.6 + len(line) / CHARS_PER_SECOND
        length = min(max(MIN_LINE_SECONDS, spoken), room)
        start = round(cursor, 3)
        subtitles.append(Subtitle(text=line, start=start, end=round(start + length, 3)))
        cursor += slot
    return tuple(subtitles)


def shot_title(prompt: str) -> str:
    """The prompt as a title line: whitespace collapsed, nothing else changed."""
    return " ".join(prompt.split()) if isinstance(prompt, str) else ""
