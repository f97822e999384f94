"""Host clients for the runner: one cached client per host, and the keys a browser session typed per batch.

Keys typed into a browser session pay only for that session's batches: they are
held in memory for one batch id, a client built with them serves only that
batch's jobs, and both are dropped once none of the batch's jobs is moving.
They never become a default for another session, the CLI or a worker.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping

from kling_lab.capabilities import CAPABILITIES, missing_key_sentence
from kling_lab.config import Settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import HostClient

ClientFactory = Callable[[str, Settings, MediaStore], HostClient]


def default_client_factory(provider: str, settings: Settings, media: MediaStore) -> HostClient:
    """Build the client for a provider from settings (imports kept local: each host is optional)."""
    if CAPABILITIES[provider].offline:  # the offline renderer draws into the media folder; hosts are built by name
        from kling_lab.providers.animatic import AnimaticClient

        return AnimaticClient(media.animatic_dir)
    from kling_lab.providers.registry import build_host_client

    return build_host_client(provider, settings)


class MissingKey(Exception):
    """The provider needs a key that is not configured."""


class HostClients:
    """The client cache and the typed keys held per batch (thread-safe: pages call in from their threads)."""

    def __init__(self, settings: Callable[[], Settings], media: MediaStore, factory: ClientFactory) -> None:
        self._settings = settings
        self._media = media
        self._factory = factory
        self._batch_keys: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str | None], HostClient] = {}
        self._lock = threading.Lock()

    def get(self, provider: str, batch_id: str | None = None, *, require_key: bool = True) -> HostClient:
        """The client for a provider, with the keys typed for `batch_id` when that batch has some.

        MissingKey (a sentence saying which key to set) when the host needs a
        key nobody configured. A callback is parsed without a key
        (`require_key=False`): checking a signature needs the host's signing
        secret, never the API key.
        """
        with self._lock:
            typed = self._batch_keys.get(batch_id) if batch_id else None
            cache_key = (provider, batch_id if typed else None)
            client = self._clients.get(cache_key)
            if client is not None:
                return client
            base = self._settings()
            settings = base.with_session_keys(typed) if typed else base
        if require_key and not settings.has_key(provider):
            raise MissingKey(missing_key_sentence(provider, "Then press Retry."))
        client = self._factory(provider, settings, self._media)
        with self._lock:
            self._clients.setdefault(cache_key, client)
            return self._clients[cache_key]

    def hold_keys(self, batch_id: str, keys: Mapping[str, str]) -> None:
        """Keep the keys typed for one batch (empty values are ignored)."""
        typed = {name: value for name, value in keys.items() if value}
        if not typed:
            return
        with self._lock:
            self._batch_keys[batch_id] = {**self._batch_keys.get(batch_id, {}), **typed}

    def drop_keys(self, batch_id: str) -> None:
        """Forget a batch's typed keys and every client built with them."""
        with self._lock:
            if self._batch_keys.pop(batch_id, None) is not None:
                self._clients = {k: c for k, c in self._clients.items() if k[1] != batch_id}

    def holds_keys_for(self, batch_id: str) -> bool:
        with self._lock:
            return batch_id in self._batch_keys

    def forget_clients(self) -> None:
        """Settings changed (base URLs, keys): build clients afresh from now on."""
        with self._lock:
            self._clients.clear()

    def close_all(self) -> None:
        """Close every cached client that can be closed, and forget them."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
