"""Changes to how the lab runs, through the door: saved settings, prices, and the hosts' callbacks.

A saved setting applies at once to the runner of this process (base URLs to
clients built from now on, per-host limits to creates sent from now on);
other processes (workers, the CLI) read it when they start.

A base URL receives the owner's keys, so saving one is the owner's alone (the
`settings` action) and it must pass `url_policy.base_url_problem`: HTTPS, and on
the public internet, unless the operator allows private hosts
(`KLING_LAB_ALLOW_PRIVATE_BASE_URLS=1` in the environment or the secrets file:
`Settings.allow_private_base_urls`). Base URLs from the environment are
the operator's and are not checked here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kling_lab.auth.url_policy import Resolver, base_url_problem, system_resolver
from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab.actors import Actor
from kling_lab.lab.base import DoorBase
from kling_lab.pricing import Override, merge_overrides, read_overrides, save_overrides
from kling_lab.runner import DEFAULT_CONCURRENCY, WebhookOutcome
from kling_lab.user_settings import UserSettings, save_user_settings

MAX_CONCURRENCY = 50


class Changes(DoorBase):
    """The settings, prices and callbacks side of the door."""

    base_url_resolver: Resolver = staticmethod(system_resolver)
    """How a base URL's host name is looked up when it is saved (tests put a fixed table here)."""

    def _base_url_problems(self, base_urls: Mapping[str, str]) -> list[str]:
        allow_private = self._settings().allow_private_base_urls
        problems = []
        for provider, url in sorted(base_urls.items()):
            if provider not in CAPABILITIES:
                continue
            problem = base_url_problem(url, allow_private=allow_private, resolve=self.base_url_resolver)
            if problem:
                problems.append(f"{CAPABILITIES[provider].label}: {problem}")
        return problems

    def change_settings(self, actor: Actor, preferences: UserSettings) -> None:
        """Save budgets, default provider, per-host limits and base URLs, and apply them to the running runner.

        Raises ValueError, saving nothing, for a host or a limit the lab does not know, and for a base URL
        the URL policy refuses (not HTTPS, or a private address the operator has not allowed).
        """
        self._check(actor, "settings")
        problems = [f"There is no host called “{p}”." for p in {*preferences.concurrency, *preferences.base_urls}
                    if p not in CAPABILITIES]
        if preferences.default_provider is not None and preferences.default_provider not in CAPABILITIES:
            problems.append(f"There is no host called “{preferences.default_provider}”.")
        problems += [f"{CAPABILITIES[p].label}: at most {MAX_CONCURRENCY} clips at once, and at least one."
                     for p, n in preferences.concurrency.items() if p in CAPABILITIES and not 1 <= n <= MAX_CONCURRENCY]
        problems += self._base_url_problems(preferences.base_urls)
        if problems:
            raise ValueError(" ".join(problems))
        save_user_settings(self._settings().data_dir, preferences)
        if self.runner is not None:
            self.runner.update_settings(self._settings())
            self.runner.update_concurrency({**DEFAULT_CONCURRENCY, **preferences.concurrency})

    def save_prices(self, actor: Actor, provider: str, overrides: Sequence[Override]) -> None:
        """Make `overrides` this machine's prices for `provider` (an empty list: back to the published ones).

        Raises ValueError, writing nothing, when an override is not a price of that host.
        """
        self._check(actor, "settings")
        if any(o.provider != provider for o in overrides):
            raise ValueError(f"Every price saved for {CAPABILITIES[provider].label} must be one of its own.")
        path = self._settings().price_overrides_path
        existing, _ = read_overrides(path)
        kept = [o for o in existing if o.provider != provider]
        save_overrides(path, merge_overrides(kept, overrides))

    def reset_prices(self, actor: Actor, provider: str) -> None:
        """Drop this machine's prices for `provider`: its published table applies again."""
        self.save_prices(actor, provider, [])

    def takes_callbacks(self, provider: str) -> bool:
        """True for a host that can call back (a known host that is not the offline animatic)."""
        return provider in CAPABILITIES and not CAPABILITIES[provider].offline

    def accept_callback(self, actor: Actor, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Hand a host's callback to this process's runner, which believes it only when it is signed.

        Blocking (it may ask the host for its signing keys): a route runs it on a worker thread.
        """
        self._check(actor, "callback")
        if self.runner is None or not self.takes_callbacks(provider):
            return "unmatched"
        return self.runner.accept_webhook(provider, body, headers)
