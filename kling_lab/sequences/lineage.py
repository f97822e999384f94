"""What changed between a take and the take it came from, in words: "cfg 0.5 → 0.7, 'rain' → 'fog'".

`lineage_words` compares two requests (and their hosts): the words of the prompt
that were replaced, added or removed, then every parameter that differs (cfg,
duration, sound, aspect, mode, host, negative prompt, frames, voices, seed).
Two equal requests are "same request". `lineage_line` is the line Compare and
History show: "T006 from T003: cfg 0.5 → 0.7". Pure functions, no store.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Protocol

from kling_lab.request import GenerationRequest

SAME = "same request"
MAX_QUOTED = 40
"""A quoted run of prompt words longer than this is shortened with an ellipsis."""


class _Take(Protocol):
    id: str
    take_number: int | None
    lineage: str
    parent_job_id: str | None


def _quote(words: list[str]) -> str:
    text = " ".join(words)
    if len(text) > MAX_QUOTED:
        text = text[: MAX_QUOTED - 1].rstrip() + "…"
    return f"'{text}'"


def prompt_changes(before: str, after: str) -> list[str]:
    """The words replaced ("'rain' → 'fog'"), added ("+'at dusk'") and removed ("−'slowly'"), in prompt order."""
    old, new = before.split(), after.split()
    changes: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "replace":
            changes.append(f"{_quote(old[i1:i2])} → {_quote(new[j1:j2])}")
        elif tag == "insert":
            changes.append(f"+{_quote(new[j1:j2])}")
        elif tag == "delete":
            changes.append(f"−{_quote(old[i1:i2])}")
    return changes


def _number(value: float | None) -> str:
    if value is None:
        return "default"
    return f"{value:g}"


def _frame(before: object, after: object, what: str) -> str | None:
    if before == after:
        return None
    if before is None:
        return f"{what} added"
    if after is None:
        return f"{what} removed"
    return f"new {what}"


def _host(provider: str) -> str:
    from kling_lab.capabilities import CAPABILITIES

    capability = CAPABILITIES.get(provider)
    return capability.label if capability is not None else provider


def lineage_words(before: GenerationRequest, after: GenerationRequest, *, before_provider: str = "",
                  after_provider: str = "") -> str:
    """Everything that differs from `before` to `after`, comma-separated; "same request" when nothing does."""
    changes = prompt_changes(before.prompt, after.prompt)
    if before.cfg_scale != after.cfg_scale:
        changes.append(f"cfg {_number(before.cfg_scale)} → {_number(after.cfg_scale)}")
    if before.duration != after.duration:
        changes.append(f"{before.duration} s → {after.duration} s")
    if before.audio != after.audio:
        changes.append("sound on" if after.audio else "sound off")
    if before.aspect_ratio != after.aspect_ratio:
        changes.append(f"{before.aspect_ratio} → {after.aspect_ratio}")
    if before.mode != after.mode:
        changes.append(f"{before.mode} → {after.mode}")
    if before_provider and after_provider and before_provider != after_provider:
        changes.append(f"{_host(before_provider)} → {_host(after_provider)}")
    if before.negative_prompt != after.negative_prompt:
        words = prompt_changes(before.negative_prompt, after.negative_prompt)
        changes.append("negative " + ", ".join(words) if words else "negative prompt changed")
    for what, old, new in (("start frame", before.start_frame, after.start_frame),
                           ("end frame", before.end_frame, after.end_frame)):
        said = _frame(old and old.sha256, new and new.sha256, what)
        if said:
            changes.append(said)
    if tuple(before.voice_ids) != tuple(after.voice_ids):
        changes.append("voices changed")
    if before.seed != after.seed:
        changes.append(f"seed {before.seed if before.seed is not None else 'random'} → "
                       f"{after.seed if after.seed is not None else 'random'}")
    return ", ".join(changes) if changes else SAME


def _name(take: _Take) -> str:
    from kling_lab.sequences.model import take_code

    return take_code(take.take_number) if take.take_number is not None else take.id


def lineage_line(job: _Take, parent: _Take | None) -> str:
    """"T006 from T003: cfg 0.5 → 0.7" for a take that came from another; "" for one that did not.

    `parent` None with a recorded parent id (gone, or in a batch this viewer may not open) says "an earlier
    take", never its id, so a review link's holder learns nothing outside the link.
    """
    if not job.parent_job_id:
        return ""
    source = _name(parent) if parent is not None else "an earlier take"
    words = job.lineage or SAME
    return f"{_name(job)} from {source}: {words}"
