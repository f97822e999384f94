"""Mood, scenery and weather read from a prompt's words, and the palette each mood paints with.

Three independent readings, so "a forest at night in the rain" gets a night
palette, tree silhouettes and rain streaks. Everything is keyword matching on
whole words: deterministic, explainable, and instant.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

RGB = tuple[float, float, float]

# First listed wins: the specific light of "neon" or "fire" beats time of day,
# which beats the setting's own colours.
_MOOD_WORDS: tuple[tuple[str, str], ...] = (
    ("neon", r"neon|cyberpunk|synthwave|vaporwave|blade runner"),
    ("fire", r"fire|fires|flames?|blaze|blazing|burning|inferno|lava|campfire|bonfire|embers?|wildfire"),
    ("storm", r"storm|stormy|thunder|thunderstorm|lightning|tempest|hurricane"),
    ("night", r"night|nighttime|midnight|moonlight|moonlit|moon|starry|stars|starlight|nocturnal"),
    ("dusk", r"dusk|twilight|blue hour|evening|gloaming"),
    ("sunset", r"sunset|sundown|golden hour|setting sun"),
    ("dawn", r"dawn|sunrise|daybreak|first light|morning"),
    ("snow", r"snow|snowy|snowfall|snowing|winter|blizzard|frost|frosty|icy|glacier|arctic"),
    ("fog", r"fog|foggy|mist|misty|haze|hazy|smog"),
    ("rain", r"rain|rainy|raining|drizzle|downpour|rainfall|wet"),
    ("desert", r"desert|dunes?|sand|sandy|arid|sahara|canyon"),
    ("ocean", r"ocean|sea|seas|beach|coast|coastal|shore|waves?|surf|harbou?r|lighthouse|bay|island"),
    ("forest", r"forest|woods|woodland|jungle|trees?|pines?|grove|meadow|garden"),
)
MOODS: tuple[str, ...] = (*(name for name, _ in _MOOD_WORDS), "day")
"""Every mood name, in matching priority; "day" is the default."""

_SCENERY_WORDS: tuple[tuple[str, str], ...] = (
    ("city", r"city|cities|street|streets|skyline|buildings?|downtown|alley|rooftops?|skyscrapers?|neon|town"),
    ("sea", r"ocean|sea|seas|beach|coast|coastal|shore|waves?|surf|harbou?r|lighthouse|bay|lake|pier"),
    ("dunes", r"desert|dunes?|sand|sandy|sahara"),
    ("trees", r"forest|woods|woodland|jungle|trees?|pines?|grove"),
    ("mountains", r"mountains?|peaks?|alps|alpine|cliffs?|ridge|summit|valley|canyon|glacier"),
)
SCENERIES: tuple[str, ...] = (*(name for name, _ in _SCENERY_WORDS), "hills")

_WEATHER_WORDS: tuple[tuple[str, str], ...] = (
    ("rain", r"rain|rainy|raining|drizzle|downpour|rainfall|storm|stormy|thunderstorm"),
    ("snow", r"snow|snowy|snowfall|snowing|blizzard|snowflakes?"),
    ("embers", r"fire|flames?|blaze|burning|inferno|campfire|bonfire|embers?|sparks|wildfire"),
    ("fog", r"fog|foggy|mist|misty|haze|hazy|smog|smoke|smoky"),
)
WEATHERS: tuple[str, ...] = tuple(name for name, _ in _WEATHER_WORDS)

_LANDMARK_WORDS: tuple[tuple[str, str], ...] = (
    ("lighthouse", r"lighthouse"),
    ("tower", r"tower|castle|spire|church|temple|windmill"),
)


def _compile(table: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for name, words in table)


_MOOD_RE = _compile(_MOOD_WORDS)
_SCENERY_RE = _compile(_SCENERY_WORDS)
_WEATHER_RE = _compile(_WEATHER_WORDS)
_LANDMARK_RE = _compile(_LANDMARK_WORDS)


def _first(table: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str | None:
    for name, pattern in table:
        if pattern.search(text):
            return name
    return None


def choose_mood(prompt: str) -> str:
    """The mood (palette and light) a prompt's words call for; "day" when none does."""
    return _first(_MOOD_RE, prompt) or "day"


