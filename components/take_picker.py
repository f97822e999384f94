"""The variations table with a Run checkbox per row: which takes Generate sends.

Every row starts ticked, except in a provider sweep where some hosts have a key
and others not: those rows start unticked, saying "no key for <host>". What the
person ticks or unticks differently from that default is kept by row (its
label) in `compose_run_choices`, which the draft keeps too, so a choice
survives a change of price, a reload and a restart. The editor's own edits are
relative to the frame it was first shown with (`compose_run_base`); when the
rows themselves change, a fresh editor (a new key) starts from the choices.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import BatchPlan, Settings
from kling_lab.pricing import format_usd
from kling_lab.request import GenerationRequest

CHOICES = "compose_run_choices"
BASE = "compose_run_base"
GENERATION = "compose_run_generation"
EDITOR = "compose_variations"
MAX_CHOICES = 50


def reset_choices() -> None:
    """A draft was put into Compose: the next table starts from its choices, in a fresh editor."""
    ss = st.session_state
    ss.pop(BASE, None)
    ss[GENERATION] = ss.get(GENERATION, 0) + 1


def editor_key() -> str:
    return f"{EDITOR}_{st.session_state.get(GENERATION, 0)}"


def row_keys(plan: BatchPlan) -> list[str]:
    """A key per take: its label, numbered from the second time a label repeats."""
    seen: dict[str, int] = {}
    keys = []
    for take in plan.takes:
        label = take.variation.label
        seen[label] = seen.get(label, 0) + 1
        keys.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return keys


def no_key_reason(provider: str) -> str:
    return f"no key for {CAPABILITIES[provider].label}"


def _defaults(plan: BatchPlan, settings: Settings) -> list[bool]:
    keyed = [settings.has_key(t.variation.provider) for t in plan.takes]
    mixed = any(keyed) and not all(keyed)
    return [has or not mixed for has in keyed]  # one host without a key: ticked, Generate says to add it


def _describe_settings(request: GenerationRequest) -> str:
    audio = "audio on" if request.audio else "audio off"
    return f"{request.mode} · {request.duration} s · {request.aspect_ratio} · {audio}"


def _ready(plan: BatchPlan, settings: Settings) -> list[str]:
    marks = []
    for take in plan.takes:
        if take.problems:
            marks.append("✕ " + take.problems[0])
        elif not settings.has_key(take.variation.provider):
            marks.append("✕ " + no_key_reason(take.variation.provider))
        else:
            marks.append("✓")
    return marks


def _remember(keys: list[str], defaults: list[bool], run: list[bool]) -> None:
    choices = dict(st.session_state.get(CHOICES) or {})
    for key, default, value in zip(keys, defaults, run, strict=True):
        choices.pop(key, None)
        if value != default:
            choices[key] = value  # the latest changed last, so the oldest go first past the cap
    st.session_state[CHOICES] = dict(list(choices.items())[-MAX_CHOICES:])


def choose_takes(plan: BatchPlan, settings: Settings) -> BatchPlan:
    """Show the takes with a Run checkbox each; returns the plan of the ticked takes."""
    ss = st.session_state
    keys, defaults = row_keys(plan), _defaults(plan, settings)
    base = ss.get(BASE)
    if base is None or base["keys"] != keys or base["defaults"] != defaults:
        if base is not None:
            ss[GENERATION] = ss.get(GENERATION, 0) + 1  # new rows: a fresh editor, starting from the choices
        choices = ss.get(CHOICES) or {}
        base = ss[BASE] = {"keys": keys, "defaults": defaults,
                           "run": [bool(choices.get(k, d)) for k, d in zip(keys, defaults, strict=True)]}
    frame = pd.DataFrame(
        {
            "Run": base["run"],
            "Label": [t.variation.label for t in plan.takes],
            "Price": [format_usd(t.price) for t in plan.takes],
            "Ready": _ready(plan, settings),
            "Provider": [CAPABILITIES[t.variation.provider].label for t in plan.takes],
            "Settings": [_describe_settings(t.variation.request) for t in plan.takes],
            "Prompt": [t.variation.prompt for t in plan.takes],
        }
    )
    edited = st.data_editor(
        frame,
        hide_index=True,
        key=editor_key(),
        num_rows="fixed",
        disabled=[c for c in frame.columns if c != "Run"],
        column_config={
            "Run": st.column_config.CheckboxColumn(width=70, help="Tick the takes Generate sends."),
            "Label": st.column_config.TextColumn(width=140),  # Price and Ready in view at 1280 px; the prompt
            "Price": st.column_config.TextColumn(width=70),   # (widest) last, shown whole in its tooltip
            "Ready": st.column_config.TextColumn(width=140),
            "Prompt": st.column_config.TextColumn(width="large"),
        },
    )
    run = [bool(v) for v in edited["Run"].tolist()]
    _remember(keys, defaults, run)
    return plan.only(i for i, ticked in enumerate(run) if ticked)


def left_out_by_key(plan: BatchPlan, chosen: BatchPlan, settings: Settings) -> str | None:
    """A sentence for takes left unticked because their host has no key, or None."""
    if not any(settings.has_key(t.variation.provider) for t in plan.takes):
        return None  # no host of the plan has a key: Generate itself says to add one
    chosen_ids = {id(t) for t in chosen.takes}
    hosts = sorted({t.variation.provider for t in plan.takes
                    if id(t) not in chosen_ids and not settings.has_key(t.variation.provider)})
    if not hosts:
        return None
    names = " and ".join(CAPABILITIES[h].label for h in hosts)
    verb = "has" if len(hosts) == 1 else "have"
    return f"Not run: {names} {verb} no key here; add it in Settings, then tick those takes."
