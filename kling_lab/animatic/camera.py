"""Camera direction: which move a prompt asks for, and where the virtual camera is at each instant.

The animatic's camera is a small 2.5D rig: it can zoom (focal length, no
parallax), pan and tilt (rotation, no parallax), and translate (dolly, crane,
orbit, handheld; near layers move more than far ones). Keeping those apart is
the point: a prototyper comparing "zoom in" with "dolly in" should see the
difference a real camera would make.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CAMERA_MOVES: tuple[str, ...] = (
    "push_in",
    "pull_out",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "crane_up",
    "crane_down",
    "orbit",
    "dolly_in",
    "dolly_out",
    "static",
    "handheld",
)
"""Every move the animatic knows, by the name the plan records."""

DEFAULT_MOVE = "push_in"

CAMERA_LABELS: dict[str, str] = {
    "push_in": "push-in",
    "pull_out": "pull-out",
    "pan_left": "pan left",
    "pan_right": "pan right",
    "tilt_up": "tilt up",
    "tilt_down": "tilt down",
    "crane_up": "crane up",
    "crane_down": "crane down",
    "orbit": "orbit",
    "dolly_in": "dolly in",
    "dolly_out": "dolly out",
    "static": "static (locked-off)",
    "handheld": "handheld",
}

_V = r"(?:s|es|ed|ing)?"  # verb endings: "pans", "panning", "pushes", "pulled"

# Explicit phrases. When several appear, the earliest in the prompt wins: a prompt
# is read as a shot list, and its first camera direction is the one for this shot.
_EXPLICIT: tuple[tuple[str, str], ...] = (
    ("static", r"\b(?:static(?: shot| camera| wide| frame)?|locked[- ]?off|locked[- ]down|lock[- ]off"
               r"|on a tripod|tripod shot|fixed camera|still camera|no camera (?:movement|motion))\b"),
    ("handheld", r"\b(?:hand[- ]?held|shaky(?:[- ]?cam(?:era)?)?|camera shake)\b"),
    ("orbit", r"\b(?:orbit" + _V + r"|arc" + _V + r" (?:shot|around)|arc shot|circl(?:e|es|ed|ing) around"
              r"|360[- ]degree|revolv(?:e|es|ing) around)\b"),
    ("crane_up", r"\b(?:crane|boom|jib)" + _V + r"(?: shot)? (?:up|upward|upwards|rising)\b|\brising crane\b"),
    ("crane_down", r"\b(?:crane|boom|jib)" + _V + r"(?: shot)? (?:down|downward|downwards|descending)\b"),
    ("dolly_in", r"\bdoll(?:y|ies|ied|ying)[- ](?:in|forward|forwards|toward|towards|closer)\b"),
    ("dolly_out", r"\bdoll(?:y|ies|ied|ying)[- ](?:out|back|backward|backwards|away)\b"),
    ("push_in", r"\b(?:push" + _V + r"[- ]?in|zoom" + _V + r"[- ]?in|creep" + _V + r"[- ]in"
                r"|clos(?:e|es|ing) in on|camera mov(?:e|es|ing) in)\b"),
    # "pulls out a sword" is not a camera move: a determiner after "pull out" means an object follows.
    ("pull_out", r"\b(?:pull" + _V + r"[- ]?(?:out|back)|zoom" + _V + r"[- ]?out|pullback)\b"
                 r"(?! (?:a|an|the|his|her|their|its|my|your|our|some)\b)"),
    ("pan_left", r"\bpan(?:s|ned|ning)?[- ](?:to the |towards the |toward the )?left\b"),
    ("pan_right", r"\bpan(?:s|ned|ning)?[- ](?:to the |towards the |toward the )?right\b"),
    ("tilt_up", r"\btilt" + _V + r"[- ]up(?:ward|wards)?\b"),
    ("tilt_down", r"\btilt" + _V + r"[- ]down(?:ward|wards)?\b"),
)

# A bare verb with no direction ("a slow pan", "crane shot") gets the usual direction.
_BARE: tuple[tuple[str, str], ...] = (
    ("pan_right", r"\b(?:pan(?:s|ned|ning)?(?: shot| across)?|panning)\b"),
    ("tilt_up", r"\btilt(?:s|ed|ing)?\b"),
    ("crane_up", r"\b(?:crane|boom|jib)(?: shot)?\b"),
    ("dolly_in", r"\bdoll(?:y|ies|ying)(?: shot)?\b|\btracking shot\b"),
    ("push_in", r"\bzoom(?:s|ed|ing)?\b"),
)

_SLOW = re.compile(r"\b(?:slow|slowly|gentle|gently|subtle|subtly|soft|lazy|gradual|gradually|creeping)\b")
_FAST = re.compile(r"\b(?:fast|quick|quickly|rapid|rapidly|swift|swiftly|whip|snap|dramatic|sudden|suddenly)\b")

_COMPILED_EXPLICIT = tuple((move, re.compile(pattern, re.IGNORECASE)) for move, pattern in _EXPLICIT)
_COMPILED_BARE = tuple((move, re.compile(pattern, re.IGNORECASE)) for move, pattern in _BARE)

SPEEDS: dict[str, float] = {"slow": 0.6, "normal": 1.0, "fast": 1.6}


@dataclass(frozen=True)
class CameraDirection:
    """The camera move read from a prompt.

    `phrase` is the words that decided it, or None when the prompt gave no
    direction and the default gentle push-in applies.
    """

    move: str
    speed: str
    phrase: str | None


def parse_camera(prompt: str) -> CameraDirection:
    """The camera move a prompt asks for; a gentle (slow) push-in when it names none.

    Pure and deterministic. The earliest explicit direction wins; a bare verb
    ("a slow pan") counts only when no explicit direction is present.
    """
    text = prompt if isinstance(prompt, str) else ""
    for table in (_COMPILED_EXPLICIT, _COMPILED_BARE):
        best: tuple[int, str, re.Match[str]] | None = None
        for move, pattern in table:
            found = pattern.search(text)
            if found and (best is None or found.start() < best[0]):
                best = (found.start(), move, found)
        if best is not None:
            start, move, found = best
            speed = _speed_near(text, start, found.end())
            return CameraDirection(move=move, speed=speed, phrase=found.group(0))
    return CameraDirection(move=DEFAULT_MOVE, speed="slow", phrase=None)


def _speed_near(text: str, start: int, end: int) -> str:
    # Adverbs qualify the move when they sit right next to it ("slow push-in", "pans quickly").
    window = text[max(0, start - 24): end + 16].lower()
    if _FAST.search(window):
        return "fast"
    if _SLOW.search(window):
        return "slow"
    return "normal"


@dataclass(frozen=True)
class Pose:
    """Where the virtual camera is at one instant.

    `zoom` multiplies the focal length; `pan`/`tilt` are rotations in radians
    (positive = right / up); `x`, `y`, `z` translate the camera in world units
    (right, up, forward). Layers at depth d see translation scaled by 1/(d - z).
    """

    zoom: float = 1.0
    pan: float = 0.0
    tilt: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0


FOCAL = 0.9
"""Focal length as a fraction of the frame's long side (about a 30 mm lens on 16:9): shared by every painter."""

