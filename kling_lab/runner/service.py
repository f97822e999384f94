"""The job runner service: one asyncio loop on a background thread that drives jobs from the store.

The store is the queue. The service claims unfinished jobs with a lease, renews
the leases it holds, and hands each job to a `JobDriver` task. On start, every
unfinished job is resumed from what the store says: jobs with a host task id
are polled again, a job caught in `sending` is resolved without a second
create, and only `queued` jobs are sent. It also sweeps files a killed process
left behind, routes host callbacks, passes cancel requests on, holds the keys a
browser session typed for its batches, and on stop lets creates in flight
finish so that no paid answer is lost.

Worker threads never touch Streamlit; the UI only reads the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Mapping

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.domain.jobs import canceled_unsent_sentence
from kling_lab.media import MediaStore
from kling_lab.providers.base import FINAL_STATES, JobState, TaskStatus
from kling_lab.runner.clients import ClientFactory, HostClients, default_client_factory
from kling_lab.runner.clock import Clock, SystemClock
from kling_lab.runner.config import RunnerConfig
from kling_lab.runner.driver import JobDriver
from kling_lab.runner.identity import RunnerIdentity, one_off_owner
from kling_lab.runner.signals import CreatesInFlight, HostLimits, JobSignals
from kling_lab.runner.webhooks import WebhookInbox, WebhookOutcome
from kling_lab.store import JobRecord, Store

log = logging.getLogger("kling_lab.runner")


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
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.config = config or RunnerConfig()
        self._settings = settings
        self._clients = HostClients(lambda: self._settings, media, client_factory)
        self._batch_filter = batch_filter
        self._transport = transport
        self._clock = clock or SystemClock()
        self._identity = RunnerIdentity(settings.data_dir) if batch_filter is None else None
        self.owner = self._identity.owner if self._identity else one_off_owner()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._started = threading.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._signals = JobSignals()
        self._in_flight = CreatesInFlight()
        self._limits: HostLimits | None = None
        self._inbox = WebhookInbox(
            store=store, client=lambda provider: self._clients.get(provider, require_key=False),
            deliver=lambda job_id, status: self._on_loop(self._push_status, job_id, status),
            wake=lambda job_id: self._on_loop(self._signals.wake, job_id),
            wake_interval=lambda: self.config.webhook_wake_interval,
        )
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
            self._signals.stopping = True
        self._on_loop(self._wake_all)
        thread.join(timeout)
        with self._lock:
            self._thread = None
        self._clients.close_all()
        if self._identity is not None:
            self._identity.release()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for new queued jobs now (after a batch was written)."""
        self._on_loop(self._wake_all)

    @property
    def settings(self) -> Settings:
        """The process's settings: environment, secrets file and saved settings; never a session's keys."""
        with self._lock:
            return self._settings

    def update_settings(self, settings: Settings) -> None:
        """Use new settings (base URLs, keys) for clients built from now on."""
        with self._lock:
            self._settings = settings
        self._clients.forget_clients()

    def update_concurrency(self, limits: Mapping[str, int]) -> None:
        """New per-host limits for creates sent from now on."""
        self.config.concurrency.update({k: max(1, int(v)) for k, v in limits.items()})
        if self._limits is not None:
            self._on_loop(self._limits.reset)

    # -- keys typed in a browser session (any thread) -------------------------------------------

    def hold_keys(self, batch_id: str, keys: Mapping[str, str]) -> None:
        """Keys typed into one browser session, for the jobs of one batch that session submits (or retries).

        Held in memory only, used for that batch's jobs only, and dropped once
        none of its jobs is moving: they never become a default for another
        session, the CLI or a worker. Call it before the batch is written (its
        id comes from `store.new_batch_id()`), so no job can be sent without them.
        """
        self._clients.hold_keys(batch_id, keys)

    def release_keys(self, batch_id: str) -> None:
        """Drop a batch's typed keys unless one of its jobs still needs them (a refused submit, a finished batch)."""
        try:
            busy = self.store.has_unfinished(batch_id)
        except Exception:  # noqa: BLE001 - on doubt keep nothing: a job that needs the key fails and says so
            busy = False
        if not busy:
            self._clients.drop_keys(batch_id)

    def holds_keys_for(self, batch_id: str) -> bool:
        """True while typed keys are held for `batch_id` (for tests and the Settings page)."""
        return self._clients.holds_keys_for(batch_id)

    # -- requests from pages and hosts (any thread) ---------------------------------------------

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
        self._signals.ask_cancel(job_id)
        self._on_loop(self._signals.wake, job_id)
        if job.state == JobState.QUEUED:
            return canceled_unsent_sentence(job.host_extra, job.attempts)
        if not caps.can_cancel:
            return f"{caps.label} has no cancel call: the clip will finish on the host and may be charged."
        return f"Asked {caps.label} to cancel."

    def accept_webhook(self, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Take a host's callback (from any thread). Idempotent; never trusts what it cannot verify.

        See `kling_lab.runner.webhooks`: a verified status moves the job at
        once ("applied"), an unsigned callback only wakes it to ask the host
        ("woke"), a forged one changes nothing ("refused"), and "unmatched"
        when no job of ours has that task.
        """
        return self._inbox.accept(provider, body, headers)

    # -- the loop ----------------------------------------------------------------------------

    def _on_loop(self, callback, *args) -> None:  # noqa: ANN001, ANN002
        """Run `callback(*args)` on the loop thread, if the loop is running."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback, *args)

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
        self._limits = HostLimits(self.config.concurrency)
        http = httpx.AsyncClient(
            timeout=self.config.http_timeout,
            transport=self._transport,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            headers={"User-Agent": "kling-lab/0.1"},
        )
        driver = JobDriver(
            store=self.store, media=self.media, http=http, clients=self._clients.get, owner=self.owner,
            settings=lambda: self.settings, config=self.config, clock=self._clock, signals=self._signals,
            in_flight=self._in_flight, limits=self._limits,
        )
        self._sweep_abandoned_files()
        self._started.set()
        last_renew = 0.0
        try:
            while not self._signals.stopping:
                self._claim_new(driver)
                now = time.monotonic()
                if now - last_renew > self.config.lease_seconds / 3:
                    last_renew = now
                    self._renew()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.claim_interval)
                self._wake.clear()
            await self._shutdown_tasks()
        finally:
            await http.aclose()

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

    def _claim_new(self, driver: JobDriver) -> None:
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
            self._tasks[job_id] = asyncio.get_running_loop().create_task(self._drive(driver, job_id), name=job_id)

    async def _drive(self, driver: JobDriver, job_id: str) -> None:
        job: JobRecord | None = None
        try:
            job = await driver.run(job_id)
        finally:
            self._tasks.pop(job_id, None)
            self._signals.forget(job_id)
            self._inbox.forget(job_id)
            if self._signals.stopping:  # let another runner (a worker, the CLI) take the job over at once
                with contextlib.suppress(Exception):
                    self.store.release(self.owner, job_id)
            else:
                with contextlib.suppress(Exception):
                    record = job or self.store.get_job(job_id)
                    if record is not None:
                        self.release_keys(record.batch_id)

    def _renew(self) -> None:
        active = list(self._tasks)
        try:
            held = self.store.renew_leases(self.owner, active, lease_seconds=self.config.lease_seconds)
        except Exception:  # noqa: BLE001
            log.exception("could not renew leases")
            return
        for job_id in set(active) - held:
            task = self._tasks.get(job_id)
            if task is not None and not self._in_flight.busy(job_id):  # a create's answer is always recorded
                task.cancel()

    async def _shutdown_tasks(self) -> None:
        await self._in_flight.wait_idle(self.config.shutdown_grace)
        tasks = list(self._tasks.values())  # each one releases its lease as it ends (see `_drive`)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _wake_all(self) -> None:
        if self._wake is not None:
            self._wake.set()
        self._signals.wake_all()

    def _push_status(self, job_id: str, status: TaskStatus) -> None:
        self._signals.push(job_id, status)