def choose_scenery(prompt: str) -> str:
    """The silhouettes behind the action: city, sea, dunes, trees, mountains, or rolling hills."""
    return _first(_SCENERY_RE, prompt) or "hills"


def choose_weather(prompt: str) -> str | None:
    """The particles in the air (rain, snow, embers, fog), or None for clear air."""
    return _first(_WEATHER_RE, prompt)


def choose_landmark(prompt: str) -> str | None:
    """A landmark silhouette worth drawing on the skyline (lighthouse, tower), or None."""
    return _first(_LANDMARK_RE, prompt)


@dataclass(frozen=True)
class Palette:
    """The colours and light of one mood, as 0..1 RGB."""

    sky_top: RGB
    sky_horizon: RGB
    land_far: RGB
    land_near: RGB
    light: RGB
    """Colour of the sun, moon or glow."""
    light_elevation: float
    """Radians above the horizon; negative puts the source just below it (afterglow only)."""
    light_size: float
    """Disc radius in radians; 0 draws glow without a disc."""
    glow: float
    """Strength of the halo around the light, 0..1."""
    particles: RGB
    stars: bool = False
    vignette: float = 0.35
    grade: RGB = (1.0, 1.0, 1.0)
    """Per-channel multiplier applied to the finished frame: the mood's colour cast."""


PALETTES: dict[str, Palette] = {
    "day": Palette((0.34, 0.56, 0.86), (0.78, 0.88, 0.96), (0.46, 0.60, 0.62), (0.20, 0.36, 0.22),
                   (1.0, 0.98, 0.90), 0.42, 0.045, 0.35, (0.85, 0.90, 0.95), vignette=0.25),
    "sunset": Palette((0.25, 0.22, 0.45), (1.0, 0.58, 0.30), (0.48, 0.28, 0.34), (0.14, 0.08, 0.12),
                      (1.0, 0.80, 0.45), 0.05, 0.06, 0.9, (1.0, 0.85, 0.70), grade=(1.04, 0.98, 0.92)),
    "dusk": Palette((0.10, 0.12, 0.32), (0.85, 0.48, 0.42), (0.26, 0.22, 0.36), (0.07, 0.07, 0.13),
                    (1.0, 0.62, 0.45), -0.03, 0.0, 0.75, (0.85, 0.85, 1.0), stars=True, vignette=0.45),
    "dawn": Palette((0.45, 0.55, 0.80), (1.0, 0.80, 0.66), (0.62, 0.58, 0.68), (0.25, 0.28, 0.30),
                    (1.0, 0.92, 0.72), 0.07, 0.05, 0.7, (1.0, 0.95, 0.90), vignette=0.25),
    "night": Palette((0.01, 0.02, 0.08), (0.08, 0.12, 0.26), (0.09, 0.11, 0.20), (0.02, 0.03, 0.06),
                     (0.92, 0.94, 1.0), 0.2, 0.03, 0.45, (0.75, 0.80, 0.95), stars=True, vignette=0.5,
                     grade=(0.92, 0.96, 1.08)),
    "neon": Palette((0.05, 0.02, 0.14), (0.55, 0.10, 0.50), (0.16, 0.05, 0.28), (0.03, 0.02, 0.07),
                    (0.20, 0.95, 1.0), -0.02, 0.0, 0.9, (1.0, 0.35, 0.85), vignette=0.5),
    "fire": Palette((0.08, 0.03, 0.03), (0.85, 0.30, 0.06), (0.30, 0.10, 0.05), (0.06, 0.02, 0.02),
                    (1.0, 0.55, 0.15), -0.01, 0.0, 1.0, (1.0, 0.65, 0.25), vignette=0.5),
    "storm": Palette((0.12, 0.14, 0.18), (0.40, 0.44, 0.50), (0.22, 0.25, 0.30), (0.08, 0.09, 0.11),
                     (0.85, 0.88, 0.95), 0.3, 0.0, 0.15, (0.70, 0.75, 0.85), vignette=0.45),
    "snow": Palette((0.42, 0.58, 0.80), (0.86, 0.90, 0.95), (0.60, 0.68, 0.82), (0.93, 0.95, 0.98),
                    (1.0, 1.0, 0.96), 0.25, 0.035, 0.3, (1.0, 1.0, 1.0), vignette=0.25),
    "fog": Palette((0.60, 0.63, 0.66), (0.82, 0.83, 0.83), (0.66, 0.68, 0.70), (0.42, 0.45, 0.46),
                   (1.0, 0.98, 0.92), 0.2, 0.05, 0.25, (0.90, 0.91, 0.92), vignette=0.2),
    "rain": Palette((0.22, 0.26, 0.32), (0.52, 0.57, 0.62), (0.32, 0.37, 0.42), (0.12, 0.16, 0.18),
                    (0.90, 0.92, 0.95), 0.3, 0.0, 0.15, (0.75, 0.80, 0.88), vignette=0.4),
    "desert": Palette((0.40, 0.62, 0.88), (0.98, 0.86, 0.66), (0.86, 0.64, 0.40), (0.72, 0.48, 0.26),
                      (1.0, 0.97, 0.86), 0.5, 0.05, 0.45, (0.95, 0.85, 0.65), vignette=0.25),
    "ocean": Palette((0.22, 0.50, 0.80), (0.74, 0.88, 0.95), (0.16, 0.42, 0.58), (0.06, 0.24, 0.36),
                     (1.0, 0.98, 0.90), 0.35, 0.045, 0.35, (0.90, 0.95, 1.0), vignette=0.25),
    "forest": Palette((0.40, 0.60, 0.70), (0.80, 0.88, 0.78), (0.30, 0.46, 0.36), (0.07, 0.20, 0.10),
                      (1.0, 0.96, 0.80), 0.38, 0.04, 0.35, (0.85, 0.95, 0.75), vignette=0.35),
}


