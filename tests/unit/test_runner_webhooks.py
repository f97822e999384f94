"""Host callbacks routed by the WebhookInbox, with recording collaborators and a fake clock: no thread, no waiting."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_lab.providers.base import JobState, TaskStatus
from kling_lab.runner import WebhookInbox
from kling_lab.store import Store
from tests.unit.runner_fakes import ScriptedHost, make_batch


class Recorder:
    """What the inbox asked the runner to do, and a clock the test moves."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, TaskStatus]] = []
        self.woken: list[str] = []
        self.now = 100.0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "db.sqlite3")


def _inbox(store: Store, host: ScriptedHost, seen: Recorder, interval: float = 2.0) -> WebhookInbox:
    return WebhookInbox(store=store, client=lambda provider: host,
                        deliver=lambda job_id, status: seen.delivered.append((job_id, status)),
                        wake=seen.woken.append, wake_interval=lambda: interval, now=lambda: seen.now)


def _submitted_job(store: Store, task_id: str = "task-1") -> str:
    (job_id,) = store.claim_jobs("r", lease_seconds=60)
    store.transition(job_id, JobState.SUBMITTED, owner="r", host_task_id=task_id)
    return job_id


def test_a_signed_callback_hands_its_status_to_the_job(store, tiny_mp4) -> None:
    make_batch(store, 1)
    job_id, seen = _submitted_job(store), Recorder()
    inbox = _inbox(store, ScriptedHost(tiny_mp4), seen)
    assert inbox.accept("fal", b"signed:task-1", {}) == "applied"
    ((to, status),) = seen.delivered
    assert to == job_id and status.phase == "succeeded"
    assert seen.woken == []


def test_a_forged_callback_changes_nothing_and_wakes_nobody(store, tiny_mp4) -> None:
    make_batch(store, 1)
    _submitted_job(store)
    seen = Recorder()
    inbox = _inbox(store, ScriptedHost(tiny_mp4), seen)
    assert [inbox.accept("fal", b"forged:task-1", {}) for _ in range(20)] == ["refused"] * 20
    assert seen.delivered == [] and seen.woken == []


def test_a_flood_of_unsigned_callbacks_wakes_the_job_once_per_interval(store, tiny_mp4) -> None:
    make_batch(store, 1)
    job_id, seen = _submitted_job(store), Recorder()
    inbox = _inbox(store, ScriptedHost(tiny_mp4), seen, interval=60)
    assert [inbox.accept("fal", b"task-1", {}) for _ in range(50)] == ["woke"] * 50
    assert seen.woken == [job_id]
    seen.now += 59
    inbox.accept("fal", b"task-1", {})
    assert seen.woken == [job_id]
    seen.now += 1
    inbox.accept("fal", b"task-1", {})
    assert seen.woken == [job_id, job_id]
    assert seen.delivered == []


def test_a_callback_for_a_finished_job_is_acknowledged_and_ignored(store, tiny_mp4) -> None:
    make_batch(store, 1)
    job_id, seen = _submitted_job(store), Recorder()
    store.transition(job_id, JobState.DONE, owner="r")
    inbox = _inbox(store, ScriptedHost(tiny_mp4), seen)
    assert inbox.accept("fal", b"signed:task-1", {}) == "applied"
    assert inbox.accept("fal", b"task-1", {}) == "woke"
    assert seen.delivered == [] and seen.woken == []


def test_a_callback_for_a_task_we_do_not_have_is_unmatched(store, tiny_mp4) -> None:
    seen = Recorder()
    assert _inbox(store, ScriptedHost(tiny_mp4), seen).accept("fal", b"signed:task-nobody", {}) == "unmatched"
    assert seen.delivered == [] and seen.woken == []


def test_an_unreadable_callback_is_refused_without_an_error(store, tiny_mp4) -> None:
    seen = Recorder()
    assert _inbox(store, ScriptedHost(tiny_mp4), seen).accept("fal", b"\xff\xfe", {}) == "refused"
