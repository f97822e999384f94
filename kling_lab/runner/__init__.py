"""The job runner: one asyncio loop on a background thread that drives jobs to the end.

- `service` — `JobRunner`: the thread and its loop, claims and lease renewal,
  wake-ups, shutdown, the abandoned-files sweep, cancel requests and callbacks.
- `driver` — `JobDriver`: one job's state machine (send, follow, download,
  cancel, lost creates, the budget before every create), with its collaborators
  passed in, so a test can step it with a `FakeClock`.
- `clock` — the clock seam (`SystemClock`, `FakeClock`).
- `signals` — what the service and the drivers share: wake-ups, webhook news,
  cancel flags, creates in flight, per-host concurrency.
- `clients` — the client cache and the keys a browser session typed per batch.
- `webhooks`, `downloads`, `config`, `identity`, `failures`.
"""

from kling_lab.media import make_thumbnail  # noqa: F401 - the seam `downloads.make_thumbnail` looks up
from kling_lab.runner.budget_check import SendBudget
from kling_lab.runner.clients import ClientFactory, HostClients, MissingKey, default_client_factory
from kling_lab.runner.clock import Clock, FakeClock, SystemClock
from kling_lab.runner.config import DEFAULT_CONCURRENCY, RunnerConfig
from kling_lab.runner.driver import JobDriver
from kling_lab.runner.service import JobRunner
from kling_lab.runner.signals import CreatesInFlight, HostLimits, JobSignals
from kling_lab.runner.webhooks import WebhookInbox, WebhookOutcome

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ClientFactory",
    "Clock",
    "CreatesInFlight",
    "FakeClock",
    "HostClients",
    "HostLimits",
    "JobDriver",
    "JobRunner",
    "JobSignals",
    "MissingKey",
    "RunnerConfig",
    "SendBudget",
    "SystemClock",
    "WebhookInbox",
    "WebhookOutcome",
    "default_client_factory",
]
