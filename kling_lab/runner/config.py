"""The runner's timing and limits, as named data: poll schedule, retry waits, leases, per-host concurrency."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from kling_lab.capabilities import CAPABILITIES
from kling_lab.user_settings import load_user_settings

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
    missing_key_recheck: float = 30.0
    """How long a job whose key went missing after its create waits before it asks again."""
    concurrency: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    http_timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0))
    max_clip_bytes: int = 500 * 1024 * 1024
    webhook_wake_interval: float = 2.0
    """Unsigned callbacks wake a job to ask the host at most this often."""
    shutdown_grace: float = 30.0
    """How long `stop()` lets creates in flight finish so their answers are recorded."""

    @classmethod
    def with_saved_limits(cls, data_dir: Path, **changes: Any) -> RunnerConfig:
        """The default config with the per-host limits saved in Settings (what the app, CLI and workers run)."""
        config = cls(**changes)
        config.concurrency.update(load_user_settings(data_dir).concurrency)
        return config

    def first_poll(self, offline: bool) -> float:
        """The wait before the first status request of a job."""
        return self.offline_poll if offline else self.poll_schedule[0]

    def poll_delay(self, attempt: int, elapsed: float, previous: float) -> float:
        """The wait before the next status request."""
        if elapsed < self.poll_slow_after:
            return self.poll_schedule[min(attempt, len(self.poll_schedule) - 1)]
        return min(self.poll_max, max(previous, self.poll_schedule[-1]) * self.poll_growth)

    def retry_wait(self, retry_after: float | None, attempt: int) -> float:
        """The wait before retrying: the host's Retry-After (capped), else a doubling backoff up to a minute."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return min(self.create_backoff * (2 ** (attempt - 1)), 60.0)

    def status_failure_wait(self, delay: float, failures: int) -> float:
        """The wait after a status request that got no usable answer (network, garbled): grows with each one."""
        return min(delay * (1 + failures / 4), self.poll_max)

    def download_retry_wait(self, attempt: int) -> float:
        """The wait before downloading a clip again after a cut or failed download."""
        return min(2.0 * attempt, 10.0)
