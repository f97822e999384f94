"""The job runner: one asyncio loop on a background thread that drives jobs to the end.

The store is the queue. The runner claims unfinished jobs with a lease, and for
each one walks `queued → sending → submitted → running → downloading → done`
(or failed / canceled / unknown), writing every transition to the store before
the next step. Rules that keep money safe:

- A create is re-sent only when the host's answer proves nothing was created
  (429 rate limited, 503 unavailable, or the connection was never made).
- A create whose answer was lost (timeout or reset after sending, a garbled
  answer, a gateway timeout) is looked up where the host allows it (official
  API by external_task_id); otherwise the job becomes `unknown` and the user
  decides. It is never re-sent automatically.
- On start, every unfinished job is resumed from what the store says: jobs with
  a host task id are polled again, a job caught in `sending` is resolved as
  above, and only `queued` jobs are sent.

Worker threads never touch Streamlit; the UI only reads the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse
from urllib.request import url2pathname

import httpx

from kling_lab.budget import effective_budgets, send_refusal
from kling_lab.capabilities import CAPABILITIES, missing_key_sentence
from kling_lab.config import Settings
from kling_lab.media import DownloadRefused, MediaStore, download_clip, make_thumbnail, probe_clip
from kling_lab.providers.base import (
    FINAL_STATES,
    HostClient,
    HostError,
    HostProtocolError,
    JobState,
    Submission,
    TaskStatus,
    make_create_key,
)
from kling_lab.store import JobRecord, LeaseLost, Store
from kling_lab.user_settings import load_user_settings

log = logging.getLogger("kling_lab.runner")

WebhookOutcome = Literal["applied", "woke", "refused", "unmatched"]

DEFAULT_CONCURRENCY: dict[str, int] = {name: caps.default_concurrency for name, caps in CAPABILITIES.items()}


@dataclass
class RunnerConfig:
    """Timing and limits; tests shrink the delays."""

    poll_schedule: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0)
    """Delays between status requests; the last one repeats until `poll_slow_after` seconds."""
    poll_slow_after: float = 90.0
    poll_max: float = 15.0
    offline_poll: float = 0.4
    poll_growth: float = 1.25
    claim_interval: float = 1.0
    lease_seconds: float = 30.0
    create_attempts: int = 6
    create_backoff: float = 2.0
    max_retry_after: float = 120.0
    download_attempts: int = 3
    status_failures_before_unknown: int = 200
    concurrency: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    http_timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0))
    max_clip_bytes: int = 500 * 1024 * 1024
    webhook_wake_interval: float = 2.0
    """Unsigned callbacks wake a job to ask the host at most this often."""

    @classmethod
    def with_saved_limits(cls, data_dir: Path, **changes: Any) -> RunnerConfig:
        """The default config with the per-host limits saved in Settings (what the app, CLI and workers run)."""
        config = cls(**changes)
        config.concurrency.update(load_user_settings(data_dir).concurrency)
        return config

    def poll_delay(self, attempt: int, elapsed: float, previous: float) -> float:
        """The wait before the next status request."""
        if elapsed < self.poll_slow_after:
            return self.poll_schedule[min(attempt, len(self.poll_schedule) - 1)]
        return min(self.poll_max, max(previous, self.poll_schedule[-1]) * self.poll_growth)


ClientFactory = Callable[[str, Settings, MediaStore], HostClient]


def default_client_factory(provider: str, settings: Settings, media: MediaStore) -> HostClient:
    """Build the client for a provider from settings (imports kept local: each host is optional)."""
    if provider == "animatic":
        from kling_lab.providers.animatic import AnimaticClient

        return AnimaticClient(media.animatic_dir)
    from kling_lab.providers.registry import build_host_client

    return build_host_client(provider, settings)


class MissingKey(Exception):
    """The provider needs a key that is not configured."""


class _RunnerIdentity:
    """A stable lease owner for the main runner of a data dir, so a restart reclaims its own jobs at once.

    The first runner on a data dir takes an exclusive lock on `runner.lock` and
    the owner name "main"; the OS drops the lock when that process dies, even
    on SIGKILL, so the next start can pick up its jobs without waiting for the
    leases to run out. Any other concurrent runner gets a unique owner name.
    """

    def __init__(self, data_dir: Path) -> None:
        self._fh = None
        path = data_dir / "runner.lock"
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            self.owner = f"runner-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        else:
            self._fh = fh
            self.owner = "main"

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class JobRunner:
    """Drives jobs from the store on its own event loop thread, with one shared httpx.AsyncClient."""

    def __init__(
        self,
        store: Store,
        media: MediaStore,
        settings: Settings,
        *,
        config: RunnerConfig | None = None,
        client_factory: ClientFactory = default_client_factory,
        batch_filter: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.config = config or RunnerConfig()
        self._settings = settings
        self._batch_keys: dict[str, dict[str, str]] = {}
        self._client_factory = client_factory
        self._clients: dict[tuple[str, str | None], HostClient] = {}
        self._batch_filter = batch_filter
        self._transport = transport
        self._identity = _RunnerIdentity(settings.data_dir) if batch_filter is None else None
        self.owner = self._identity.owner if self._identity else f"cli-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._started = threading.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._job_wakeups: dict[str, asyncio.Event] = {}
        self._pushed: dict[str, TaskStatus] = {}
        self._last_wakeup: dict[str, float] = {}
        self._cancel_requested: set[str] = set()
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._critical = 0
        self._http: httpx.AsyncClient | None = None
        self._lock = threading.Lock()

    # -- lifecycle (any thread) ----------------------------------------------------------------

    def start(self) -> JobRunner:
        """Start the loop thread (idempotent) and return self."""
        with self._lock:
            if self._thread is not None:
                return self
            self._thread = threading.Thread(target=self._run_thread, name="kling-lab-runner", daemon=True)
            self._thread.start()
        self._started.wait(10)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop driving jobs. Creates in flight are allowed to finish so no answer is lost."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_all)
        thread.join(timeout)
        with self._lock:
            self._thread = None
        for client in self._clients.values():
            close = getattr(client, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        self._clients.clear()
        if self._identity is not None:
            self._identity.release()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for new queued jobs now (after a batch was written)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_all)

    def update_settings(self, settings: Settings) -> None:
        """Use new settings (base URLs, keys) for clients built from now on."""
        with self._lock:
            self._settings = settings
            self._clients.clear()

    def update_concurrency(self, limits: Mapping[str, int]) -> None:
        """New per-host limits for creates sent from now on."""
        loop = self._loop
        self.config.concurrency.update({k: max(1, int(v)) for k, v in limits.items()})
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._semaphores.clear)

    def hold_keys(self, batch_id: str, keys: Mapping[str, str]) -> None:
        """Keys typed into one browser session, for the jobs of one batch that session submits (or retries).

        Held in memory only, used for that batch's jobs only, and dropped once
        none of its jobs is moving: they never become a default for another
        session, the CLI or a worker. Call it before the batch is written (its
        id comes from `store.new_batch_id()`), so no job can be sent without them.
        """
        typed = {name: value for name, value in keys.items() if value}
        if not typed:
            return
        with self._lock:
            self._batch_keys[batch_id] = {**self._batch_keys.get(batch_id, {}), **typed}

    def release_keys(self, batch_id: str) -> None:
        """Drop a batch's typed keys unless one of its jobs still needs them (a refused submit, a finished batch)."""
        try:
            busy = self.store.has_unfinished(batch_id)
        except Exception:  # noqa: BLE001 - on doubt keep nothing: a job that needs the key fails and says so
            busy = False
        if not busy:
            with self._lock:
                if self._batch_keys.pop(batch_id, None) is not None:
                    self._clients = {k: c for k, c in self._clients.items() if k[1] != batch_id}

    def holds_keys_for(self, batch_id: str) -> bool:
        """True while typed keys are held for `batch_id` (for tests and the Settings page)."""
        with self._lock:
            return batch_id in self._batch_keys

    @property
    def settings(self) -> Settings:
        """The process's settings: environment, secrets file and saved settings; never a session's keys."""
        with self._lock:
            return self._settings

    def request_cancel(self, job_id: str) -> str:
        """Ask to cancel a job; returns a sentence saying what will happen.

        The request is written to the store, so whichever runner drives the job
        (this one, a worker, the CLI) acts on it.
        """
        job = self.store.get_job(job_id)
        if job is None:
            return "That clip no longer exists."
        if job.state in FINAL_STATES:
            return "That clip has already finished."
        caps = CAPABILITIES[job.provider]
        self.store.request_cancel(job_id)
        self._cancel_requested.add(job_id)
        self._wake_job_threadsafe(job_id)
        if job.state == JobState.QUEUED:
            return "Canceled before it was sent; nothing was charged."
        if not caps.can_cancel:
            return f"{caps.label} has no cancel call: the clip will finish on the host and may be charged."
        return f"Asked {caps.label} to cancel."

    def accept_webhook(self, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Take a host's callback (from any thread). Idempotent; never trusts what it cannot verify.

        A callback the host signed, with a valid signature, moves the job at
        once ("applied"). An unsigned one, or one from a host that signs
        nothing, only wakes the job so that it asks the host itself with our
        key ("woke"); wake-ups for one job are spaced out so a flood of them
        cannot make us hammer the host. A forged one (bad signature, stale
        timestamp, no signature although a secret is configured) changes
        nothing ("refused"). "unmatched" when no job of ours has that task.
        """
        try:
            client = self._client(provider, require_key=False)
            news = client.parse_webhook(body, headers)
        except Exception:  # noqa: BLE001 - a bad callback must never hurt the server
            log.warning("ignored an unreadable %s callback", provider)
            return "refused"
        if news is None:
            log.warning("refused a %s callback that did not prove it came from the host", provider)
            return "refused"
        job = self.store.find_job_by_task(provider, news.task_id)
        if job is None:
            return "unmatched"
        if job.state in FINAL_STATES:
            return "applied" if news.verified else "woke"
        loop = self._loop
        if news.status is not None:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._push_status, job.id, news.status)
            return "applied"
        now = time.monotonic()
        with self._lock:
            last = self._last_wakeup.get(job.id, float("-inf"))
            if now - last >= self.config.webhook_wake_interval:
                self._last_wakeup[job.id] = now
                wake = True
            else:
                wake = False
        if wake:
            self._wake_job_threadsafe(job.id)
        return "woke"

    # -- the loop ----------------------------------------------------------------------------

    def _run_thread(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except Exception:  # noqa: BLE001 - the thread must end cleanly and say why
            log.exception("job runner stopped after an error")
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(
            timeout=self.config.http_timeout,
            transport=self._transport,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            headers={"User-Agent": "kling-lab/0.1"},
        )
        self._sweep_abandoned_files()
        self._started.set()
        last_renew = 0.0
        try:
            while not self._stopping:
                self._claim_new()
                now = time.monotonic()
                if now - last_renew > self.config.lease_seconds / 3:
                    last_renew = now
                    self._renew()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.claim_interval)
                self._wake.clear()
            await self._shutdown_tasks()
        finally:
            await self._http.aclose()

    def _sweep_abandoned_files(self) -> None:
        """Files nobody needs any more: partial downloads of a killed process, draft copies of stored clips, and
        the files of deleted clips that a failed removal left behind."""
        try:
            removed = self.media.sweep_abandoned()
            if removed:
                log.info("removed %d partial file(s) left by a stopped process", len(removed))
            for job_id in self.media.animatic_work_ids():
                job = self.store.get_job(job_id)
                if job is not None and (job.state == JobState.DONE or job.deleted_at is not None):
                    self.media.remove_animatic_work(job_id)  # the clip is in media/clips (or was deleted)
            for job_id in self.media.clip_job_ids():
                job = self.store.get_job(job_id)
                if job is not None and job.deleted_at is not None:  # a delete whose file removal failed
                    self.media.delete_clip_files(job_id)
        except Exception:  # noqa: BLE001 - a cleanup must never keep the runner from starting
            log.exception("could not sweep abandoned files")

    def _claim_new(self) -> None:
        try:
            ids = self.store.claim_jobs(self.owner, lease_seconds=self.config.lease_seconds, limit=100)
        except Exception:  # noqa: BLE001 - a locked or failing store is retried on the next tick
            log.exception("could not claim jobs")
            return
        for job_id in ids:
            if job_id in self._tasks:
                continue
            if self._batch_filter is not None:
                job = self.store.get_job(job_id)
                if job is None or job.batch_id != self._batch_filter:
                    self.store.release(self.owner, job_id)
                    continue
            self._tasks[job_id] = asyncio.get_running_loop().create_task(self._drive(job_id), name=job_id)

    def _renew(self) -> None:
        active = list(self._tasks)
        try:
            held = self.store.renew_leases(self.owner, active, lease_seconds=self.config.lease_seconds)
        except Exception:  # noqa: BLE001
            log.exception("could not renew leases")
            return
        for job_id in set(active) - held:
            task = self._tasks.get(job_id)
            if task is not None and self._critical == 0:
                task.cancel()

    async def _shutdown_tasks(self) -> None:
        deadline = time.monotonic() + 30
        while self._critical and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(BaseException):
                await task
        for job_id in list(self._tasks):
            with contextlib.suppress(Exception):
                self.store.release(self.owner, job_id)

    def _wake_all(self) -> None:
        if self._wake is not None:
            self._wake.set()
        for event in self._job_wakeups.values():
            event.set()

    def _wake_job_threadsafe(self, job_id: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_job, job_id)

    def _wake_job(self, job_id: str) -> None:
        event = self._job_wakeups.get(job_id)
        if event is not None:
            event.set()

    def _push_status(self, job_id: str, status: TaskStatus) -> None:
        self._pushed[job_id] = status
        self._wake_job(job_id)

    async def _sleep_or_wake(self, job_id: str, seconds: float) -> None:
        event = self._job_wakeups.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        event.clear()

    def _client(self, provider: str, batch_id: str | None = None, *, require_key: bool = True) -> HostClient:
        """The client for a provider, with the keys typed for `batch_id` when that batch has some.

        A callback is parsed without a key (`require_key=False`): checking a
        signature needs the host's signing secret, never the API key.
        """
        with self._lock:
            typed = self._batch_keys.get(batch_id) if batch_id else None
            cache_key = (provider, batch_id if typed else None)
            client = self._clients.get(cache_key)
            if client is not None:
                return client
            settings = self._settings.with_session_keys(typed) if typed else self._settings
        if require_key and not settings.has_key(provider):
            raise MissingKey(missing_key_sentence(provider, "Then press Retry."))
        client = self._client_factory(provider, settings, self.media)
        with self._lock:
            self._clients.setdefault(cache_key, client)
            return self._clients[cache_key]

    def _semaphore(self, provider: str) -> asyncio.Semaphore:
        sem = self._semaphores.get(provider)
        if sem is None:
            sem = asyncio.Semaphore(max(1, self.config.concurrency.get(provider, 5)))
            self._semaphores[provider] = sem
        return sem

    # -- driving one job -------------------------------------------------------------------------

    async def _drive(self, job_id: str) -> None:
        job: JobRecord | None = None
        try:
            job = self.store.get_job(job_id)
            while job is not None and job.state not in FINAL_STATES and not self._stopping:
                if self._cancel_wanted(job_id):
                    job = await self._cancel(job)
                    continue
                if job.state == JobState.QUEUED:
                    job = await self._send(job)
                elif job.state == JobState.SENDING:
                    job = await self._resolve_lost_create(job, "The app stopped while this clip was being sent.")
                else:
                    job = await self._follow(job)
        except LeaseLost:
            log.info("job %s is now driven by another runner", job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one job's bug must not stop the others
            log.exception("job %s stopped on an unexpected error", job_id)
            with contextlib.suppress(Exception):
                self._move(job_id, JobState.FAILED, error=f"Kling Lab hit an internal error ({type(exc).__name__}).",
                           error_kind="internal")
        finally:
            batch_id = job.batch_id if job is not None else None
            self._tasks.pop(job_id, None)
            self._job_wakeups.pop(job_id, None)
            self._pushed.pop(job_id, None)
            self._last_wakeup.pop(job_id, None)
            self._cancel_requested.discard(job_id)
            if batch_id is not None and not self._stopping:
                self.release_keys(batch_id)

    def _cancel_wanted(self, job_id: str) -> bool:
        """True when a person asked to cancel the job, here or in another process (read from the store)."""
        if job_id in self._cancel_requested:
            return True
        try:
            return self.store.cancel_requested(job_id)
        except Exception:  # noqa: BLE001 - a busy store must not stop the job; the next check reads again
            return False

    def _move(self, job_id: str, state: JobState, detail: str = "", **fields: Any) -> JobRecord:
        return self.store.transition(job_id, state, owner=self.owner, detail=detail, **fields)

    async def _send(self, job: JobRecord) -> JobRecord:
        try:
            client = self._client(job.provider, job.batch_id)
        except MissingKey as exc:
            return self._move(job.id, JobState.FAILED, error=str(exc), error_kind="auth")
        except Exception as exc:  # noqa: BLE001 - e.g. a provider module that can't be built
            return self._move(job.id, JobState.FAILED, error=f"The {job.provider} client could not start: {exc}",
                              error_kind="internal")
        assert self._http is not None
        async with self._semaphore(job.provider):
            if self._cancel_wanted(job.id):
                return await self._cancel(job)
            attempt = 0
            while True:
                attempt += 1
                refusal = self._budget_refusal(job)
                if refusal:
                    return self._move(job.id, JobState.FAILED, detail="refused by the budget before sending",
                                      error=refusal, error_kind="budget")
                # Unique per create attempt, and recorded before sending: a host that takes an id of ours
                # (the official Kling API) refuses a reused one, and a lost answer is looked up by it.
                create_key = make_create_key(job.id, job.attempts, attempt)
                job = self._move(job.id, JobState.SENDING, detail=f"create attempt {attempt}",
                                 host_extra={"create_key": create_key})
                self._critical += 1
                try:
                    submission = await client.create(self._http, job.request, job_id=job.id,
                                                     frames=self.media.read_frame, create_key=create_key)
                except HostError as exc:
                    self._critical -= 1
                    if exc.retry_safe and attempt < self.config.create_attempts:
                        wait = self._retry_wait(exc.retry_after, attempt)
                        job = self._move(job.id, JobState.QUEUED, detail=f"{exc.message} Retrying in {wait:.0f} s.",
                                         error=exc.message, error_kind=exc.kind)
                        await self._sleep_or_wake(job.id, wait)
                        if self._cancel_wanted(job.id):
                            return await self._cancel(job)
                        continue
                    if exc.kind == "server" and exc.status_code in (502, 504):
                        return await self._resolve_lost_create(
                            job, f"{CAPABILITIES[job.provider].label} answered with a gateway error "
                                 f"(HTTP {exc.status_code}), so it may or may not have accepted the clip."
                        )
                    return self._move(job.id, JobState.FAILED, error=exc.message, error_kind=exc.kind)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    # The connection was never made, so the host cannot have seen the create.
                    self._critical -= 1
                    if attempt < self.config.create_attempts:
                        wait = self._retry_wait(None, attempt)
                        job = self._move(job.id, JobState.QUEUED,
                                         detail=f"Could not connect ({type(exc).__name__}); retrying in {wait:.0f} s.")
                        await self._sleep_or_wake(job.id, wait)
                        continue
                    label = CAPABILITIES[job.provider].label
                    return self._move(job.id, JobState.FAILED, error_kind="unavailable",
                                      error=f"Could not connect to {label}. Check the network and its base URL "
                                            "in Settings, then press Retry. Nothing was sent.")
                except (httpx.TransportError, HostProtocolError) as exc:
                    self._critical -= 1
                    return await self._resolve_lost_create(
                        job, f"The answer to the create was lost ({_describe(exc)})."
                    )
                except BaseException:
                    self._critical -= 1
                    raise
                else:
                    try:
                        job = self._move(job.id, JobState.SUBMITTED, detail="accepted by host",
                                         host_task_id=submission.task_id,
                                         host_extra={**(submission.extra or {}), "create_key": create_key},
                                         error=None, error_kind=None, **self._details(client, job))
                    finally:
                        self._critical -= 1
                    return job

    def _budget_refusal(self, job: JobRecord) -> str | None:
        """Why this job may not be sent now (today's or its batch's budget), or None. Read fresh every time."""
        if CAPABILITIES[job.provider].offline or not job.estimated_cost:
            return None
        budgets = effective_budgets(load_user_settings(self.settings.data_dir), self.settings)
        if budgets.per_day is None and budgets.per_batch is None:
            return None
        spent_today, spent_in_batch = self.store.committed_besides(job.id, job.batch_id)
        return send_refusal(budgets, cost=job.estimated_cost, spent_today=spent_today, spent_in_batch=spent_in_batch)

    @staticmethod
    def _charge_fields(job: JobRecord, status: TaskStatus) -> dict[str, Any]:
        """What the host said it charged: USD where its unit has a published rate, and its own figure."""
        fields: dict[str, Any] = {"actual_cost": status.actual_cost}
        if status.host_charge is not None:
            fields["details"] = {**job.details, "host_charge": status.host_charge.as_dict()}
        return fields

    @staticmethod
    def _details(client: HostClient, job: JobRecord) -> dict[str, Any]:
        # A client may describe what it will make (the animatic's parsed camera move, mood, subtitles).
        describe = getattr(client, "details_for", None)
        if not callable(describe):
            return {}
        try:
            return {"details": {**job.details, **describe(job.request)}}
        except Exception:  # noqa: BLE001 - details are informative; never fail a paid job over them
            log.exception("could not describe job %s", job.id)
            return {}

    def _retry_wait(self, retry_after: float | None, attempt: int) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.config.max_retry_after)
        return min(self.config.create_backoff * (2 ** (attempt - 1)), 60.0)

    async def _resolve_lost_create(self, job: JobRecord, why: str) -> JobRecord:
        """A create may have landed: find it at the host if possible, else mark the job unknown."""
        assert self._http is not None
        create_key = job.host_extra.get("create_key") or job.id
        try:
            client = self._client(job.provider, job.batch_id)
            found = await client.lookup(self._http, create_key)
        except Exception:  # noqa: BLE001 - lookup is best effort
            found = None
        if found is not None:
            return self._move(job.id, JobState.SUBMITTED, detail="found at host after a lost answer",
                              host_task_id=found.task_id,
                              host_extra={**(found.extra or {}), "create_key": create_key})
        label = CAPABILITIES[job.provider].label
        return self._move(
            job.id, JobState.UNKNOWN, error_kind="unknown",
            error=f"{why} Kling Lab did not send it again, so you can't be charged twice. Check your {label} "
                  "dashboard: if the clip is not there, press Retry to send it again.",
        )

    async def _follow(self, job: JobRecord) -> JobRecord:
        """Poll (or take webhook news) until the host finishes, then download."""
        assert self._http is not None
        try:
            client = self._client(job.provider, job.batch_id)
        except MissingKey as exc:
            # Without the key we can't ask; keep the job and check again later rather than lose it.
            self._move(job.id, job.state, detail=str(exc), error=str(exc), error_kind="auth")
            await self._sleep_or_wake(job.id, 30)
            return self.store.get_job(job.id) or job
        submission = Submission(job.host_task_id or job.id, job.host_extra or None)
        started = job.submitted_at or job.created_at
        attempt = 0
        offline = CAPABILITIES[job.provider].offline
        delay = self.config.offline_poll if offline else self.config.poll_schedule[0]
        failures = 0
        if job.state != JobState.DOWNLOADING:
            await self._sleep_or_wake(job.id, delay if job.state == JobState.SUBMITTED else 0)
        while not self._stopping:
            if self._cancel_wanted(job.id):
                return await self._cancel(job, client, submission)
            status = self._pushed.pop(job.id, None)
            if status is None:
                try:
                    status = await client.status(self._http, submission)
                    failures = 0
                except HostError as exc:
                    failures += 1
                    if exc.kind in ("not_found",) or (exc.kind in ("auth", "invalid") and failures >= 3):
                        return self._move(job.id, JobState.FAILED, error=exc.message, error_kind=exc.kind)
                    wait = self._retry_wait(exc.retry_after, min(failures, 5)) if exc.retry_after else delay
                    self.store.transition(job.id, job.state, owner=self.owner,
                                          detail=f"status check failed: {exc.message}")
                    await self._sleep_or_wake(job.id, wait)
                    continue
                except (httpx.TransportError, HostProtocolError) as exc:
                    failures += 1
                    if failures >= self.config.status_failures_before_unknown:
                        return self._move(job.id, JobState.UNKNOWN, error_kind="unknown",
                                          error="Kling Lab lost contact with the host while the clip was being made. "
                                                "Check the host's dashboard.")
                    if failures in (1, 5, 20):
                        self.store.transition(job.id, job.state, owner=self.owner,
                                              detail=f"status check failed: {_describe(exc)}")
                    await self._sleep_or_wake(job.id, min(delay * (1 + failures / 4), self.config.poll_max))
                    continue
            job = self._apply_status(job, status)
            if status.phase == "succeeded":
                return await self._download(job, client, submission, status)
            if job.state in FINAL_STATES:
                return job
            attempt += 1
            if not offline:  # a local render is cheap to ask about, so it keeps the short interval
                delay = self.config.poll_delay(attempt, time.time() - started, delay)
            await self._sleep_or_wake(job.id, delay)
        return job

    def _apply_status(self, job: JobRecord, status: TaskStatus) -> JobRecord:
        if status.phase == "failed":
            label = CAPABILITIES[job.provider].label
            reason = status.error or f"{label} reported that the generation failed without a reason."
            return self._move(job.id, JobState.FAILED, error=reason, error_kind="generation_failed",
                              **self._charge_fields(job, status))
        if status.phase == "canceled":
            return self._move(job.id, JobState.CANCELED, detail="canceled at host", error="Canceled.")
        target = {"queued": JobState.SUBMITTED, "running": JobState.RUNNING, "succeeded": JobState.DOWNLOADING}[
            status.phase
        ]
        if job.state == JobState.DOWNLOADING and target != JobState.DOWNLOADING:
            target = JobState.DOWNLOADING
        if target != job.state:
            return self._move(job.id, target, progress=status.progress, error=None, error_kind=None)
        if status.progress is not None and (job.progress is None or abs(status.progress - job.progress) >= 0.01):
            self.store.update_progress(job.id, status.progress, owner=self.owner)
        return job

    async def _download(
        self, job: JobRecord, client: HostClient, submission: Submission, status: TaskStatus
    ) -> JobRecord:
        assert self._http is not None
        dest = self.media.clip_path(job.id)
        last_error = ""
        for attempt in range(1, self.config.download_attempts + 1):
            url = status.video_url
            if not url:
                return self._move(job.id, JobState.FAILED, error_kind="generation_failed",
                                  error="The host said the clip is ready but gave no address to download it from.")
            tmp: Path | None = None
            try:
                # Inside the try: a full or read-only disk can refuse even the temp file.
                tmp = self.media.temp_path(job.id)
                if url.startswith("file://"):
                    size = self._take_local_file(client, url, dest, tmp)
                else:
                    size = await download_clip(
                        self._http, url, dest, tmp, allow_loopback=self._loopback_allowed(job.provider),
                        max_bytes=self.config.max_clip_bytes,
                    )
                probe = probe_clip(dest)
            except DownloadRefused as exc:
                return self._move(job.id, JobState.FAILED, error=f"The clip was refused: {exc}",
                                  error_kind="download")
            except OSError as exc:
                return self._move(job.id, JobState.FAILED, error=_storage_error(exc), error_kind="storage")
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                last_error = _describe(exc)
                self.store.transition(job.id, JobState.DOWNLOADING, owner=self.owner,
                                      detail=f"download attempt {attempt} failed: {last_error}")
                await self._sleep_or_wake(job.id, min(2.0 * attempt, 10.0))
                with contextlib.suppress(Exception):
                    fresh = await client.status(self._http, submission)
                    if fresh.phase == "succeeded" and fresh.video_url:
                        status = fresh
                continue
            finally:
                # Whatever refused the clip, no partial file stays in media/tmp.
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        tmp.unlink(missing_ok=True)
            thumb = self.media.thumb_path(job.id)
            has_thumb = make_thumbnail(dest, thumb)
            done = self._move(
                job.id, JobState.DONE, detail=f"downloaded {size} bytes",
                video_path=str(dest), thumb_path=str(thumb) if has_thumb else None, video_bytes=size,
                video_duration=probe.duration, video_width=probe.width, video_height=probe.height,
                has_audio=probe.has_audio, progress=1.0, error=None, error_kind=None,
                **self._charge_fields(job, status),
            )
            if done.state == JobState.DONE:
                self._release_host_copy(client, submission)
            return done
        return self._move(job.id, JobState.FAILED, error_kind="download",
                          error=f"The clip could not be downloaded after {self.config.download_attempts} tries "
                                f"({last_error}). It may still be on the host; press Retry to fetch it again.")

    @staticmethod
    def _release_host_copy(client: HostClient, submission: Submission) -> None:
        """The clip is stored and recorded: a local host (the animatic) may drop its own copy now."""
        release = getattr(client, "release", None)
        if callable(release):
            try:
                release(submission)
            except (OSError, HostError):  # a leftover copy costs disk space, never the clip
                log.warning("could not remove the %s work files of task %s", client.name, submission.task_id)

    def _take_local_file(self, client: HostClient, url: str, dest: Path, tmp: Path) -> int:
        if not CAPABILITIES[client.name].offline:
            raise DownloadRefused("A host may not point Kling Lab at a file on this machine.")
        source = Path(url2pathname(urlparse(url).path))
        try:
            shutil.copyfile(source, tmp)
            probe_clip(tmp)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest.stat().st_size

    def _loopback_allowed(self, provider: str) -> bool:
        host = urlparse(self.settings.base_url(provider)).hostname or ""
        return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")

    async def _cancel(
        self, job: JobRecord, client: HostClient | None = None, submission: Submission | None = None
    ) -> JobRecord:
        self._cancel_requested.discard(job.id)
        if job.state in (JobState.QUEUED,) or not job.host_task_id:
            return self._move(job.id, JobState.CANCELED, detail="canceled before sending",
                              error="Canceled before it was sent; nothing was charged.")
        assert self._http is not None
        client = client or self._client(job.provider, job.batch_id)
        submission = submission or Submission(job.host_task_id, job.host_extra or None)
        try:
            accepted = await client.cancel(self._http, submission)
        except Exception as exc:  # noqa: BLE001 - cancel is best effort; keep following the job
            self.store.clear_cancel_request(job.id)  # tried once; a person may ask again
            self.store.transition(job.id, job.state, owner=self.owner, detail=f"cancel failed: {_describe(exc)}")
            return self.store.get_job(job.id) or job
        if accepted:
            return self._move(job.id, JobState.CANCELED, detail="canceled at host",
                              error="Canceled. The host may still charge for work already done.")
        self.store.clear_cancel_request(job.id)
        self.store.transition(job.id, job.state, owner=self.owner,
                              detail="host has no cancel call; following to the end")
        return self.store.get_job(job.id) or job


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the host took too long to answer"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection was cut"
    if isinstance(exc, HostProtocolError):
        return f"the host's answer could not be read: {exc}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _storage_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "The disk is full, so the clip could not be saved. Free some space, then press Retry."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "The data folder is read-only, so the clip could not be saved. Fix its permissions, then press Retry."
    return f"The clip could not be saved ({exc.strerror or type(exc).__name__})."
