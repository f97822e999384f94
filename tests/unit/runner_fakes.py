"""What the runner tests share: a scripted in-process host, fast settings, batches, and a stepped driver.

`ScriptedHost` follows the HostClient contract and serves its clips through
httpx.MockTransport. `DriverHarness` runs one `JobDriver` over a real store and
media folder with that host and a `FakeClock`, so a test drives a job from
queued to done with no real waiting and reads back every delay it chose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import HostCharge, Submission, TaskStatus, WebhookNews
from kling_lab.request import GenerationRequest
from kling_lab.runner import FakeClock, JobDriver, JobSignals, RunnerConfig
from kling_lab.store import JobRecord, NewJob, Store

BASE = "http://127.0.0.1:9"
FAST = RunnerConfig(poll_schedule=(0.01, 0.01), claim_interval=0.02, create_backoff=0.01, lease_seconds=5)
T = TypeVar("T")


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
        self.status_script: list[Callable[[], TaskStatus | None]] = []
        self.download_script: list[Callable[[], httpx.Response]] = []
        self.lookup_finds = False
        self.create_keys: list[str | None] = []
        self.lookups: list[str] = []
        self.fail_task: set[str] = set()
        self.cancel_accepts = True
        self.cancels: list[str] = []
        self.host_charge: HostCharge | None = None
        self.create_gate: asyncio.Event | None = None
        """When set, a create waits for this event before it is answered (a create in flight)."""

    async def create(self, http, request, *, job_id, frames, create_key=None):  # noqa: ANN001
        self.creates.append(job_id)
        self.create_keys.append(create_key)
        if self.create_gate is not None:
            await self.create_gate.wait()
        if self.create_script:
            self.create_script.pop(0)(job_id)
        task_id = f"task-{len(self.accepted) + 1}"
        self.accepted[task_id] = create_key
        return Submission(task_id)

    async def status(self, http, submission):  # noqa: ANN001
        n = self.status_calls.get(submission.task_id, 0) + 1
        self.status_calls[submission.task_id] = n
        if self.status_script:
            scripted = self.status_script.pop(0)()  # may raise, as a host or the network would
            if scripted is not None:
                return scripted
        if submission.task_id in self.fail_task:
            return TaskStatus("failed", error="The host's safety filter refused the prompt.")
        if n < self.polls_until_done:
            return TaskStatus("running", progress=n / self.polls_until_done)
        return TaskStatus("succeeded", video_url=f"{BASE}/files/{submission.task_id}.mp4",
                          actual_cost=Decimal("0.35"), host_charge=self.host_charge)

    async def cancel(self, http, submission):  # noqa: ANN001
        self.cancels.append(submission.task_id)
        return self.cancel_accepts

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


def settings_for(data_dir: Path, **keys: str) -> Settings:
    return Settings(data_dir=data_dir, base_urls={"fal": BASE}, keys=keys if keys else {"FAL_KEY": "test-key"})


def make_batch(store: Store, n: int, cost: str = "0.35") -> str:
    jobs = [NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"shot {i}"), Decimal(cost)) for i in range(n)]
    return store.create_batch(template="t", provider="fal", jobs=jobs)


class DriverHarness:
    """One JobDriver over a real store and media dir, with a scripted host, a FakeClock and no thread."""

    owner = "stepped-runner"

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        host: ScriptedHost,
        *,
        clock: FakeClock | None = None,
        config: RunnerConfig | None = None,
        settings: Settings | None = None,
        clients: Callable[[str, str | None], Any] | None = None,
    ) -> None:
        self.store = store
        self.host = host
        self.clock = clock or FakeClock(auto_advance=True)
        self.signals = JobSignals()
        self.settings = settings or settings_for(data_dir)
        self.media = MediaStore(data_dir / "media")
        self.config = config or RunnerConfig()
        self.driver = JobDriver(
            store=store, media=self.media, http=httpx.AsyncClient(transport=host.transport()),
            clients=clients or (lambda provider, batch_id: host),
            owner=self.owner, settings=lambda: self.settings, config=self.config, clock=self.clock,
            signals=self.signals,
        )

    def claim(self, batch_id: str) -> list[str]:
        """Lease the batch's jobs to this driver, as the service does before driving them; ids in batch order."""
        claimed = set(self.store.claim_jobs(self.owner, lease_seconds=3600))
        return [job.id for job in self.store.jobs_for_batch(batch_id) if job.id in claimed]

    def run_batch(self, batch_id: str) -> list[JobRecord]:
        """Claim the batch and drive each job to its end in turn (a whole run, no real waiting)."""
        async def drive_all() -> None:
            for job_id in self.claim(batch_id):
                await self.driver.run(job_id)

        self.run(drive_all())
        return self.store.jobs_for_batch(batch_id)

    def run_one(self, batch_id: str) -> JobRecord:
        (job,) = self.run_batch(batch_id)
        return job

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on a fresh event loop with a fresh HTTP client to the scripted host."""
        async def main() -> T:
            async with httpx.AsyncClient(transport=self.host.transport()) as http:
                self.driver.http = http
                return await coro

        try:
            return asyncio.run(main())
        finally:  # events and semaphores belong to the loop that just ended
            for job in self.store.list_jobs(limit=1000):
                self.signals.forget(job.id)
            self.driver.limits.reset()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A fresh SQLite store in the test's data folder (import this fixture into a runner test module)."""
    return Store(tmp_path / "data" / "db.sqlite3")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def raising(exc: BaseException) -> Callable[..., None]:
    """A scripted host answer that raises `exc`."""

    def script(*_args: object) -> None:
        raise exc

    return script
