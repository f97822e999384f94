"""Template expansion: one prompt template and parameter sweeps -> up to ten variations.

Template syntax:
- `{snow|rain|fog}` is a choice group: each alternative is one branch.
- `{camera}` names a variable whose values are given separately.
- `{{` and `}}` are literal braces.

Sweeps vary request parameters (cfg_scale, audio, duration, aspect_ratio, mode,
provider). The expansion is the cartesian product of every dimension in a
stable order: template groups left to right, then sweeps in the order given;
the last dimension changes fastest. Each variation is labelled with only the
values that differ between siblings. Mistakes are returned as messages, never
raised.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kling_lab.capabilities import CAPABILITIES
from kling_lab.request import GenerationRequest

MAX_VARIATIONS = 10
COUNT_CEILING = 1_000_000
"""Counting stops here: a template that makes more is reported as "more than" this (never a 4,000-digit number)."""
ERRORS_LISTED = 3
"""At most this many template problems are listed one by one; the rest are summed up in one sentence."""
SWEEP_KEYS: tuple[str, ...] = ("cfg_scale", "audio", "duration", "aspect_ratio", "mode", "provider")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_PART_MAX = 28


@dataclass(frozen=True)
class _Literal:
    text: str


@dataclass(frozen=True)
class _Choice:
    options: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class _Variable:
    name: str


_Segment = _Literal | _Choice | _Variable


@dataclass(frozen=True)
class Variation:
    """One expanded take: its prompt, request, provider and what sets it apart."""

    prompt: str
    label: str
    provider: str
    request: GenerationRequest
    choices: tuple[tuple[str, str], ...] = ()
    """(dimension, chosen value) for every dimension of the expansion."""

    @property
    def params(self) -> dict[str, Any]:
        """The effective parameters, as the CLI and exports show them."""
        r = self.request
        return {
            "provider": self.provider,
            "mode": r.mode,
            "duration": r.duration,
            "aspect_ratio": r.aspect_ratio,
            "cfg_scale": r.cfg_scale,
            "audio": r.audio,
            "negative_prompt": r.negative_prompt,
            "start_frame": r.start_frame.sha256 if r.start_frame else None,
            "end_frame": r.end_frame.sha256 if r.end_frame else None,
            "voice_ids": list(r.voice_ids),
        }


@dataclass(frozen=True)
class Expansion:
    """The result of expanding a template: variations, or the errors that stopped it."""

    variations: tuple[Variation, ...] = ()
    errors: tuple[str, ...] = ()
    count: int = 0
    """How many variations the template and sweeps make (even when over the cap); COUNT_CEILING + 1 stands
    for "more than COUNT_CEILING"."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Dimension:
    name: str
    values: list[Any]
    display: list[str] = field(default_factory=list)


def parse_template(template: str) -> tuple[list[_Segment], list[str]]:
    """Split a template into literal text, choice groups and variables; report malformed braces."""
    segments: list[_Segment] = []
    errors: list[str] = []
    text: list[str] = []
    i = 0
    n = len(template)
    while i < n:
        ch = template[i]
        if ch == "{" and template.startswith("{{", i):
            text.append("{")
            i += 2
            continue
        if ch == "}" and template.startswith("}}", i):
            text.append("}")
            i += 2
            continue
        if ch == "}":
            errors.append(
                f"There is a “}}” at character {i + 1} with no “{{” before it (write }}}} for a literal brace)."
            )
            i += 1
            continue
        if ch != "{":
            text.append(ch)
            i += 1
            continue
        close = template.find("}", i + 1)
        nested = template.find("{", i + 1)
        if close == -1:
            errors.append(f"The “{{” at character {i + 1} is never closed with “}}”.")
            break
        if nested != -1 and nested < close:
            errors.append(f"The group starting at character {i + 1} has a “{{” inside it; groups can't be nested.")
            i = close + 1
            continue
        if text:
            segments.append(_Literal("".join(text)))
            text = []
        body = template[i + 1 : close]
        source = template[i : close + 1]
        if "|" in body:
            options = tuple(part.strip() for part in body.split("|"))
            if any(not option for option in options):
                errors.append(f"The choice group {source} has an empty choice; remove the extra “|”.")
            else:
                segments.append(_Choice(options, source))
        elif not body.strip():
            errors.append(f"The group {source} at character {i + 1} is empty; write {{a|b}} or a variable name.")
        elif VARIABLE_NAME.match(body.strip()):
            segments.append(_Variable(body.strip()))
        else:
            errors.append(
                f"{source} has one choice only; write {{{body.strip()}|…}} for alternatives "
                "or use a variable name (letters, digits, _)."
            )
        i = close + 1
    if text:
        segments.append(_Literal("".join(text)))
    return segments, errors


