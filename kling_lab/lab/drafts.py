"""Compose drafts through the door: the whole Compose state, kept per person, so no work is lost.

A draft holds what Compose shows (template, variables, negative prompt,
parameters, provider, sweeps, frames by content hash, toggles) as plain JSON.
`normal_state` is the one description of that state: unknown keys are dropped
and every value is checked for its type, so a draft read back can always be
put into Compose's widgets. A draft belongs to whoever wrote it (the person at
this machine and their command line are one person); nobody else reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, DURATIONS, MODES, PROVIDER_NAMES
from kling_lab.images import FrameRef
from kling_lab.lab.actors import Actor, check
from kling_lab.lab.base import DoorBase
from kling_lab.store import DraftRecord

DRAFT_ID = re.compile(r"^d_[0-9a-f]{12}$")
RECENT_DRAFTS = 5
MAX_FIELD_CHARS = 20_000
MAX_RUN_CHOICES = 50
"""How many ticked or unticked variation rows a draft remembers (the latest changed)."""

TEXT_FIELDS = ("template", "variables", "negative_prompt", "voice_ids", "camera_choice", "speaker", "sweep_cfg")
DEFAULTS: dict[str, Any] = {
    "template": "", "variables": "", "negative_prompt": "", "voice_ids": "", "camera_choice": None, "speaker": "",
    "provider": None, "mode": None, "duration": 5, "aspect_ratio": "16:9", "cfg_on": False, "cfg_scale": 0.5,
    "audio": False, "sweep_duration": [], "sweep_audio": [], "sweep_aspect": [], "sweep_mode": [],
    "sweep_provider": [], "sweep_cfg": "", "start_frame": None, "end_frame": None, "run_choices": {},
}
"""Every field of a draft and the value Compose starts with."""

_CHOICES: dict[str, tuple[Any, ...]] = {
    "provider": tuple(PROVIDER_NAMES), "mode": tuple(MODES), "duration": tuple(DURATIONS),
    "aspect_ratio": tuple(ASPECT_RATIOS), "sweep_duration": tuple(DURATIONS), "sweep_audio": (False, True),
    "sweep_aspect": tuple(ASPECT_RATIOS), "sweep_mode": tuple(MODES), "sweep_provider": tuple(PROVIDER_NAMES),
}


def _frame(value: object) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    try:
        ref = FrameRef.from_dict(value)
    except (KeyError, TypeError, ValueError):
        return None
    return ref.to_dict() if re.fullmatch(r"[0-9a-f]{64}", ref.sha256) else None


def normal_state(raw: object) -> dict[str, Any]:
    """A draft's state with every field present and of its type; anything unknown or malformed is dropped."""
    given = raw if isinstance(raw, dict) else {}
    state = dict(DEFAULTS)
    for name in TEXT_FIELDS:
        value = given.get(name, DEFAULTS[name])
        if isinstance(value, str):
            state[name] = value[:MAX_FIELD_CHARS]
    if not isinstance(given.get("camera_choice"), str):
        state["camera_choice"] = None
    for name in ("provider", "mode", "duration", "aspect_ratio"):
        value = given.get(name, DEFAULTS[name])
        if value in _CHOICES[name] and not isinstance(value, bool):
            state[name] = value
    for name in ("cfg_on", "audio"):
        if isinstance(given.get(name), bool):
            state[name] = given[name]
    cfg = given.get("cfg_scale")
    if isinstance(cfg, int | float) and not isinstance(cfg, bool) and 0.0 <= cfg <= 1.0:
        state["cfg_scale"] = float(cfg)
    for name in ("sweep_duration", "sweep_audio", "sweep_aspect", "sweep_mode", "sweep_provider"):
        values = given.get(name)
        if isinstance(values, list):
            state[name] = [v for v in dict.fromkeys(values) if _allowed_choice(name, v)]
    state["start_frame"] = _frame(given.get("start_frame"))
    state["end_frame"] = _frame(given.get("end_frame"))
    state["run_choices"] = _run_choices(given.get("run_choices"))
    return state


def _run_choices(value: object) -> dict[str, bool]:
    """Which variation rows the person ticked or unticked against the default, by row key."""
    if not isinstance(value, dict):
        return {}
    kept = {k: v for k, v in value.items() if isinstance(k, str) and len(k) <= 500 and isinstance(v, bool)}
    return dict(list(kept.items())[-MAX_RUN_CHOICES:])


def _allowed_choice(name: str, value: object) -> bool:
    if name == "sweep_audio":
        return isinstance(value, bool)
    return not isinstance(value, bool) and value in _CHOICES[name]


