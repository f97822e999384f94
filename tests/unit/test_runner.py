"""The runner's money-safety and recovery rules, with a scripted in-process host.

The host here is a plain object that follows the HostClient contract and serves
its clips through httpx.MockTransport, so each rule is tested without timing
noise. Tests against the HTTP emulator of every real host live beside the
provider clients.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import HostError, JobState, Submission, TaskStatus, WebhookNews
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import NewJob, Store

BASE = "http://127.0.0.1:9"


class ScriptedHost:
    """A fal-like host whose answers are scripted per call."""

    name = "fal"
    caps = CAPABILITIES["fal"]

    def __init__(self, clip: bytes, *, polls_until_done: int = 1) -> None:
        self.clip = clip
        self.creates: list[str] = []
        self.accepted: dict[str, str] = {}
        self.status_calls: dict[str, int] = {}
        self.downloads = 0
        self.polls_until_done = polls_until_done
        self.create_script: list[Callable[[str], None]] = []
        self.download_script: list[Callable[[], httpx.Response]] = []
        self.lookup_finds = False
        self.create_keys: list[str | None] = []
        self.lookups: list[str] = []
        self.fail_task: set[str] = set()

    async def create(self, http, request, *, job_id, frames, create_key=None):  # noqa: ANN001
        self.creates.append(job_id)
        self.create_keys.append(create_key)
        if self.create_script:
            self.create_script.pop(0)(job_id)
        task_id = f"task-{len(self.accepted) + 1}"
        self.accepted[task_id] = create_key
        return Submission(task_id)

    async def status(self, http, submission):  # noqa: ANN001
        n = self.status_calls.get(submission.task_id, 0) + 1
        self.status_calls[submission.task_id] = n
        if submission.task_id in self.fail_task:
            return TaskStatus("failed", error="The host's safety filter refused the prompt.")
        if n < self.polls_until_done:
            return TaskStatus("running", progress=n / self.polls_until_done)
        return TaskStatus("succeeded", video_url=f"{BASE}/files/{submission.task_id}.mp4",
                          actual_cost=Decimal("0.35"))

    async def cancel(self, http, submission):  # noqa: ANN001
        return True

    async def lookup(self, http, create_key):  # noqa: ANN001
        self.lookups.append(create_key)
        if self.lookup_finds:
            for task_id, key in self.accepted.items():
                if key == create_key:
                    return Submission(task_id)
        return None

    def parse_webhook(self, body, headers, *, now=None):  # noqa: ANN001
        # b"signed:<task>" stands for a callback whose signature verified; b"<task>" for an unsigned one.
        text = body.decode()
        if text.startswith("forged:"):
            return None
        if text.startswith("signed:"):
            task_id = text.removeprefix("signed:")
            return WebhookNews(task_id, TaskStatus("succeeded", video_url=f"{BASE}/files/{task_id}.mp4"))
        return WebhookNews(text)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.downloads += 1
            if self.download_script:
                return self.download_script.pop(0)()
            return httpx.Response(200, content=self.clip, headers={"content-type": "video/mp4"})

        return httpx.MockTransport(handle)


FAST = RunnerConfig(poll_schedule=(0.01, 0.01), claim_interval=0.02, create_backoff=0.01, lease_seconds=5)


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, base_urls={"fal": BASE}, keys={"FAL_KEY": "test-key"})


def _runner(store: Store, data_dir: Path, host: ScriptedHost, **kwargs) -> JobRunner:  # noqa: ANN003
    return JobRunner(store, MediaStore(data_dir / "media"), _settings(data_dir), config=FAST,
                     client_factory=lambda provider, settings, media: host, transport=host.transport(), **kwargs)


def _batch(store: Store, n: int) -> str:
    jobs = [NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"shot {i}"), Decimal("0.35")) for i in range(n)]
    return store.create_batch(template="t", provider="fal", jobs=jobs)


def _wait(store: Store, batch_id: str, timeout: float = 15) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = store.jobs_for_batch(batch_id)
        if all(j.state.is_final for j in jobs):
            return jobs
        time.sleep(0.02)
    raise AssertionError(f"batch not finished: {[j.state for j in store.jobs_for_batch(batch_id)]}")


def _run_until_done(runner: JobRunner, store: Store, batch_id: str) -> list:
    """Start the runner, wait for the batch to finish, stop the runner; the batch's jobs."""
    runner.start()
    try:
        return _wait(store, batch_id)
    finally:
        runner.stop()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "db.sqlite3")


