"""Small text helpers behind the Compose page's prompt tools (no Streamlit here)."""

from __future__ import annotations

import re

from kling_lab.variations import VARIABLE_NAME

CAMERA_DIRECTIONS: tuple[str, ...] = (
    "slow push-in",
    "pull-out",
    "pan left",
    "pan right",
    "tilt up",
    "tilt down",
    "crane up",
    "crane down",
    "orbit around the subject",
    "dolly in",
    "static wide shot",
    "handheld shake",
)
"""Camera directions Kling understands; the animatic renders each of them as a camera move."""


def append_phrase(prompt: str, phrase: str) -> str:
    """Add a phrase to the end of a prompt with sensible punctuation."""
    prompt = prompt.rstrip()
    phrase = phrase.strip()
    if not phrase:
        return prompt
    if not prompt:
        return phrase[0].upper() + phrase[1:]
    if prompt.endswith((".", "!", "?")):
        # A new sentence starts with a capital, as an empty prompt's first phrase does.
        return prompt + " " + phrase[0].upper() + phrase[1:]
    joiner = " " if prompt.endswith((",", ";", ":")) else ", "
    return prompt + joiner + phrase


def dialogue_phrase(speaker: str, line: str) -> str:
    """A quoted dialogue line in the form Kling's native audio speaks: `the keeper says "We made it."`."""
    speaker = " ".join(speaker.replace('"', "'").split()) or "a voice"
    line = " ".join(line.replace('"', "'").split())
    if not line:
        return ""
    return f'{speaker} says "{line}"'


_VARIABLE_LINE = re.compile(r"^\s*([^=]+?)\s*=\s*(.*)$")


def parse_variables(text: str) -> tuple[dict[str, list[str]], list[str]]:
    """Read template variables written one per line as `name = value one | value two`.

    Returns the variables and plain-sentence errors for lines that can't be read.
    """
    variables: dict[str, list[str]] = {}
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _VARIABLE_LINE.match(line)
        if not match:
            errors.append(f"Variables line {number} needs the form name = value | other value.")
            continue
        name, raw_values = match.group(1), match.group(2)
        if not VARIABLE_NAME.match(name):
            errors.append(f"Variables line {number}: “{name}” is not a usable name (letters, digits and _).")
            continue
        values = [v.strip() for v in raw_values.split("|") if v.strip()]
        if not values:
            errors.append(f"Variables line {number}: {name} has no values.")
            continue
        if name in variables:
            errors.append(f"Variables line {number}: {name} is defined twice.")
            continue
        variables[name] = values
    return variables, errors
