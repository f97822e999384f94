"""What every part of the door shares: the process's parts, the check, and the actor's own settings."""

from __future__ import annotations

from collections.abc import Callable

from kling_lab.config import Settings
from kling_lab.lab.actors import Action, Actor, check
from kling_lab.media import MediaStore
from kling_lab.pricing import PriceBook, load_price_book
from kling_lab.runner import JobRunner
from kling_lab.store import JobRecord, Store
from kling_lab.user_settings import UserSettings


class DoorBase:
    """The store, media, runner, settings and preferences behind the door.

    `runner` is None where nothing drives jobs in this process (a CLI command
    that only enqueues). Settings, saved preferences and the price book are
    read fresh on every call through the callables, so a change in Settings or
    Pricing applies at once.
    """

    def __init__(
        self,
        store: Store,
        media: MediaStore,
        runner: JobRunner | None,
        settings: Callable[[], Settings],
        preferences: Callable[[], UserSettings],
        *,
        price_book: Callable[[], PriceBook] | None = None,
    ) -> None:
        self.store = store
        self.media = media
        self.runner = runner
        self._settings = settings
        self._preferences = preferences
        self._price_book = price_book or (lambda: load_price_book(self._settings().price_overrides_path))

    def _check(self, actor: Actor, action: Action) -> None:
        check(actor, action)

    def _for(self, actor: Actor) -> Settings:
        """The process's settings with the keys this actor typed in their own session, if any."""
        return self._settings().with_session_keys(actor.typed_keys) if actor.typed_keys else self._settings()

    def _job(self, job_id: str) -> JobRecord:
        job = self.store.get_job(job_id)
        if job is None:
            raise KeyError(job_id)
        return job