def test_ten_jobs_run_at_once_and_each_is_created_once_and_downloaded(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=2)
    batch_id = _batch(store, 10)
    jobs = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert [j.state for j in jobs] == [JobState.DONE] * 10
    assert sorted(host.creates) == sorted(j.id for j in jobs)
    for job in jobs:
        assert Path(job.video_path).read_bytes() == tiny_mp4
        assert job.thumb_path and Path(job.thumb_path).exists()
        assert job.actual_cost == Decimal("0.35")
        assert job.video_width == 160 and job.has_audio is False


def test_every_transition_is_in_the_event_log_in_order(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=2)
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    states = [e.to_state for e in store.events_for_job(job.id)]
    assert states[:3] == ["queued", "sending", "submitted"]
    assert states[-2:] == ["downloading", "done"]


def test_lost_create_answer_ends_unknown_with_one_create_sent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def accepted_then_lost(job_id: str) -> None:
        host.accepted[f"task-lost-{job_id}"] = job_id
        raise httpx.ReadTimeout("timed out")

    host.create_script = [accepted_then_lost]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.UNKNOWN
    assert len(host.creates) == 1
    assert "did not send it again" in job.error


def test_lost_create_answer_is_resolved_when_the_host_can_look_it_up(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.lookup_finds = True

    def accepted_then_lost(job_id: str) -> None:
        host.accepted["task-found"] = host.create_keys[-1]  # the host keeps the id this attempt sent
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    host.create_script = [accepted_then_lost]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.DONE
    assert job.host_task_id == "task-found"
    assert len(host.creates) == 1


def test_rate_limited_create_is_resent_after_retry_after_then_succeeds(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def rate_limited(job_id: str) -> None:
        raise HostError("rate_limited", "fal.ai is rate limiting this key.", retry_safe=True, retry_after=0.05)

    host.create_script = [rate_limited]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.DONE
    assert len(host.creates) == 2
    assert len(host.accepted) == 1
    details = [e.detail for e in store.events_for_job(job.id)]
    assert any("Retrying in" in d for d in details)


def test_refused_create_fails_with_the_hosts_sentence_and_is_not_resent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def out_of_credits(job_id: str) -> None:
        raise HostError("credits", "fal.ai says the account is out of credits.", status_code=402)

    host.create_script = [out_of_credits]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.FAILED
    assert job.error == "fal.ai says the account is out of credits."
    assert job.error_kind == "credits"
    assert len(host.creates) == 1


def test_gateway_timeout_on_create_is_never_resent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def gateway(job_id: str) -> None:
        raise HostError("server", "fal.ai had a gateway error.", status_code=504)

    host.create_script = [gateway]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.UNKNOWN
    assert len(host.creates) == 1


def test_generation_failed_at_host_gives_the_hosts_reason(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.fail_task = {"task-1"}
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.FAILED
    assert "safety filter" in job.error


def test_cut_download_is_retried_and_never_recorded_as_done_until_complete(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    half = tiny_mp4[: len(tiny_mp4) // 2]
    host.download_script = [
        lambda: httpx.Response(200, content=half, headers={"content-length": str(len(tiny_mp4))}),
    ]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.DONE
    assert Path(job.video_path).read_bytes() == tiny_mp4
    assert host.downloads == 2
    assert list((tmp_path / "data" / "media" / "tmp").iterdir()) == []


def test_html_instead_of_a_video_is_refused_and_nothing_is_stored(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.download_script = [lambda: httpx.Response(200, content=b"<html>login</html>" * 10,
                                                   headers={"content-type": "text/html"})]
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.FAILED
    assert "web page" in job.error
    assert job.video_path is None
    assert not (tmp_path / "data" / "media" / "clips" / f"{job.id}.mp4").exists()


def test_restart_resumes_submitted_jobs_without_sending_creates_again(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    batch_id = _batch(store, 3)
    first = _runner(store, tmp_path / "data", host).start()
    deadline = time.time() + 10
    while time.time() < deadline and not all(
        j.state == JobState.RUNNING for j in store.jobs_for_batch(batch_id)
    ):
        time.sleep(0.02)
    first.stop()
    assert len(host.creates) == 3
    host.polls_until_done = 0
    second = _runner(store, tmp_path / "data", host).start()
    try:
        jobs = _wait(store, batch_id)
    finally:
        second.stop()
    assert [j.state for j in jobs] == [JobState.DONE] * 3
    assert len(host.creates) == 3


def test_start_removes_a_partial_download_a_killed_process_left_and_finishes_the_job(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / "data" / "media" / "tmp" / f"{store.jobs_for_batch(batch_id)[0].id}.{dead.pid}.ab12.part"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a clip")
    runner = _runner(store, tmp_path / "data", host).start()
    try:
        jobs = _wait(store, batch_id)
    finally:
        runner.stop()
    assert [j.state for j in jobs] == [JobState.DONE]
    assert list(orphan.parent.iterdir()) == []


def test_job_caught_in_sending_after_a_crash_is_resolved_not_resent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    (job_id,) = store.claim_jobs("crashed-runner", lease_seconds=0.01)
    store.transition(job_id, JobState.SENDING, owner="crashed-runner")
    time.sleep(0.05)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.UNKNOWN
    assert host.creates == []


def _submitted(store: Store, batch_id: str) -> str:
    deadline = time.time() + 10
    while time.time() < deadline and store.jobs_for_batch(batch_id)[0].host_task_id is None:
        time.sleep(0.01)
    task_id = store.jobs_for_batch(batch_id)[0].host_task_id
    assert task_id is not None
    return task_id


def test_signed_webhook_finishes_the_job_without_waiting_for_a_poll(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(0.3, 0.3), claim_interval=0.02, lease_seconds=5)
    batch_id = _batch(store, 1)
    runner = JobRunner(store, MediaStore(tmp_path / "data" / "media"), _settings(tmp_path / "data"), config=config,
                       client_factory=lambda *a: host, transport=host.transport()).start()
    try:
        task_id = _submitted(store, batch_id)
        assert runner.accept_webhook("fal", f"signed:{task_id}".encode(), {}) == "applied"
        assert runner.accept_webhook("fal", f"signed:{task_id}".encode(), {}) == "applied"  # hosts deliver twice
        (job,) = _wait(store, batch_id)
        time.sleep(0.4)
    finally:
        runner.stop()
    assert job.state == JobState.DONE
    assert host.downloads == 1


def test_forged_webhook_changes_no_job(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(5.0,), claim_interval=0.02, lease_seconds=5)
    batch_id = _batch(store, 1)
    runner = JobRunner(store, MediaStore(tmp_path / "data" / "media"), _settings(tmp_path / "data"), config=config,
                       client_factory=lambda *a: host, transport=host.transport()).start()
    try:
        task_id = _submitted(store, batch_id)
        polls_before = host.status_calls.get(task_id, 0)
        outcomes = [runner.accept_webhook("fal", f"forged:{task_id}".encode(), {}) for _ in range(20)]
        time.sleep(0.3)
        job = store.jobs_for_batch(batch_id)[0]
        polls_after = host.status_calls.get(task_id, 0)
    finally:
        runner.stop()
    assert outcomes == ["refused"] * 20
    assert job.state in (JobState.SUBMITTED, JobState.RUNNING)
    assert polls_after == polls_before
    assert host.downloads == 0


def test_unsigned_webhook_only_wakes_the_job_to_ask_the_host(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4, polls_until_done=10_000)
    config = RunnerConfig(poll_schedule=(30.0,), claim_interval=0.02, lease_seconds=5, webhook_wake_interval=60)
    batch_id = _batch(store, 1)
    runner = JobRunner(store, MediaStore(tmp_path / "data" / "media"), _settings(tmp_path / "data"), config=config,
                       client_factory=lambda *a: host, transport=host.transport()).start()
    try:
        task_id = _submitted(store, batch_id)
        time.sleep(0.1)
        polls_before = host.status_calls.get(task_id, 0)
        # A flood of unsigned callbacks: one early poll, not one per callback, and the job stays running.
        outcomes = [runner.accept_webhook("fal", task_id.encode(), {}) for _ in range(50)]
        deadline = time.time() + 5
        while time.time() < deadline and host.status_calls.get(task_id, 0) == polls_before:
            time.sleep(0.01)
        time.sleep(0.2)
        polls_after = host.status_calls.get(task_id, 0)
        job = store.jobs_for_batch(batch_id)[0]
    finally:
        runner.stop()
    assert outcomes == ["woke"] * 50
    assert polls_after == polls_before + 1
    assert job.state in (JobState.SUBMITTED, JobState.RUNNING)
    assert host.downloads == 0


def test_webhook_for_a_task_we_do_not_have_is_unmatched(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    runner = _runner(store, tmp_path / "data", host)
    assert runner.accept_webhook("fal", b"signed:task-nobody", {}) == "unmatched"


def test_each_create_attempt_sends_its_own_key_recorded_before_sending(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.create_script.append(lambda job_id: (_ for _ in ()).throw(
        HostError("rate_limited", "slow down", retry_safe=True, retry_after=0)))
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert job.state == JobState.DONE
    assert len(host.create_keys) == 2
    assert len(set(host.create_keys)) == 2
    assert all(key.startswith(job.id) for key in host.create_keys)
    assert job.host_extra["create_key"] == host.create_keys[-1]


def test_lost_create_is_looked_up_by_the_key_that_attempt_sent(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    host.lookup_finds = True
    host.create_script.append(lambda job_id: (_ for _ in ()).throw(httpx.ReadTimeout("lost")))
    batch_id = _batch(store, 1)
    (job,) = _run_until_done(_runner(store, tmp_path / "data", host), store, batch_id)
    assert host.lookups == [host.create_keys[0]]


def test_queued_job_canceled_before_sending_costs_nothing(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    job_id = store.jobs_for_batch(batch_id)[0].id
    runner = _runner(store, tmp_path / "data", host)
    runner._cancel_requested.add(job_id)  # as request_cancel does, before the loop first claims it
    runner.start()
    try:
        (job,) = _wait(store, batch_id)
    finally:
        runner.stop()
    assert job.state == JobState.CANCELED
    assert host.creates == []
    assert store.spend_today() == Decimal(0)


def test_missing_key_fails_the_job_with_a_sentence_and_sends_nothing(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    batch_id = _batch(store, 1)
    runner = JobRunner(store, MediaStore(tmp_path / "data" / "media"),
                       Settings(data_dir=tmp_path / "data", base_urls={"fal": BASE}), config=FAST,
                       client_factory=lambda *a: host, transport=host.transport()).start()
    try:
        (job,) = _wait(store, batch_id)
    finally:
        runner.stop()
    assert job.state == JobState.FAILED
    assert "FAL_KEY" in job.error and "test-key" not in job.error
    assert host.creates == []


def test_batch_filtered_runner_leaves_other_batches_alone(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)
    other = _batch(store, 1)
    mine = _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host, batch_filter=mine).start()
    try:
        _wait(store, mine)
        time.sleep(0.1)
    finally:
        runner.stop()
    assert store.jobs_for_batch(other)[0].state == JobState.QUEUED


def test_poll_schedule_makes_at_most_15_requests_for_a_60_second_job() -> None:
    config = RunnerConfig()
    elapsed, delay, attempt, requests = 0.0, config.poll_schedule[0], 0, 0
    while True:
        elapsed += delay
        requests += 1
        if elapsed >= 60:
            break
        attempt += 1
        delay = config.poll_delay(attempt, elapsed, delay)
    assert requests <= 15
    assert elapsed - 60 <= 5


def test_poll_delay_grows_to_15_seconds_for_long_jobs() -> None:
    config = RunnerConfig()
    delay = 5.0
    for attempt in range(40):
        delay = config.poll_delay(attempt, 100 + attempt * 10, delay)
    assert delay == 15.0


def test_runner_loop_survives_a_client_that_raises_unexpectedly(store, tmp_path, tiny_mp4) -> None:
    host = ScriptedHost(tiny_mp4)

    def bug(job_id: str) -> None:
        raise ZeroDivisionError

    host.create_script = [bug]
    first, second = _batch(store, 1), _batch(store, 1)
    runner = _runner(store, tmp_path / "data", host).start()
    try:
        (broken,) = _wait(store, first)
        (fine,) = _wait(store, second)
    finally:
        runner.stop()
    assert broken.state == JobState.FAILED and "internal error" in broken.error
    assert fine.state == JobState.DONE

