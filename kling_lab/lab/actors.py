"""Who is asking, and the one table of who may do what.

Every call through the door names an `Actor`. `allowed` decides from the
actor's kind alone today; sign-in (owner, member) and review links (reviewer,
later limited to one batch) plug in here without touching a screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ActorKind = Literal["local", "owner", "member", "reviewer", "cli", "worker", "host", "anonymous"]
Action = Literal[
    "submit", "rerun", "retry", "cancel", "delete", "annotate", "pick", "review",
    "read", "read_costs", "upload", "export", "settings", "callback", "health",
]

# What each action is, in the words of the sentence that refuses it ("You can't ... with this link or account.").
ACTION_WORDS: dict[str, str] = {
    "submit": "generate clips",
    "rerun": "re-run a clip",
    "retry": "retry a clip",
    "cancel": "cancel a clip",
    "delete": "delete clips",
    "annotate": "star, rate or write notes on clips",
    "pick": "pick a batch's take",
    "review": "review this batch",
    "read": "see this",
    "read_costs": "see what was spent",
    "upload": "upload frames",
    "export": "export batches",
    "settings": "change settings or prices",
    "callback": "send host callbacks",
    "health": "ask how the server is",
}

_PERSON = frozenset(ACTION_WORDS) - {"callback"}
"""Everything a person can do; a host's callback is never a person's action."""

_ALLOWED: dict[str, frozenset[str]] = {
    # On one machine the person at it may do everything, and so may the command line they type into.
    "local": _PERSON,
    "cli": _PERSON,
    "owner": _PERSON,
    # A member composes, generates within the budgets, picks and writes notes; keys, base URLs, budgets,
    # prices and deletes are the owner's.
    "member": _PERSON - {"delete", "settings"},
    "reviewer": frozenset({"read", "review", "health"}),
    "worker": frozenset({"health"}),
    # A host's callback is believed only when signed: the runner checks that; this only lets it knock.
    "host": frozenset({"callback", "health"}),
    "anonymous": frozenset({"health"}),
}


@dataclass(frozen=True)
class Actor:
    """Who is asking: the person at this machine, a signed-in owner or member, a reviewer with a link,
    the CLI, a worker, a host's callback, or someone not signed in."""

    kind: ActorKind
    name: str = ""
    typed_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Keys this person typed in their browser session: used for their own batches only, never stored."""

    @classmethod
    def local(cls, typed_keys: Mapping[str, str] | None = None) -> Actor:
        return cls("local", typed_keys=dict(typed_keys or {}))

    @classmethod
    def cli(cls) -> Actor:
        return cls("cli")

    @classmethod
    def host(cls, provider: str) -> Actor:
        return cls("host", name=provider)


class NotAllowed(Exception):
    """The actor may not do this; the message says so plainly."""


def allowed(actor: Actor, action: Action) -> bool:
    """The one table of who may do what."""
    return action in _ALLOWED.get(actor.kind, frozenset())


def check(actor: Actor, action: Action) -> None:
    """Raise `NotAllowed` with a plain sentence unless `actor` may do `action`."""
    if not allowed(actor, action):
        raise NotAllowed(f"You can't {ACTION_WORDS.get(action, action)} with this link or account.")
