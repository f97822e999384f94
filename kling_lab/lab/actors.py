"""Who is asking, and the one table of who may do what.

Every call through the door names an `Actor`. `allowed` decides from the
actor's kind; a reviewer also carries a `Scope` (the one batch its review link
opens), and `check` is the one place that rule lives: a scoped actor may act
only on reads and reviews that name its batch (or a clip of it), and never on
anything that names no batch (lists, search, spend, settings, prices, exports,
events). A reviewer without a scope may do nothing but ask for health.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ActorKind = Literal["local", "owner", "member", "reviewer", "cli", "worker", "host", "anonymous"]
Action = Literal[
    "submit", "rerun", "retry", "cancel", "delete", "annotate", "pick", "review",
    "read", "read_costs", "upload", "export", "share", "settings", "callback", "health", "draft", "sequence",
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
    "share": "make or revoke review links",
    "settings": "change settings or prices",
    "callback": "send host callbacks",
    "health": "ask how the server is",
    "draft": "keep Compose drafts",
    "sequence": "edit sequences",
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


SCOPED_ACTIONS = frozenset({"read", "review"})
"""What a scoped actor (a review link's holder) may do, and only on its own batch."""

OUTSIDE_SCOPE = "This review link opens one batch's board only."
OUTSIDE_SEQUENCE = "This review link opens one sequence's reel and its shots' batches only."


@dataclass(frozen=True)
class Scope:
    """What a review link opens: one target (a batch, or a sequence) of one kind, through one link id (for
    revocation). A sequence's scope also holds the batches of its shots (`batches`), resolved when the link
    is opened: it covers each of them as a batch."""

    kind: str
    target: str
    link_id: str
    batches: frozenset[str] = frozenset()

    def covers(self, kind: str, target: str | None) -> bool:
        if target is None:
            return False
        if self.kind == "sequence" and kind == "batch":
            return target in self.batches
        return self.kind == kind and self.target == target


@dataclass(frozen=True)
class Actor:
    """Who is asking: the person at this machine, a signed-in owner or member, a reviewer with a link,
    the CLI, a worker, a host's callback, or someone not signed in."""

    kind: ActorKind
    name: str = ""
    typed_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Keys this person typed in their browser session: used for their own batches only, never stored."""
    scope: Scope | None = None
    """A reviewer's one batch (from a review link); None for everyone else."""

    @classmethod
    def local(cls, typed_keys: Mapping[str, str] | None = None) -> Actor:
        return cls("local", typed_keys=dict(typed_keys or {}))

    @classmethod
    def cli(cls) -> Actor:
        return cls("cli")

    @classmethod
    def host(cls, provider: str) -> Actor:
        return cls("host", name=provider)

    @classmethod
    def review_link(cls, batch_id: str, link_id: str, name: str = "", *, kind: str = "batch",
                    batches: frozenset[str] = frozenset()) -> Actor:
        """The holder of a review link: may watch, pick and comment on that one batch only (kind="sequence":
        `batch_id` is the sequence, and `batches` its shots' batches, which it may watch and review)."""
        return cls("reviewer", name=name, scope=Scope(kind, batch_id, link_id, frozenset(batches)))


class NotAllowed(Exception):
    """The actor may not do this; the message says so plainly."""


def allowed(actor: Actor, action: Action) -> bool:
    """The one table of who may do what."""
    return action in _ALLOWED.get(actor.kind, frozenset())


def _refuse(action: str) -> NotAllowed:
    return NotAllowed(f"You can't {ACTION_WORDS.get(action, action)} with this link or account.")


def check(actor: Actor, action: Action, *, batch_id: str | None = None, sequence_id: str | None = None) -> None:
    """Raise `NotAllowed` with a plain sentence unless `actor` may do `action` (on `batch_id` or `sequence_id`,
    when the call names one).

    The scope rule: an actor holding a scope may only read and review, only where the call names its own
    batch (a sequence link: one of its shots' batches, or, to read, its sequence); a reviewer without a scope
    may do nothing but `health`.
    """
    if not allowed(actor, action):
        raise _refuse(action)
    if action == "health":
        return
    if actor.kind == "reviewer" and actor.scope is None:
        raise _refuse(action)
    if actor.scope is not None:
        if action not in SCOPED_ACTIONS:
            raise _refuse(action)
        outside = OUTSIDE_SEQUENCE if actor.scope.kind == "sequence" else OUTSIDE_SCOPE
        if sequence_id is not None and batch_id is None:
            if action != "read" or not actor.scope.covers("sequence", sequence_id):
                raise NotAllowed(outside)
            return
        if batch_id is None:
            raise NotAllowed(outside)
        if not actor.scope.covers("batch", batch_id):
            raise NotAllowed(outside)