def draft_title(draft: DraftRecord, limit: int = 48) -> str:
    """A draft in a few words: the start of its template, or a note that it has none yet."""
    text = " ".join(str(draft.state.get("template", "")).split())
    if not text:
        return "(no prompt yet)"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _variables_text(variables: object) -> str:
    if not isinstance(variables, dict):
        return ""
    lines = []
    for name, values in variables.items():
        if isinstance(values, list) and values:
            lines.append(f"{name} = {' | '.join(str(v) for v in values)}")
    return "\n".join(lines)


def _owner(actor: Actor) -> tuple[str, str]:
    """Whose drafts these are: the person at this machine and their command line are one person."""
    kind = "local" if actor.kind in ("local", "cli") else actor.kind
    return kind, actor.name


class Drafts(DoorBase):
    """Save, open, list and make Compose drafts."""

    def save_draft(self, actor: Actor, state: dict[str, Any], draft_id: str | None = None, *,
                   origin: str = "") -> DraftRecord:
        """Keep Compose's state in draft `draft_id` (a new draft when None or not this person's); returns it.

        ValueError with a sentence when it is too large to keep.
        """
        check(actor, "draft")
        kind, name = _owner(actor)
        if draft_id is not None and not DRAFT_ID.match(draft_id):
            draft_id = None
        return self.store.save_draft(draft_id, owner_kind=kind, owner_name=name, state=normal_state(state),
                                     origin=origin)

    def draft(self, actor: Actor, draft_id: object) -> DraftRecord | None:
        """This person's draft by id, or None (no such draft, a malformed id, or someone else's)."""
        check(actor, "draft")
        if not isinstance(draft_id, str) or not DRAFT_ID.match(draft_id):
            return None
        found = self.store.get_draft(draft_id)
        if found is None or (found.owner_kind, found.owner_name) != _owner(actor):
            return None
        return _normal(found)

    def latest_draft(self, actor: Actor) -> DraftRecord | None:
        """This person's most recently changed draft, or None when they have none."""
        recent = self.recent_drafts(actor, limit=1)
        return recent[0] if recent else None

    def recent_drafts(self, actor: Actor, limit: int = RECENT_DRAFTS) -> list[DraftRecord]:
        """This person's drafts, the most recently changed first."""
        check(actor, "draft")
        kind, name = _owner(actor)
        return [_normal(d) for d in self.store.recent_drafts(owner_kind=kind, owner_name=name, limit=limit)]

    def draft_from_job(self, actor: Actor, job_id: str) -> DraftRecord:
        """A new draft from a take: its batch's template, variables and sweeps (not the expanded prompt), and the
        take's own host, parameters and frames. KeyError when there is no such clip."""
        check(actor, "draft")
        job = self._job(job_id)
        check(actor, "read", batch_id=job.batch_id)
        batch = self.store.get_batch(job.batch_id)
        settings = batch.settings if batch is not None else {}
        template = batch.template if batch is not None and batch.template else job.request.prompt
        sweeps = settings.get("sweeps") if isinstance(settings.get("sweeps"), dict) else {}
        r = job.request
        caps = CAPABILITIES.get(job.provider)
        state = {
            "template": template,
            "variables": _variables_text(settings.get("variables")),
            "negative_prompt": r.negative_prompt,
            "provider": job.provider,
            "mode": r.mode if caps is None or r.mode in caps.modes else caps.modes[-1],
            "duration": r.duration,
            "aspect_ratio": r.aspect_ratio,
            "cfg_on": r.cfg_scale is not None,
            "cfg_scale": r.cfg_scale if r.cfg_scale is not None else 0.5,
            "audio": bool(r.audio),
            "voice_ids": ", ".join(r.voice_ids),
            "sweep_duration": list(sweeps.get("duration", [])),
            "sweep_audio": list(sweeps.get("audio", [])),
            "sweep_aspect": list(sweeps.get("aspect_ratio", [])),
            "sweep_mode": list(sweeps.get("mode", [])),
            "sweep_provider": list(sweeps.get("provider", [])),
            "sweep_cfg": ", ".join(str(v) for v in sweeps.get("cfg_scale", [])),
            "start_frame": r.start_frame.to_dict() if r.start_frame else None,
            "end_frame": r.end_frame.to_dict() if r.end_frame else None,
        }
        return self.save_draft(actor, state, origin=job.id)


def _normal(draft: DraftRecord) -> DraftRecord:
    return DraftRecord(draft.id, draft.owner_kind, draft.owner_name, normal_state(draft.state), draft.origin,
                       draft.created_at, draft.updated_at)


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two Compose states would save the same draft."""
    return json.dumps(normal_state(a), sort_keys=True) == json.dumps(normal_state(b), sort_keys=True)
