"""Emulated tasks: how long they take, how they end, and where they are now.

A task's phase follows the clock: queued for the first part of its latency,
running until the latency has passed, then succeeded or failed by its planned
outcome. Tests can pin a phase (`forced_phase`) to see a state without
waiting. Prompt directives override the emulator's defaults for one task:
`[emu:fail]`, `[emu:fail=reason]`, `[emu:policy]`, `[emu:policy=reason]`,
`[emu:success]`, `[emu:latency=3]`, `[emu:latency=1-3]`.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

OUTCOMES = frozenset({"success", "fail", "policy"})
PHASES = frozenset({"queued", "running", "succeeded", "failed", "canceled"})
FINAL_PHASES = frozenset({"succeeded", "failed", "canceled"})
DEFAULT_FAIL_REASON = "The model could not produce a video for this input (emulated failure)"
DEFAULT_POLICY_REASON = "The prompt was flagged by content moderation as sensitive content"

_DIRECTIVE = re.compile(r"\[emu:(\w+)(?:=([^\]]*))?\]")

Latency = float | tuple[float, float]


@dataclass(frozen=True)
class Plan:
    """How one task will go: its outcome, the host's reason when it fails, and its latency in seconds."""

    outcome: str
    reason: str | None
    latency: float


@dataclass
class OutcomeRule:
    """Make tasks whose prompt contains `match` (any task when None) end with `outcome`, `count` times."""

    outcome: str
    reason: str | None = None
    match: str | None = None
    count: int | None = 1
    used: int = 0
    id: int = 0

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; one of {sorted(OUTCOMES)}")

    def applies(self, prompt: str) -> bool:
        if self.count is not None and self.used >= self.count:
            return False
        return self.match is None or self.match in prompt


def parse_latency(value: Any) -> Latency:
    """A fixed latency (seconds) or a (low, high) range from a number, a pair or "a-b" text."""
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
        return (min(low, high), max(low, high))
    if isinstance(value, str) and "-" in value.strip()[1:]:
        low_text, _, high_text = value.strip().partition("-")
        return parse_latency((low_text, high_text))
    seconds = float(value)
    if seconds < 0:
        raise ValueError("latency cannot be negative")
    return seconds


def directives(prompt: str) -> dict[str, str | None]:
    """The `[emu:...]` directives in a prompt, by name."""
    return {m.group(1).lower(): m.group(2) for m in _DIRECTIVE.finditer(prompt or "")}


def plan_task(
    prompt: str,
    *,
    rules: list[OutcomeRule],
    default_outcome: str,
    default_reason: str | None,
    latency: Latency,
    rng: random.Random,
) -> Plan:
    """Decide a new task's outcome and latency: prompt directives, then outcome rules, then defaults."""
    found = directives(prompt)
    outcome, reason = default_outcome, default_reason
    for rule in rules:
        if rule.applies(prompt):
            rule.used += 1
            outcome, reason = rule.outcome, rule.reason
            break
    for name in ("success", "fail", "policy"):
        if name in found:
            outcome, reason = name, found[name] or None
    if "latency" in found and found["latency"]:
        latency = parse_latency(found["latency"])
    seconds = rng.uniform(*latency) if isinstance(latency, tuple) else float(latency)
    if outcome == "fail" and not reason:
        reason = DEFAULT_FAIL_REASON
    if outcome == "policy" and not reason:
        reason = DEFAULT_POLICY_REASON
    return Plan(outcome=outcome, reason=reason if outcome != "success" else None, latency=seconds)


@dataclass
class EmuTask:
    """One accepted create."""

    host: str
    task_id: str
    kind: str
    """"t2v" or "i2v"."""
    prompt: str
    payload: dict[str, Any]
    audio: bool
    plan: Plan
    created_at: float
    """Monotonic seconds."""
    created_epoch_ms: int
    file_token: str
    job_key: str | None = None
    callback_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    canceled_at: float | None = None
    forced_phase: str | None = None
    callback_state: str = "none"
    """none (no callback URL), pending, sending, sent, failed."""

    def phase(self, now: float, queued_share: float) -> str:
        """The phase at monotonic time `now`."""
        if self.forced_phase:
            return self.forced_phase
        if self.canceled_at is not None:
            return "canceled"
        elapsed = now - self.created_at
        latency = self.plan.latency
        if elapsed < latency * queued_share:
            return "queued"
        if elapsed < latency:
            return "running"
        return "succeeded" if self.plan.outcome == "success" else "failed"

    def progress(self, now: float) -> float:
        """Elapsed share of the latency, 0..1."""
        if self.plan.latency <= 0:
            return 1.0
        return max(0.0, min(1.0, (now - self.created_at) / self.plan.latency))

    def summary(self, now: float, queued_share: float) -> dict[str, Any]:
        return {
            "host": self.host,
            "task_id": self.task_id,
            "kind": self.kind,
            "prompt": self.prompt,
            "phase": self.phase(now, queued_share),
            "outcome": self.plan.outcome,
            "latency": self.plan.latency,
            "job_key": self.job_key,
            "callback_url": self.callback_url,
            "callback_state": self.callback_state,
        }


class TaskTable:
    """Every accepted task, by host and id, plus the lookups hosts need."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._tasks: dict[tuple[str, str], EmuTask] = {}
        self._by_token: dict[str, EmuTask] = {}

    def add(self, task: EmuTask) -> None:
        with self.lock:
            self._tasks[(task.host, task.task_id)] = task
            self._by_token[task.file_token] = task

    def get(self, host: str, task_id: str) -> EmuTask | None:
        with self.lock:
            return self._tasks.get((host, task_id))

    def by_token(self, token: str) -> EmuTask | None:
        with self.lock:
            return self._by_token.get(token)

    def find(self, task_id: str) -> EmuTask | None:
        with self.lock:
            for task in self._tasks.values():
                if task.task_id == task_id:
                    return task
        return None

    def by_job_key(self, host: str, job_key: str) -> EmuTask | None:
        with self.lock:
            for task in self._tasks.values():
                if task.host == host and task.job_key == job_key:
                    return task
        return None

    def all(self) -> list[EmuTask]:
        with self.lock:
            return list(self._tasks.values())

    def clear(self) -> None:
        with self.lock:
            self._tasks.clear()
            self._by_token.clear()
