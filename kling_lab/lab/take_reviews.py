"""Take reviews through the door: comments at a time or a range of a take, and each take's status.

Everyone who may review comments and sets statuses: the person at this machine,
signed-in owners and members, the command line, and a reviewer holding a link
(only on the batches its link opens, and only after typing a name). Each
comment has an author; only its author edits or deletes it. The rules of the
text and the times are in `kling_lab.take_review`; every refusal is a sentence
raised before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from kling_lab.lab.actors import Actor, NotAllowed, check
from kling_lab.lab.base import DoorBase
from kling_lab.store import JobRecord
from kling_lab.store.records import TakeCommentRecord, TakeStatusRecord, reviewer_key
from kling_lab.take_review import check_comment, check_status, check_text, clean_author

LEAD = "Lead"
"""The author name of a comment or status from someone who gave no name (the person at this machine)."""

NAME_FIRST = "Type your name first, so the team knows whose comment or status it is."
ONLY_AUTHOR = "Only the person who wrote a comment can {verb} it."
NO_COMMENT = "That comment was deleted, or never existed."


@dataclass(frozen=True)
class Author:
    """Who writes a comment or sets a status: the name shown, the actor's kind, and the key that owns it."""

    name: str
    kind: str
    key: str
    link_id: str


def author_of(actor: Actor, name: str = "") -> Author | None:
    """The author an actor writes as, or None for a reviewer who has not typed a name yet.

    A reviewer is the link they came through and the name they typed; a person is their kind and
    account name (the name typed, for the person at this machine, who has no account name).
    """
    typed = clean_author(name)
    if actor.kind == "reviewer":
        if not typed:
            return None
        link_id = actor.scope.link_id if actor.scope is not None else ""
        return Author(typed, "reviewer", reviewer_key(link_id, typed), link_id)
    own = clean_author(actor.name)
    return Author(own or typed or LEAD, actor.kind, f"{actor.kind}:{own or typed.casefold()}", "")


class TakeReviews(DoorBase):
    """Comment on takes at a time or a range, edit and delete one's own comments, and set a take's status."""

    def comment_on_take(self, actor: Actor, job_id: str, *, at: float, until: float | None = None, text: str,
                        name: str = "") -> TakeCommentRecord:
        """Keep a comment at `at` (to `until`, for a range) seconds of the take's clip; returns it as stored.

        Raises NotAllowed for a take outside a reviewer's link, ValueError with a sentence for an unknown,
        deleted or unmade take, a time outside the clip, empty text or more than 2,000 characters.
        """
        job = self._take_to_review(actor, job_id)
        author = self._author(actor, name)
        at, until, text = check_comment(at, until, job.video_duration, text)
        return self.store.take_notes.add_comment(job.id, job.batch_id, at=at, until=until, text=text,
                                                 author_name=author.name, author_kind=author.kind,
                                                 author_key=author.key, link_id=author.link_id)

    def edit_take_comment(self, actor: Actor, comment_id: int, text: str, *, name: str = "") -> TakeCommentRecord:
        """Replace the text of one's own comment (its time stays); NotAllowed for someone else's."""
        comment = self._own_comment(actor, comment_id, name, "edit")
        edited = self.store.take_notes.edit_comment(comment.id, check_text(text))
        if edited is None:
            raise ValueError(NO_COMMENT)
        return edited

    def delete_take_comment(self, actor: Actor, comment_id: int, *, name: str = "") -> None:
        """Delete one's own comment; NotAllowed for someone else's."""
        comment = self._own_comment(actor, comment_id, name, "delete")
        if not self.store.take_notes.delete_comment(comment.id):
            raise ValueError(NO_COMMENT)

    def take_comments(self, actor: Actor, batch_id: str) -> list[TakeCommentRecord]:
        """A batch's comments, by take, then by time."""
        check(actor, "read", batch_id=batch_id)
        return self.store.take_notes.for_batch(batch_id)

    def set_take_status(self, actor: Actor, job_id: str, status: str | None, *,
                        name: str = "") -> TakeStatusRecord | None:
        """Make `status` (approved, changes, rejected) the take's one status, with who and when; None clears it.

        Raises ValueError with a sentence for an unknown status or take, and for a deleted or unmade take.
        """
        job = self._take_to_review(actor, job_id, clearing=status is None)
        author = self._author(actor, name)
        word = check_status(status)
        if word is None:
            self.store.take_notes.clear_status(job.id)
            return None
        return self.store.take_notes.set_status(job.id, job.batch_id, word, set_by=author.name,
                                                author_key=author.key)

    def take_statuses(self, actor: Actor, batch_id: str) -> dict[str, TakeStatusRecord]:
        """A batch's statuses, by job id."""
        check(actor, "read", batch_id=batch_id)
        return self.store.take_notes.statuses_for_batch(batch_id)

    def is_my_comment(self, actor: Actor, comment: TakeCommentRecord, *, name: str = "") -> bool:
        """True when this actor (with the name they typed) wrote the comment, so may edit or delete it."""
        author = author_of(actor, name)
        return author is not None and author.key == comment.author_key

    # -- the checks ----------------------------------------------------------------------------

    def _take_to_review(self, actor: Actor, job_id: str, *, clearing: bool = False) -> JobRecord:
        """The take, once the actor may review its batch and it can be reviewed (a clip, not deleted)."""
        job = self.store.get_job(str(job_id))
        check(actor, "review", batch_id=job.batch_id if job is not None else None)
        if job is None:
            raise ValueError(f"There is no take “{job_id}” in this Kling Lab's history.")
        if clearing:
            return job
        if job.deleted_at is not None:
            raise ValueError("That take was deleted, so it can't be reviewed any more.")
        if job.video_duration is None or not job.video_path:
            raise ValueError("This take has no clip yet, so there is nothing of it to review.")
        return job

    def _author(self, actor: Actor, name: str) -> Author:
        author = author_of(actor, name)
        if author is None:
            raise ValueError(NAME_FIRST)
        return author

    def _own_comment(self, actor: Actor, comment_id: int, name: str, verb: str) -> TakeCommentRecord:
        try:
            comment = self.store.take_notes.comment(int(comment_id), deleted=True)
        except (TypeError, ValueError):
            comment = None
        check(actor, "review", batch_id=comment.batch_id if comment is not None else None)
        if comment is None or self.store.take_notes.is_deleted(comment.id):
            raise ValueError(NO_COMMENT)
        author = self._author(actor, name)
        if author.key != comment.author_key:
            raise NotAllowed(ONLY_AUTHOR.format(verb=verb))
        return comment
