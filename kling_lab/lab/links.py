"""Review links and file tokens through the door.

A review link is a signed token for one batch, with an expiry; its id goes in the
store (so History lists and revokes it), the key never does. `open_review_link`
turns a token into the reviewer `Actor` it grants (or the `LinkRefusal` to show),
checking the signature, then revocation in the store, then expiry. File tokens go
in the URLs pages render for `/clips`, `/thumbs`, `/frames` and `/exports`, and
`files_actor` turns one back into the actor the route asks the door as.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kling_lab.auth.file_tokens import (
    FILE_TOKEN_PARAM,
    make_person_token,
    make_review_token,
    person_expiry,
    verify_file_token,
)
from kling_lab.auth.review_links import (
    LinkRefusal,
    make_link_token,
    new_link_id,
    parse_link_lifetime,
    verify_link_token,
)
from kling_lab.lab.actors import Actor, NotAllowed, check
from kling_lab.lab.base import DoorBase
from kling_lab.store import LinkRecord

REVIEW_PARAM = "review"
"""The query parameter a review link carries its token in: `/?review=<token>`."""

__all__ = ["FILE_TOKEN_PARAM", "REVIEW_PARAM", "Links"]


class Links(DoorBase):
    """Make, list, revoke and open review links; mint and read file tokens."""

    _secret: Callable[[], bytes]

    def make_review_link(self, actor: Actor, target_id: str, expires: str | None = "7d", *, base_url: str,
                         label: str = "", kind: str = "batch", now: float | None = None) -> tuple[str, LinkRecord]:
        """An absolute URL that opens this batch's board only (kind="sequence": this sequence's reel and its
        shots' batches), until it expires or is revoked.

        `base_url` is where visitors reach the lab (KLING_LAB_PUBLIC_URL, or the server address), as a
        plain string from the caller. Raises ValueError with a sentence for an unknown batch or sequence or a
        bad duration.
        """
        check(actor, "share")
        lifetime = parse_link_lifetime(expires)
        if kind not in ("batch", "sequence"):
            raise ValueError("A review link opens a batch or a sequence.")
        if kind == "batch" and self.store.get_batch(target_id) is None:
            raise ValueError(f"There is no batch “{target_id}” in this Kling Lab's history.")
        if kind == "sequence" and self.store.sequences.get(target_id) is None:
            raise ValueError(f"There is no sequence “{target_id}” in this Kling Lab.")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("The lab's address must start with http:// or https://.")
        now = time.time() if now is None else now
        link = LinkRecord(id=new_link_id(), kind=kind, target=target_id, created_at=now,
                          expires_at=float(int(now + lifetime)), revoked_at=None,
                          created_by=actor.name or actor.kind, label=label)
        token = make_link_token(self._secret(), target_id, link.expires_at, link.id, kind=kind)  # type: ignore[arg-type]
        self.store.add_review_link(link)
        return f"{base_url.rstrip('/')}/?{REVIEW_PARAM}={token}", link

    def review_links(self, actor: Actor, batch_id: str, *, kind: str = "batch") -> list[LinkRecord]:
        """Every review link made for a batch (or, kind="sequence", a sequence), newest first (revoked and
        expired ones included)."""
        check(actor, "share")
        return self.store.review_links_for(kind, batch_id)

    def revoke_review_link(self, actor: Actor, link_id: str) -> LinkRecord:
        """Revoke a link: from the next page or file it asks for, it opens nothing. KeyError for no such link."""
        check(actor, "share")
        link = self.store.revoke_review_link(link_id)
        if link is None:
            raise KeyError(link_id)
        return link

    def open_review_link(self, token: object, *, now: float | None = None) -> Actor | LinkRefusal:
        """The reviewer a token grants (scoped to its batch; a sequence link: its sequence and the batches of
        its shots as they are now), or why it opens nothing."""
        now = time.time() if now is None else now
        grant = verify_link_token(self._secret(), token, now, is_revoked=self.store.review_link_revoked)
        if isinstance(grant, LinkRefusal):
            return grant
        if grant.kind == "sequence":
            return self._sequence_reviewer(grant.target_id, grant.link_id) or LinkRefusal.INVALID
        if grant.kind != "batch" or self.store.get_batch(grant.target_id) is None:
            return LinkRefusal.INVALID
        return Actor.review_link(grant.target_id, grant.link_id)

    def _sequence_reviewer(self, sequence_id: str, link_id: str) -> Actor | None:
        if self.store.sequences.get(sequence_id) is None:
            return None
        return Actor.review_link(sequence_id, link_id, kind="sequence",
                                 batches=self.store.sequences.batch_ids(sequence_id))

    # -- file tokens ---------------------------------------------------------------------------

    def file_token(self, actor: Actor, *, now: float | None = None) -> str:
        """A token for the file URLs this actor's pages render: a reviewer's covers its batch's clips and
        thumbnails only (and ends with its link); a person's covers what they may read, for about 12 hours."""
        now = time.time() if now is None else now
        if actor.scope is not None:
            if actor.scope.kind == "sequence":
                check(actor, "read", sequence_id=actor.scope.target)
            else:
                check(actor, "read", batch_id=actor.scope.target)
            link = self.store.review_link(actor.scope.link_id)
            if link is None or not link.live(now):
                raise NotAllowed(LinkRefusal.REVOKED.sentence if link is not None and link.revoked_at
                                 else LinkRefusal.EXPIRED.sentence)
            expires = min(link.expires_at, person_expiry(now))
            return make_review_token(self._secret(), actor.scope.target, actor.scope.link_id, expires,
                                     kind=actor.scope.kind)
        check(actor, "read")
        return make_person_token(self._secret(), actor.kind, actor.name, person_expiry(now))

    def files_actor(self, token: object, *, now: float | None = None) -> Actor | None:
        """The actor a route serves a file token as, or None (no token, forged, expired, or a revoked link)."""
        now = time.time() if now is None else now
        grant = verify_file_token(self._secret(), token, now)
        if grant is None:
            return None
        if grant.sequence_id is not None and grant.link_id is not None:
            if self.store.review_link_revoked(grant.link_id):
                return None
            return self._sequence_reviewer(grant.sequence_id, grant.link_id)
        if grant.batch_id is not None and grant.link_id is not None:
            if self.store.review_link_revoked(grant.link_id):
                return None
            return Actor.review_link(grant.batch_id, grant.link_id)
        return Actor(grant.kind, name=grant.name)  # type: ignore[arg-type]