def parse_sweep_values(key: str, raw: Sequence[str] | str) -> tuple[list[Any], list[str]]:
    """Convert text values of a sweep (as typed or given on the CLI) to typed values."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    items = [str(item).strip() for item in items if str(item).strip()]
    if key not in SWEEP_KEYS:
        return [], [f"“{key}” can't be swept; sweep one of: {', '.join(SWEEP_KEYS)}."]
    if not items:
        return [], [f"The {key} sweep has no values."]
    values: list[Any] = []
    errors: list[str] = []
    for item in items:
        try:
            values.append(_convert_sweep_value(key, item))
        except ValueError as exc:
            errors.append(str(exc))
    if len(set(map(repr, values))) != len(values):
        errors.append(f"The {key} sweep repeats a value.")
    return values, errors


def _convert_sweep_value(key: str, item: str) -> Any:
    if key == "cfg_scale":
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"cfg_scale values must be numbers between 0 and 1, not “{item}”.") from None
        if not math.isfinite(value):
            raise ValueError(f"cfg_scale values must be numbers between 0 and 1, not “{item}”.")
        return value
    if key == "audio":
        lowered = item.lower()
        if lowered in {"on", "true", "yes", "1"}:
            return True
        if lowered in {"off", "false", "no", "0"}:
            return False
        raise ValueError(f"Audio sweep values are on or off, not “{item}”.")
    if key == "duration":
        try:
            return int(item.rstrip("s").strip())
        except ValueError:
            raise ValueError(f"Durations are 5 or 10 seconds, not “{item}”.") from None
    if key == "provider" and item not in CAPABILITIES:
        raise ValueError(f"“{item}” is not a provider; choose from {', '.join(CAPABILITIES)}.")
    return item


def count_variations(template: str, variables: Mapping[str, Sequence[str]] | None = None,
                     sweeps: Mapping[str, Sequence[Any]] | None = None) -> int:
    """How many variations a template and sweeps make, without building them."""
    segments, _ = parse_template(template)
    return _count(_dimensions(segments, variables or {}, sweeps or {})[0])


def _count(dims: Sequence[_Dimension]) -> int:
    """The product of the dimensions' sizes, stopping at COUNT_CEILING + 1 (no huge product is ever built)."""
    count = 1
    for dim in dims:
        count *= len(dim.values)
        if count > COUNT_CEILING:
            return COUNT_CEILING + 1
    return count


def _too_many(count: int, limit: int) -> str:
    if count > COUNT_CEILING:
        return (f"This template makes more than {COUNT_CEILING:,} combinations; Kling Lab runs at most {limit} "
                "takes at once. Remove alternatives or sweep values.")
    return (f"This would make {count:,} variations; Kling Lab runs at most {limit} at once. "
            "Remove an alternative or a sweep value.")


def _summarized(errors: Sequence[str]) -> tuple[str, ...]:
    """Each distinct problem once, and past ERRORS_LISTED one sentence for the rest (not thousands of lines)."""
    distinct = list(dict.fromkeys(errors))
    if len(distinct) <= ERRORS_LISTED + 1:
        return tuple(distinct)
    rest = len(distinct) - ERRORS_LISTED
    return (*distinct[:ERRORS_LISTED], f"…and {rest:,} more problems like these in the template; fix these first.")