def prompt_digest(prompt: str) -> int:
    """A stable 32-bit number for a prompt (case and spacing ignored): the default seed of its draft."""
    normal = " ".join(prompt.lower().split()) if isinstance(prompt, str) else ""
    return int.from_bytes(hashlib.sha256(normal.encode("utf-8")).digest()[:4], "big")


def palette_for(mood: str, prompt: str) -> Palette:
    """The mood's palette, nudged a little by the prompt so two prompts of one mood don't look cloned.

    Same prompt, same palette: the nudge comes from a hash of the prompt's words.
    """
    base = PALETTES.get(mood, PALETTES["day"])
    digest = prompt_digest(prompt)
    # +-4% per channel on the sky, and the light a little higher or lower: variety, not a new mood.
    shifts = [((digest >> (i * 5)) & 31) / 31.0 * 0.08 - 0.04 for i in range(6)]

    def nudge(c: RGB, k: int) -> RGB:
        return (
            min(1.0, max(0.0, c[0] + shifts[k])),
            min(1.0, max(0.0, c[1] + shifts[k + 1])),
            min(1.0, max(0.0, c[2] + shifts[k + 2])),
        )

    return Palette(
        sky_top=nudge(base.sky_top, 0),
        sky_horizon=nudge(base.sky_horizon, 3),
        land_far=base.land_far,
        land_near=base.land_near,
        light=base.light,
        light_elevation=base.light_elevation + shifts[1] * 0.5,
        light_size=base.light_size,
        glow=base.glow,
        particles=base.particles,
        stars=base.stars,
        vignette=base.vignette,
        grade=base.grade,
    )
