"""One job, driven from where the store says it is to a final state: the per-job state machine.

`queued → sending → submitted → running → downloading → done` (or failed /
canceled / unknown), every transition written to the store before the next
step. Rules that keep money safe:

- A create is re-sent only when the host's answer proves nothing was created
  (429 rate limited, 503 unavailable, or the connection was never made).
- A create whose answer was lost (timeout or reset after sending, a garbled
  answer, a gateway timeout) is looked up where the host allows it (official
  API by external_task_id); otherwise the job becomes `unknown` and the user
  decides. It is never re-sent automatically.
- The budget is read again just before every create; a job that would pass it
  fails with a sentence and nothing is sent.

`JobDriver` takes every collaborator explicitly (store, media, HTTP client,
client lookup, clock, signals, budget check), so a test can run one job with a
scripted host and a `FakeClock` and watch each status request and each delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.domain.jobs import canceled_unsent_sentence
from kling_lab.media import DownloadRefused, MediaStore, probe_clip
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
from kling_lab.runner.budget_check import SendBudget
from kling_lab.runner.clients import MissingKey
from kling_lab.runner.clock import Clock, SystemClock
from kling_lab.runner.config import RunnerConfig
from kling_lab.runner.downloads import make_thumbnail, release_host_copy, save_clip
from kling_lab.runner.failures import describe_exception, storage_error
from kling_lab.runner.signals import CreatesInFlight, HostLimits, JobSignals
from kling_lab.store import JobRecord, LeaseLost, Store

log = logging.getLogger("kling_lab.runner")

ClientLookup = Callable[[str, str | None], HostClient]
"""(provider, batch id) → the client to use; raises MissingKey when the host needs a key nobody set."""


class JobDriver:
    """Drives jobs one step at a time; one instance serves every job of a runner (it keeps no per-job state)."""

    def __init__(
        self,
        *,
        store: Store,
        media: MediaStore,
        http: httpx.AsyncClient,
        clients: ClientLookup,
        owner: str,
        settings: Callable[[], Settings],
        config: RunnerConfig | None = None,
        clock: Clock | None = None,
        signals: JobSignals | None = None,
        in_flight: CreatesInFlight | None = None,
        limits: HostLimits | None = None,
        budget: Callable[[JobRecord], str | None] | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.http = http
        self.clients = clients
        self.owner = owner
        self.settings = settings
        self.config = config or RunnerConfig()
        self.clock = clock or SystemClock()
        self.signals = signals or JobSignals()
        self.in_flight = in_flight or CreatesInFlight()
        self.limits = limits or HostLimits(self.config.concurrency)
        self.budget = budget or SendBudget(store, settings)

    async def run(self, job_id: str) -> JobRecord | None:
        """Drive the job until it is final, the runner stops, or another runner holds it; its last record."""
        job: JobRecord | None = None
        try:
            job = self.store.get_job(job_id)
            while job is not None and job.state not in FINAL_STATES and not self.signals.stopping:
                job = await self.step(job)
        except LeaseLost:
            log.info("job %s is now driven by another runner", job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one job's bug must not stop the others
            log.exception("job %s stopped on an unexpected error", job_id)
            with contextlib.suppress(Exception):
                job = self._move(job_id, JobState.FAILED, error_kind="internal",
                                 error=f"Kling Lab hit an internal error ({type(exc).__name__}).")
        return job

    async def step(self, job: JobRecord) -> JobRecord:
        """One move from the job's stored state: cancel, send, resolve a lost create, or follow the host."""
        if self._cancel_wanted(job.id):
            return await self._cancel(job)
        if job.state == JobState.QUEUED:
            return await self._send(job)
        if job.state == JobState.SENDING:
            return await self._resolve_lost_create(job, "The app stopped while this clip was being sent.")
        return await self._follow(job)

    # -- small helpers ----------------------------------------------------------------------------

    def _move(self, job_id: str, state: JobState, detail: str = "", **fields: Any) -> JobRecord:
        return self.store.transition(job_id, state, owner=self.owner, detail=detail, **fields)

    def _note(self, job: JobRecord, detail: str) -> None:
        """An event in the job's log without a change of state."""
        self.store.transition(job.id, job.state, owner=self.owner, detail=detail)

    async def _sleep(self, job_id: str, seconds: float) -> None:
        """Wait `seconds`, or less when the job is woken (a cancel, a callback, a stop)."""
        wakeup = self.signals.wakeup(job_id)
        await self.clock.sleep(seconds, wakeup)
        wakeup.clear()

    def _cancel_wanted(self, job_id: str) -> bool:
        """True when a person asked to cancel the job, here or in another process (read from the store)."""
        if self.signals.cancel_asked(job_id):
            return True
        try:
            return self.store.cancel_requested(job_id)
        except Exception:  # noqa: BLE001 - a busy store must not stop the job; the next check reads again
            return False

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

    def _loopback_allowed(self, provider: str) -> bool:
        host = urlparse(self.settings().base_url(provider)).hostname or ""
        return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")

    # -- sending the create -----------------------------------------------------------------------

    async def _send(self, job: JobRecord) -> JobRecord:
        try:
            client = self.clients(job.provider, job.batch_id)
        except MissingKey as exc:
            return self._move(job.id, JobState.FAILED, error=str(exc), error_kind="auth")
        except Exception as exc:  # noqa: BLE001 - e.g. a provider module that can't be built
            return self._move(job.id, JobState.FAILED, error=f"The {job.provider} client could not start: {exc}",
                              error_kind="internal")
        async with self.limits.slot(job.provider):
            if self._cancel_wanted(job.id):
                return await self._cancel(job)
            attempt = 0
            while True:
                attempt += 1
                refusal = self.budget(job)
                if refusal:
                    return self._move(job.id, JobState.FAILED, detail="refused by the budget before sending",
                                      error=refusal, error_kind="budget")
                # Unique per create attempt, and recorded before sending: a host that takes an id of ours
                # (the official Kling API) refuses a reused one, and a lost answer is looked up by it.
                create_key = make_create_key(job.id, job.attempts, attempt)
                job = self._move(job.id, JobState.SENDING, detail=f"create attempt {attempt}",
                                 host_extra={"create_key": create_key})
                with self.in_flight.create(job.id):
                    try:
                        submission = await client.create(self.http, job.request, job_id=job.id,
                                                         frames=self.media.read_frame, create_key=create_key)
                    except (HostError, httpx.TransportError, HostProtocolError) as exc:
                        failure: Exception = exc
                    else:
                        return self._move(job.id, JobState.SUBMITTED, detail="accepted by host",
                                          host_task_id=submission.task_id,
                                          host_extra={**(submission.extra or {}), "create_key": create_key},
                                          error=None, error_kind=None, **self._details(client, job))
                job, again = await self._after_failed_create(job, failure, attempt)
                if not again:
                    return job

    async def _after_failed_create(self, job: JobRecord, exc: Exception, attempt: int) -> tuple[JobRecord, bool]:
        """What a create that did not succeed leads to: (the job, True to send it again)."""
        label = CAPABILITIES[job.provider].label
        can_retry = attempt < self.config.create_attempts
        if isinstance(exc, HostError):
            if exc.retry_safe and can_retry:
                wait = self.config.retry_wait(exc.retry_after, attempt)
                job = self._move(job.id, JobState.QUEUED, detail=f"{exc.message} Retrying in {wait:.0f} s.",
                                 error=exc.message, error_kind=exc.kind)
                return await self._wait_to_resend(job, wait)
            if exc.kind == "server" and exc.status_code in (502, 504):
                why = (f"{label} answered with a gateway error (HTTP {exc.status_code}), "
                       "so it may or may not have accepted the clip.")
                return await self._resolve_lost_create(job, why), False
            return self._move(job.id, JobState.FAILED, error=exc.message, error_kind=exc.kind), False
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            # The connection was never made, so the host cannot have seen the create.
            if can_retry:
                wait = self.config.retry_wait(None, attempt)
                job = self._move(job.id, JobState.QUEUED,
                                 detail=f"Could not connect ({type(exc).__name__}); retrying in {wait:.0f} s.")
                return await self._wait_to_resend(job, wait)
            return self._move(job.id, JobState.FAILED, error_kind="unavailable",
                              error=f"Could not connect to {label}. Check the network and its base URL "
                                    "in Settings, then press Retry. Nothing was sent."), False
        why = f"The answer to the create was lost ({describe_exception(exc)})."
        return await self._resolve_lost_create(job, why), False

    async def _wait_to_resend(self, job: JobRecord, wait: float) -> tuple[JobRecord, bool]:
        await self._sleep(job.id, wait)
        if self._cancel_wanted(job.id):
            return await self._cancel(job), False
        return job, True

    async def _resolve_lost_create(self, job: JobRecord, why: str) -> JobRecord:
        """A create may have landed: find it at the host if possible, else mark the job unknown."""
        create_key = job.host_extra.get("create_key") or job.id
        try:
            client = self.clients(job.provider, job.batch_id)
            found = await client.lookup(self.http, create_key)
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

    # -- following the host -----------------------------------------------------------------------

    async def _follow(self, job: JobRecord) -> JobRecord:
        """Poll (or take webhook news) until the host finishes, then download."""
        try:
            client = self.clients(job.provider, job.batch_id)
        except MissingKey as exc:
            # Without the key we can't ask; keep the job and check again later rather than lose it.
            self._move(job.id, job.state, detail=str(exc), error=str(exc), error_kind="auth")
            await self._sleep(job.id, self.config.missing_key_recheck)
            return self.store.get_job(job.id) or job
        submission = Submission(job.host_task_id or job.id, job.host_extra or None)
        started = job.submitted_at or job.created_at
        offline = CAPABILITIES[job.provider].offline
        delay = self.config.first_poll(offline)
        attempt = failures = 0
        if job.state != JobState.DOWNLOADING:
            await self._sleep(job.id, delay if job.state == JobState.SUBMITTED else 0)
        while not self.signals.stopping:
            if self._cancel_wanted(job.id):
                return await self._cancel(job, client, submission)
            status = self.signals.take_news(job.id)
            if status is None:
                try:
                    status = await client.status(self.http, submission)
                    failures = 0
                except HostError as exc:
                    failures += 1
                    if exc.kind == "not_found" or (exc.kind in ("auth", "invalid") and failures >= 3):
                        return self._move(job.id, JobState.FAILED, error=exc.message, error_kind=exc.kind)
                    wait = self.config.retry_wait(exc.retry_after, min(failures, 5)) if exc.retry_after else delay
                    self._note(job, f"status check failed: {exc.message}")
                    await self._sleep(job.id, wait)
                    continue
                except (httpx.TransportError, HostProtocolError) as exc:
                    failures += 1
                    if failures >= self.config.status_failures_before_unknown:
                        return self._move(job.id, JobState.UNKNOWN, error_kind="unknown",
                                          error="Kling Lab lost contact with the host while the clip was being made. "
                                                "Check the host's dashboard.")
                    if failures in (1, 5, 20):
                        self._note(job, f"status check failed: {describe_exception(exc)}")
                    await self._sleep(job.id, self.config.status_failure_wait(delay, failures))
                    continue
            job = self._apply_status(job, status)
            if status.phase == "succeeded":
                return await self._download(job, client, submission, status)
            if job.state in FINAL_STATES:
                return job
            attempt += 1
            if not offline:  # a local render is cheap to ask about, so it keeps the short interval
                delay = self.config.poll_delay(attempt, self.clock.now() - started, delay)
            await self._sleep(job.id, delay)
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
        if job.state == JobState.DOWNLOADING:
            target = JobState.DOWNLOADING
        if target != job.state:
            return self._move(job.id, target, progress=status.progress, error=None, error_kind=None)
        if status.progress is not None and (job.progress is None or abs(status.progress - job.progress) >= 0.01):
            self.store.update_progress(job.id, status.progress, owner=self.owner)
        return job

    async def _download(
        self, job: JobRecord, client: HostClient, submission: Submission, status: TaskStatus
    ) -> JobRecord:
        dest = self.media.clip_path(job.id)
        last_error = ""
        for attempt in range(1, self.config.download_attempts + 1):
            url = status.video_url
            if not url:
                return self._move(job.id, JobState.FAILED, error_kind="generation_failed",
                                  error="The host said the clip is ready but gave no address to download it from.")
            try:
                size = await save_clip(self.http, client, url, media=self.media, job_id=job.id,
                                       allow_loopback=self._loopback_allowed(job.provider),
                                       max_bytes=self.config.max_clip_bytes)
                probe = probe_clip(dest)
            except DownloadRefused as exc:
                return self._move(job.id, JobState.FAILED, error=f"The clip was refused: {exc}",
                                  error_kind="download")
            except OSError as exc:
                return self._move(job.id, JobState.FAILED, error=storage_error(exc), error_kind="storage")
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                last_error = describe_exception(exc)
                self._note(job, f"download attempt {attempt} failed: {last_error}")
                await self._sleep(job.id, self.config.download_retry_wait(attempt))
                with contextlib.suppress(Exception):
                    fresh = await client.status(self.http, submission)
                    if fresh.phase == "succeeded" and fresh.video_url:
                        status = fresh
                continue
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
                release_host_copy(client, submission)
            return done
        return self._move(job.id, JobState.FAILED, error_kind="download",
                          error=f"The clip could not be downloaded after {self.config.download_attempts} tries "
                                f"({last_error}). It may still be on the host; press Retry to fetch it again.")

    # -- cancel -----------------------------------------------------------------------------------

    async def _cancel(
        self, job: JobRecord, client: HostClient | None = None, submission: Submission | None = None
    ) -> JobRecord:
        self.signals.cancel_handled(job.id)
        if job.state == JobState.QUEUED or not job.host_task_id:
            return self._move(job.id, JobState.CANCELED, detail="canceled before sending",
                              error=canceled_unsent_sentence(job.host_extra, job.attempts))
        client = client or self.clients(job.provider, job.batch_id)
        submission = submission or Submission(job.host_task_id, job.host_extra or None)
        try:
            accepted = await client.cancel(self.http, submission)
        except Exception as exc:  # noqa: BLE001 - cancel is best effort; keep following the job
            self.store.clear_cancel_request(job.id)  # tried once; a person may ask again
            self._note(job, f"cancel failed: {describe_exception(exc)}")
            return self.store.get_job(job.id) or job
        if accepted:
            return self._move(job.id, JobState.CANCELED, detail="canceled at host",
                              error="Canceled. The host may still charge for work already done.")
        self.store.clear_cancel_request(job.id)
        self._note(job, "host has no cancel call; following to the end")
        return self.store.get_job(job.id) or job