ORBIT_PIVOT_DEPTH = 4.0
"""The depth the orbit keeps centred: the mid layer, where the subject would stand."""


def _ease(u: float) -> float:
    # Half linear, half smoothstep: the move starts and lands softly but never stands still,
    # so even the first second of a 5 s clip shows which way the camera goes.
    u = min(1.0, max(0.0, u))
    return 0.5 * u + 0.5 * u * u * (3.0 - 2.0 * u)


def camera_pose(move: str, u: float, *, speed: float = 1.0, duration: float = 5.0, seed: int = 0) -> Pose:
    """The pose at normalised time `u` (0 = first frame, 1 = last) for a move.

    Amplitudes are chosen so every move is clearly visible at 640×360 yet
    stays inside the layers' overscan; a 10 s clip travels a little further
    than a 5 s one, at a calmer pace. Deterministic for the same arguments.
    """
    e = _ease(u)
    a = speed * (1.0 + 0.25 * (duration >= 10))
    if move == "push_in":
        return Pose(zoom=1.0 + 0.22 * a * e)
    if move == "pull_out":
        return Pose(zoom=1.0 + 0.22 * a * (1.0 - e))
    if move in ("pan_left", "pan_right"):
        sign = -1.0 if move == "pan_left" else 1.0
        return Pose(zoom=1.0, pan=sign * 0.22 * a * (e - 0.5))
    if move in ("tilt_up", "tilt_down"):
        sign = 1.0 if move == "tilt_up" else -1.0
        return Pose(zoom=1.0, tilt=sign * 0.14 * a * (e - 0.5))
    if move in ("crane_up", "crane_down"):
        sign = 1.0 if move == "crane_up" else -1.0
        # A crane rises and keeps its subject in frame, so it tilts down a little as it goes up.
        lift = sign * 0.55 * a * (e - 0.5)
        return Pose(zoom=1.0, y=lift, tilt=-lift * 0.06)
    if move == "dolly_in":
        return Pose(z=0.75 * a * e)
    if move == "dolly_out":
        return Pose(z=0.75 * a * (1.0 - e))
    if move == "orbit":
        x = 1.1 * a * (e - 0.5)
        return Pose(zoom=1.04, x=x, pan=-x / ORBIT_PIVOT_DEPTH, z=0.12 * a * math.sin(math.pi * e))
    if move == "handheld":
        return _handheld(u, duration, seed)
    return Pose()


def _handheld(u: float, duration: float, seed: int) -> Pose:
    # A sum of a few incommensurate sines reads as a person breathing behind the camera,
    # unlike white noise which reads as a broken video. Phases come from the seed.
    t = u * duration
    phases = [((seed * (i + 7) * 2654435761) % 6283) / 1000.0 for i in range(6)]
    pan = 0.006 * math.sin(1.3 * t + phases[0]) + 0.003 * math.sin(3.1 * t + phases[1])
    tilt = 0.005 * math.sin(1.7 * t + phases[2]) + 0.0025 * math.sin(4.3 * t + phases[3])
    x = 0.05 * math.sin(0.9 * t + phases[4])
    y = 0.03 * math.sin(1.1 * t + phases[5])
    return Pose(zoom=1.03, pan=pan, tilt=tilt, x=x, y=y)
