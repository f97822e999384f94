"""The composition root: settings, store, media, price book and runner, built once, and the door over them.

`build_root(environ, secrets)` is what the app process calls once (the
Streamlit adapter in `components/runtime.py` caches it); a command-line process
can call it with `run_jobs=False` for a door with no runner. No Streamlit here:
the environment and the secrets come in as plain mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kling_lab.auth.secret_key import load_secret_key
from kling_lab.config import Settings, load_settings, with_saved_settings
from kling_lab.lab.door import Lab
from kling_lab.media import MediaStore
from kling_lab.pricing import PriceBook, load_price_book
from kling_lab.runner import JobRunner, RunnerConfig
from kling_lab.store import Store
from kling_lab.user_settings import UserSettings, load_user_settings


@dataclass
class LabRoot:
    """One process's parts. `settings` is the environment and secrets as read at start; everything
    saved from the Settings page is read on each call."""

    settings: Settings
    store: Store
    media: MediaStore
    runner: JobRunner | None
    secret: bytes | None = field(default=None, repr=False)
    """The server secret (signs review links and file tokens); None: read from the environment or the
    data folder's secret.key on first use. Never stored in the database, never logged."""
    lab: Lab = field(init=False)

    def __post_init__(self) -> None:
        self.lab = Lab(self.store, self.media, self.runner, self.runner_settings, self.preferences,
                       price_book=self.price_book, secret=self.server_secret)

    def server_secret(self) -> bytes:
        if self.secret is None:
            self.secret = load_secret_key(self.settings.data_dir)
        return self.secret

    def preferences(self) -> UserSettings:
        """Budgets, default provider, host limits and base URLs saved from Settings."""
        return load_user_settings(self.settings.data_dir)

    def runner_settings(self) -> Settings:
        """Environment and secrets with the base URLs saved in Settings; never a session's keys."""
        return _with_saved(self.settings)

    def price_book(self) -> PriceBook:
        """The published tables with this machine's overrides (re-read only when the overrides file changes)."""
        return load_price_book(self.settings.price_overrides_path)

    def close(self) -> None:
        """Stop the runner (creates in flight finish first) and close this thread's store connection."""
        if self.runner is not None:
            self.runner.stop()
        self.store.close()


def build_root(
    environ: Mapping[str, str],
    secrets: Mapping[str, object],
    *,
    run_jobs: bool = True,
    runner_config: RunnerConfig | None = None,
) -> LabRoot:
    """Read the settings and the server secret, open the store and the media folder, and (with `run_jobs`)
    start the runner, which resumes every unfinished job of the store. Raises SecretKeyError (its message
    says what to do) for a configured secret that is too short."""
    settings = load_settings(environ, secrets)
    secret = load_secret_key(settings.data_dir, environ, secrets)
    return open_root(settings, run_jobs=run_jobs, runner_config=runner_config, secret=secret)


def open_root(settings: Settings, *, run_jobs: bool = True, runner_config: RunnerConfig | None = None,
              secret: bytes | None = None) -> LabRoot:
    """The parts for settings already resolved (the CLI resolves them with `resolve_settings`)."""
    store = Store.from_url(settings.database_url, settings.database_path)
    media = MediaStore(settings.media_dir)
    runner = None
    if run_jobs:
        config = runner_config or RunnerConfig.with_saved_limits(settings.data_dir)
        runner = JobRunner(store, media, _with_saved(settings), config=config).start()
    return LabRoot(settings, store, media, runner, secret)


def _with_saved(settings: Settings) -> Settings:
    return with_saved_settings(settings, load_user_settings(settings.data_dir).base_urls)
