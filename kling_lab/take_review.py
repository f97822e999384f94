"""The rules of a take's review: comments at a time or a range of its clip, and its one status.

Plain data in, plain data out, no I/O: the door (`kling_lab.lab.take_reviews`)
checks who asks and reads the take, then asks here whether the comment or the
status may be kept. Every refusal is one sentence a person can act on. Text is
kept as typed (markup stays characters, never rendered here), less the control
characters no screen or export should carry.
"""

from __future__ import annotations

import math
import re

TAKE_STATUSES = ("approved", "changes", "rejected")
"""A take's review status, one per take: approved, changes requested, or rejected."""

STATUS_WORDS = {"approved": "Approved", "changes": "Changes requested", "rejected": "Rejected"}
"""What each status is called on the screens and in the exports."""

MAX_COMMENT_CHARS = 2000
"""A comment's longest text, in characters."""

MAX_AUTHOR_CHARS = 80
"""A typed author name keeps its first 80 characters (as a reviewer's name on a pick does)."""

_EPSILON = 1e-6
"""Float slack when a time is compared with the clip's end (a frame's time read back from a decimal)."""

# Controls other than a newline and a tab, DEL, and the C1 block: nothing a person means to type into a note.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def format_time(seconds: float) -> str:
    """A time of a take as a person reads it: 0:07.00, 1:02.50 (minutes, seconds, hundredths)."""
    hundredths = max(0, round(seconds * 100))
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def clean_text(text: str) -> str:
    """The text with control characters removed (newlines and tabs kept, CRLF made a newline) and the ends
    trimmed; markup and formulas are kept as typed."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text).strip()


def check_text(text: str) -> str:
    """A comment's cleaned text; ValueError with a sentence when it is empty or longer than 2,000 characters."""
    cleaned = clean_text(text)
    if not cleaned:
        raise ValueError("A comment needs some text; type what you want to say about this moment.")
    if len(cleaned) > MAX_COMMENT_CHARS:
        raise ValueError(f"A comment is at most {MAX_COMMENT_CHARS:,} characters; this one has {len(cleaned):,}.")
    return cleaned


def _seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ValueError(f"{what} is a number of seconds, like 2.5; “{value}” is not.") from None
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{what} is a number of seconds, like 2.5; “{value}” is not.")
    return seconds


def check_time(at: object, duration: float, what: str = "A comment's time") -> float:
    """`at` as seconds within a take of `duration` seconds; ValueError with a sentence outside it."""
    seconds = _seconds(at, what)
    if seconds < 0:
        raise ValueError(f"{what} can't be before the start of the take ({format_time(seconds)} is negative).")
    if seconds > duration + _EPSILON:
        raise ValueError(f"{format_time(seconds)} is past the end of this take ({duration:.2f} s).")
    return min(seconds, duration)


def check_comment(at: object, until: object | None, duration: float | None,
                  text: str) -> tuple[float, float | None, str]:
    """(at, until, text) as they are kept, for a take whose clip lasts `duration` seconds.

    Raises ValueError with one sentence for a take with no clip, a time outside it, a range that
    does not end after it starts, empty text, or text longer than 2,000 characters.
    """
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise ValueError("This take has no clip yet, so there is no moment of it to comment on.")
    start = check_time(at, duration)
    end = None
    if until is not None:
        end = check_time(until, duration, "A range's end")
        if end <= start:
            raise ValueError(f"A range ends after it starts: {format_time(start)} to {format_time(end)} "
                             "does not.")
    return start, end, check_text(text)


def check_status(status: object) -> str | None:
    """The status as kept (None clears it); ValueError with a sentence naming the three for anything else."""
    if status is None:
        return None
    key = str(status).strip().casefold()
    for word, label in STATUS_WORDS.items():
        if key in (word, label.casefold()):
            return word
    raise ValueError(f"A take's status is approved, changes or rejected (or none); “{status}” is none of them.")


def clean_author(name: str) -> str:
    """A typed author name: control characters removed, spaces collapsed, at most 80 characters ("" if none)."""
    return " ".join(_CONTROLS.sub("", str(name)).split())[:MAX_AUTHOR_CHARS]


def status_text(status: str | None) -> str:
    """The status in words ("" for none)."""
    return STATUS_WORDS.get(status or "", "")
