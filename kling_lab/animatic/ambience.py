"""Which background sound a prompt implies.

The first matching row wins; the order puts the loudest, most defining sounds
first (rain drowns out a forest, the sea defines a lighthouse shot).
"""

from __future__ import annotations

import re

_AMBIENCE_WORDS: tuple[tuple[str, str], ...] = (
    ("rain", r"rain|rainy|raining|drizzle|downpour|rainfall|storm|stormy|thunder|thunderstorm"),
    ("sea", r"ocean|sea|seas|beach|coast|coastal|shore|waves?|surf|harbou?r|lighthouse|pier|bay|seagulls?"),
    ("fire", r"fire|fireplace|flames?|blaze|burning|campfire|bonfire|embers?|crackling|inferno"),
    ("city", r"city|street|streets|traffic|downtown|skyline|neon|market|subway|crowd|crowded|cyberpunk|alley"),
    ("wind", r"wind|windy|breeze|gust|gusts|desert|dunes?|mountains?|peaks?|cliffs?|snow|blizzard|arctic|"
             r"tundra|plains?|prairie"),
    ("forest", r"forest|woods|woodland|jungle|trees?|birds?|birdsong|meadow|garden|park|spring"),
    ("night", r"night|nighttime|midnight|crickets|moonlit|moonlight|starry|field|fields|summer"),
    ("room", r"room|office|kitchen|bedroom|interior|indoors|inside|cafe|café|bar|library|studio|hallway|"
             r"apartment|house|home"),
)
AMBIENCES: tuple[str, ...] = tuple(name for name, _ in _AMBIENCE_WORDS)
"""Every ambience name; "room" (quiet room tone) is also the default."""

AMBIENCE_LABELS: dict[str, str] = {
    "rain": "rain",
    "sea": "sea swell",
    "fire": "crackling fire",
    "city": "city hum",
    "wind": "wind",
    "forest": "forest birds",
    "night": "night crickets",
    "room": "room tone",
}

_AMBIENCE_RE = tuple((name, re.compile(rf"\b(?:{words})\b", re.IGNORECASE)) for name, words in _AMBIENCE_WORDS)


def choose_ambience(prompt: str) -> str:
    """The ambience for a prompt: the first sound its words imply, else quiet room tone."""
    text = prompt if isinstance(prompt, str) else ""
    for name, pattern in _AMBIENCE_RE:
        if pattern.search(text):
            return name
    return "room"
