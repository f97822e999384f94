"""What Compose says about its inputs: template problems with what to do, the take cap's cause, and why Generate
is disabled. Plain sentences only; the page shows them as text (they quote the person's template)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from kling_lab.lab import BatchPlan
from kling_lab.variations import MAX_VARIATIONS, count_variations

_NO_VALUES = re.compile(r"^The template uses \{(\w+)\} but no values were given for it\.$")
_TOO_MANY = ("This would make ", "This template makes more than ")


def explained(message: str) -> str:
    """A template problem with what to do about it, where the bare message leaves one guessing."""
    match = _NO_VALUES.match(message)
    if match:
        name = match.group(1)
        return (f"The template uses {{{name}}} but no values were given for it: add a line such as "
                f"“{name} = slow push-in | orbit” under Template variables, or write the choices in place, "
                "as in {slow push-in|orbit}.")
    return message


def is_cap_message(message: str) -> bool:
    return message.startswith(_TOO_MANY)


def cap_message(template: str, variables: Mapping[str, Sequence[str]], sweeps: Mapping[str, Sequence[Any]],
                total: int) -> str | None:
    """Over the take cap: whether the template (with its variables), the sweeps, or both made too many."""
    if total <= MAX_VARIATIONS:
        return None
    from_template = count_variations(template, variables)
    factor = 1
    for values in sweeps.values():
        factor *= max(len(values), 1)
    shown = f"{total:,}" if total <= 10_000 else "more than 10,000"
    if from_template <= MAX_VARIATIONS:
        return (f"The sweeps make {shown} takes: the template's {from_template} variation"
                f"{'s' if from_template != 1 else ''} times {factor:,} sweep combinations, and Kling Lab runs at "
                f"most {MAX_VARIATIONS} at once. Remove a sweep value.")
    if factor == 1:
        return (f"The template makes {shown} variations; Kling Lab runs at most {MAX_VARIATIONS} at once. "
                "Remove an alternative from a {a|b} group or a variable.")
    return (f"The template ({from_template:,} variations) and the sweeps (×{factor:,}) make {shown} takes; "
            f"Kling Lab runs at most {MAX_VARIATIONS} at once. Remove alternatives or sweep values.")


def generate_blocker(prompt: str, plan: BatchPlan, *, input_problems: Sequence[str], missing_keys: Sequence[str],
                     frame_errors: Sequence[str]) -> str | None:
    """Why Generate is disabled, in one sentence; None when it can run. `plan` holds the ticked takes.

    Over budget is a warning on the badge, not a reason here: the budget is checked where it is kept, at the
    door when Generate is pressed, so a press that another tab's spend has just made too much gets the
    refusal with the numbers instead of landing on a button that turned itself off.
    """
    if not prompt.strip():
        return "Write a prompt to generate."
    if input_problems or plan.expansion.errors:
        return "Fix the problems under the prompt to generate."
    if frame_errors:
        return "Fix or remove the frame above to generate."
    if not plan.takes and plan.left_out:
        return "Tick at least one take under Variations to generate."
    if missing_keys:
        some_keyed = len({t.variation.provider for t in plan.takes}) > len(missing_keys)  # one sentence a host
        return ("Add the missing key in Settings, or untick its takes, to generate." if some_keyed
                else "Add the missing key in Settings to generate.")
    if not plan.ok:
        return "Fix the problems shown above, or untick those takes, to generate." if len(plan.takes) > 1 else \
            "Fix the problems shown above to generate."
    return None
