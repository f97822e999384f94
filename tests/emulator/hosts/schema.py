"""A tiny field checker for emulated request bodies, so a wrong mapping is refused like a host would.

Types are exact: a bool is not an int, a "5" is not a 5. With `strict`, fields a
host's schema does not list are refused too (real hosts may ignore them
silently, which would hide a client's mistake).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One documented field."""

    name: str
    types: tuple[type, ...]
    required: bool = False
    choices: tuple[Any, ...] | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def problems(body: Any, fields: list[Field], *, strict: bool) -> list[tuple[str, str]]:
    """(field name, message) for every way `body` breaks `fields`; empty when it is acceptable."""
    if not isinstance(body, Mapping):
        return [("body", "must be a JSON object")]
    found: list[tuple[str, str]] = []
    known = {f.name for f in fields}
    for spec in fields:
        if spec.name not in body:
            if spec.required:
                found.append((spec.name, "field required"))
            continue
        value = body[spec.name]
        if not _type_ok(value, spec.types):
            names = " or ".join(t.__name__ for t in spec.types)
            found.append((spec.name, f"must be of type {names}, got {type(value).__name__} {value!r}"))
            continue
        if spec.choices is not None and value not in spec.choices:
            found.append((spec.name, f"must be one of {list(spec.choices)}, got {value!r}"))
        if spec.max_length is not None and isinstance(value, str | list) and len(value) > spec.max_length:
            found.append((spec.name, f"must have at most {spec.max_length} items/characters"))
        if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
            found.append((spec.name, f"must be at least {spec.minimum}"))
        if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
            found.append((spec.name, f"must be at most {spec.maximum}"))
    if strict:
        for name in body:
            if name not in known:
                found.append((name, "is not a field of this model's input"))
    return found


def describe(found: list[tuple[str, str]], prefix: str = "") -> str:
    """One line listing the problems."""
    return "; ".join(f"{prefix}{name}: {message}" for name, message in found)