def _dimensions(
    segments: list[_Segment],
    variables: Mapping[str, Sequence[str]],
    sweeps: Mapping[str, Sequence[Any]],
) -> tuple[list[_Dimension], list[str]]:
    dims: list[_Dimension] = []
    errors: list[str] = []
    seen_vars: set[str] = set()
    for index, seg in enumerate(segments):
        if isinstance(seg, _Choice):
            dims.append(_Dimension(f"choice{index}", list(seg.options), [_short(o) for o in seg.options]))
        elif isinstance(seg, _Variable) and seg.name not in seen_vars:
            seen_vars.add(seg.name)
            values = [str(v) for v in variables.get(seg.name, []) if str(v).strip()]
            if seg.name not in variables:
                errors.append(f"The template uses {{{seg.name}}} but no values were given for it.")
                continue
            if not values:
                errors.append(f"The variable {{{seg.name}}} has no values.")
                continue
            dims.append(_Dimension(f"var:{seg.name}", values, [_short(v) for v in values]))
    for key, values in sweeps.items():
        if key not in SWEEP_KEYS:
            errors.append(f"“{key}” can't be swept; sweep one of: {', '.join(SWEEP_KEYS)}.")
            continue
        vals = list(values)
        if not vals:
            continue
        if key == "provider":
            unknown = [v for v in vals if not (isinstance(v, str) and v in CAPABILITIES)]
            if unknown:
                errors.append(f"{_short(repr(unknown[0]))} is not a provider; choose from {', '.join(CAPABILITIES)}.")
                continue
        dims.append(_Dimension(f"sweep:{key}", vals, [_sweep_display(key, v) for v in vals]))
    return dims, errors


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_PART_MAX else text[: LABEL_PART_MAX - 1].rstrip() + "…"


def _sweep_display(key: str, value: Any) -> str:
    if key == "audio":
        return "audio on" if value else "audio off"
    if key == "duration":
        return f"{value} s"
    if key == "cfg_scale":
        return f"cfg {value:g}" if isinstance(value, int | float) else f"cfg {value}"
    if key == "provider":
        caps = CAPABILITIES.get(value)
        return caps.label if caps else str(value)
    return str(value)


def expand(
    template: str,
    base: GenerationRequest,
    provider: str,
    *,
    variables: Mapping[str, Sequence[str]] | None = None,
    sweeps: Mapping[str, Sequence[Any]] | None = None,
    limit: int = MAX_VARIATIONS,
) -> Expansion:
    """Expand `template` with `variables` and `sweeps` over `base` (whose prompt is replaced).

    Returns the variations in a stable order, or errors: malformed braces, an
    undefined variable, or more than `limit` variations (with the count it
    would have made).
    """
    if not isinstance(template, str):
        return Expansion(errors=("The prompt template must be text.",))
    segments, errors = parse_template(template)
    dims, dim_errors = _dimensions(segments, variables or {}, sweeps or {})
    errors += dim_errors
    count = _count(dims)
    if errors:
        return Expansion(errors=_summarized(errors), count=count)
    if count > limit:
        return Expansion(errors=(_too_many(count, limit),), count=count)
    varying = [len(set(map(repr, d.values))) > 1 for d in dims]
    variations: list[Variation] = []
    for combo in itertools.product(*(range(len(d.values)) for d in dims)):
        chosen = {d.name: d.values[i] for d, i in zip(dims, combo, strict=True)}
        prompt = _render(segments, chosen)
        request = base.with_changes(prompt=prompt)
        take_provider = provider
        for key in SWEEP_KEYS:
            name = f"sweep:{key}"
            if name not in chosen:
                continue
            if key == "provider":
                take_provider = chosen[name]
            else:
                request = request.with_changes(**{key: chosen[name]})
        parts = [d.display[i] for d, i, v in zip(dims, combo, varying, strict=True) if v]
        label = " · ".join(parts) if parts else "single take"
        choices = tuple((d.name, d.display[i]) for d, i in zip(dims, combo, strict=True))
        variations.append(Variation(prompt, label, take_provider, request, choices))
    return Expansion(variations=tuple(variations), count=count)


def _render(segments: list[_Segment], chosen: Mapping[str, Any]) -> str:
    out: list[str] = []
    for index, seg in enumerate(segments):
        if isinstance(seg, _Literal):
            out.append(seg.text)
        elif isinstance(seg, _Choice):
            out.append(str(chosen[f"choice{index}"]))
        else:
            out.append(str(chosen[f"var:{seg.name}"]))
    return "".join(out)
