"""The animatic's reading of a request: everything it will draw and play, decided before any pixel.

`plan_animatic` is pure and fast (regular expressions over the prompt), so
the Compose page can show "camera: slow push-in · mood: dusk · 1 subtitle"
while the user types, and the job's details can show what the draft did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kling_lab.animatic.ambience import AMBIENCE_LABELS, choose_ambience
from kling_lab.animatic.camera import CAMERA_LABELS, parse_camera
from kling_lab.animatic.dialogue import Subtitle, extract_dialogue, time_subtitles
from kling_lab.animatic.mood import choose_landmark, choose_mood, choose_scenery, choose_weather, prompt_digest
from kling_lab.request import GenerationRequest

FPS = 24
SIZES: dict[str, tuple[int, int]] = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (480, 480)}
"""Output size per aspect ratio: small enough to render in about a second, big enough to judge a shot."""


@dataclass(frozen=True)
class AnimaticPlan:
    """What the animatic renders for one request.

    `camera_move` is one of `camera.CAMERA_MOVES`; `camera_phrase` is the
    prompt's words that chose it (None: nothing matched, default push-in).
    `ambience` is None when audio is off (the file then has no audio track).
    """

    camera_move: str
    camera_speed: str
    camera_phrase: str | None
    mood: str
    scenery: str
    weather: str | None
    landmark: str | None
    subtitles: tuple[Subtitle, ...]
    ambience: str | None
    picture: str
    """"mood card", "start frame" or "start and end frames"."""
    width: int
    height: int
    fps: int
    duration: int
    seed: int

    @property
    def frame_count(self) -> int:
        return self.fps * self.duration

    @property
    def camera_label(self) -> str:
        speed = "" if self.camera_speed == "normal" else f"{self.camera_speed} "
        default = "" if self.camera_phrase else " (default)"
        return f"{speed}{CAMERA_LABELS[self.camera_move]}{default}"

    def describe(self) -> str:
        """One line for people: "Camera: slow push-in · Mood: dusk · 1 subtitle · Sound: sea swell"."""
        parts = [f"Camera: {self.camera_label}"]
        if self.picture == "mood card":
            weather = f", {self.weather}" if self.weather and self.weather != self.mood else ""
            parts.append(f"Mood: {self.mood}{weather}")
        else:
            parts.append(f"Picture: {self.picture}")
        count = len(self.subtitles)
        if count:
            parts.append(f"{count} subtitle" + ("" if count == 1 else "s"))
        parts.append(f"Sound: {AMBIENCE_LABELS[self.ambience]}" if self.ambience else "Sound: none")
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for the job's details."""
        return {
            "camera_move": self.camera_move,
            "camera_speed": self.camera_speed,
            "camera_phrase": self.camera_phrase,
            "camera_label": self.camera_label,
            "mood": self.mood,
            "scenery": self.scenery,
            "weather": self.weather,
            "landmark": self.landmark,
            "subtitles": [s.to_dict() for s in self.subtitles],
            "ambience": self.ambience,
            "picture": self.picture,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "duration": self.duration,
            "seed": self.seed,
            "summary": self.describe(),
        }


def plan_animatic(request: GenerationRequest) -> AnimaticPlan:
    """Read a request into a plan, without rendering. Pure: the same request gives an equal plan.

    Unknown aspect ratios fall back to 16:9 and durations other than 10 to 5,
    so a plan can be shown even for a request that validation would refuse.
    """
    prompt = request.prompt if isinstance(request.prompt, str) else ""
    camera = parse_camera(prompt)
    duration = 10 if request.duration == 10 else 5
    width, height = SIZES.get(request.aspect_ratio, SIZES["16:9"])
    if request.start_frame is None:
        picture = "mood card"
    elif request.end_frame is None:
        picture = "start frame"
    else:
        picture = "start and end frames"
    seed = request.seed if isinstance(request.seed, int) and not isinstance(request.seed, bool) else None
    return AnimaticPlan(
        camera_move=camera.move,
        camera_speed=camera.speed,
        camera_phrase=camera.phrase,
        mood=choose_mood(prompt),
        scenery=choose_scenery(prompt),
        weather=choose_weather(prompt),
        landmark=choose_landmark(prompt),
        subtitles=time_subtitles(extract_dialogue(prompt), float(duration)),
        ambience=choose_ambience(prompt) if request.audio is True else None,
        picture=picture,
        width=width,
        height=height,
        fps=FPS,
        duration=duration,
        seed=seed if seed is not None else prompt_digest(prompt),
    )
