"""The door's actions: submit, re-run, retry, cancel, delete, pick, annotate and review, each with its actor.

Budgets are checked here (and again by the runner just before each create), a
key typed in a browser travels only with that browser's batches, and a delete
is one operation.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from kling_lab.batches import BatchPlan, retry_job, submit_plan, submit_rerun
from kling_lab.lab.actors import Actor, check
from kling_lab.lab.changes import Changes
from kling_lab.lab.drafts import Drafts
from kling_lab.lab.files import Files
from kling_lab.lab.links import Links
from kling_lab.lab.reads import Reads
from kling_lab.lab.sequences import Sequences, ShotTarget
from kling_lab.lab.take_reviews import TakeReviews
from kling_lab.pricing import PriceBook
from kling_lab.store import JobRecord, new_batch_id

log = logging.getLogger("kling_lab.lab")


class Lab(Reads, Files, Changes, Links, Drafts, TakeReviews, Sequences):
    """Every action and read of the lab, each with the actor who asks.

    `Lab(store, media, runner, settings, preferences, price_book=None, secret=None)`: `runner`
    is None where nothing drives jobs in this process; `settings`, `preferences`
    and `price_book` are callables read on every call; `secret` gives the server secret that
    signs review links and file tokens (None: a random one for this door only, as in tests).
    """

    def __init__(self, *args: Any, secret: Callable[[], bytes] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if secret is None:
            own = secrets.token_bytes(32)
            secret = lambda: own  # noqa: E731
        self._secret = secret

    def submit(
        self, actor: Actor, plan: BatchPlan, *, source: str = "app", budget_per_batch: Decimal | None = None,
        shot: ShotTarget | None = None, parent_job_id: str | None = None,
    ) -> str:
        """Write a planned batch (validated, keyed, within budgets); returns its id. Raises ValueError or
        BudgetExceeded with the reason, writing nothing.

        `shot` files the batch under a sequence's shot (made when its code is new), its takes numbered after
        the shot's; `parent_job_id` is the take Compose was loaded from: each new take records it and what
        changed from it ("cfg 0.5 → 0.7, 'rain' → 'fog'")."""
        self._check(actor, "submit")
        slot = self._shot_slot(actor, shot)
        lineages = self._lineages(parent_job_id, [(t.variation.request, t.variation.provider) for t in plan.takes])
        batch_id = new_batch_id()
        self._hold(actor, batch_id)
        try:
            submit_plan(self.store, plan, self._for(actor), self._preferences(), source=source,
                        budget_per_batch=budget_per_batch, batch_id=batch_id, shot=slot,
                        parent_job_id=parent_job_id, lineages=lineages)
        except Exception:
            self._release(batch_id)
            raise
        self._wake()
        return batch_id

    def rerun(self, actor: Actor, job_id: str, book: PriceBook | None = None) -> str:
        """Send a stored clip's exact request again as a new one-clip batch, at today's price; returns its id.

        The new take records the re-run one as its parent ("same request") and stays in the same shot."""
        self._check(actor, "rerun")
        job = self._job(job_id)
        batch_id = new_batch_id()
        self._hold(actor, batch_id)
        try:
            submit_rerun(self.store, job, book or self._price_book(), self._for(actor), self._preferences(),
                         batch_id=batch_id, shot=self._rerun_slot(job))
        except Exception:
            self._release(batch_id)
            raise
        self._wake()
        return batch_id

    def retry(self, actor: Actor, job_id: str) -> JobRecord:
        """Retry one clip, refused at once when a new create would pass a budget."""
        self._check(actor, "retry")
        job = self._job(job_id)
        self._hold(actor, job.batch_id)
        try:
            retried = retry_job(self.store, job_id, self._for(actor), self._preferences())
        except Exception:
            self._release(job.batch_id)
            raise
        self._wake()
        return retried

    def cancel(self, actor: Actor, job_id: str) -> str:
        """Ask to cancel a clip; whichever runner drives it (here or in another process) acts on the request.

        Returns a sentence saying what will happen.
        """
        self._check(actor, "cancel")
        if self.runner is not None:
            return self.runner.request_cancel(job_id)
        job = self.store.request_cancel(job_id)
        if job.state.is_final:
            return "Canceled." if job.cancel_requested_at is not None else "That clip has already finished."
        return "Cancel requested; the app or worker making it will stop it."

    def delete(self, actor: Actor, job_id: str) -> JobRecord:
        """Delete a clip's video and thumbnail; its request, cost and events stay in the spend record.

        One operation that cannot half-happen: the row is marked first, so
        from that moment nothing shows or serves the clip; the files go next,
        and any a failure leaves behind are removed when a runner starts.
        """
        self._check(actor, "delete")
        job = self._job(job_id)
        if job.state.is_moving:
            raise ValueError("This clip is still being made; cancel it first, then delete it.")
        deleted = self.store.mark_deleted(job_id)
        try:
            self.media.delete_clip_files(job_id, job.video_path, job.thumb_path)
        except OSError:
            log.warning("could not remove the files of deleted clip %s yet; they go when a runner starts", job_id)
        return deleted

    def pick(self, actor: Actor, batch_id: str, job_id: str | None) -> None:
        """Make `job_id` the batch's pick (None: no pick)."""
        self._check(actor, "pick")
        self.store.set_winner(batch_id, job_id)

    def annotate(self, actor: Actor, job_id: str, **marks: object) -> None:
        """Star, rate or write notes on a clip (`starred=`, `rating=`, `notes=`; what is not given stays)."""
        self._check(actor, "annotate")
        unknown = set(marks) - {"starred", "rating", "notes"}
        if unknown:
            raise TypeError(f"annotate takes starred, rating and notes, not {sorted(unknown)}")
        self.store.annotate(job_id, **marks)  # type: ignore[arg-type]

    def review(self, actor: Actor, batch_id: str, *, kind: Literal["pick", "comment"], name: str,
               job_id: str | None = None, text: str = "") -> None:
        """A reviewer's named comment, or their one pick on the batch (None takes it back).

        A reviewer is the link they came through and the name they typed; a pick needs a name and a clip
        of this batch. Raises ValueError with a sentence otherwise.
        """
        check(actor, "review", batch_id=batch_id)
        if not name.strip():
            raise ValueError("Type your name first, so the team knows whose pick or comment it is.")
        if kind == "pick" and job_id is not None:
            job = self.store.get_job(job_id)
            if job is None or job.batch_id != batch_id or job.deleted_at is not None:
                raise ValueError("That clip is not one of this batch's takes.")
        link_id = actor.scope.link_id if actor.scope is not None else ""
        self.store.add_review(batch_id, name=name, kind=kind, job_id=job_id, text=text, link_id=link_id)

    def my_pick(self, actor: Actor, batch_id: str, name: str) -> str | None:
        """The clip this reviewer (their link and the name they typed) picked on the batch, or None."""
        check(actor, "read", batch_id=batch_id)
        if not name.strip():
            return None
        link_id = actor.scope.link_id if actor.scope is not None else ""
        return self.store.review_pick(batch_id, link_id=link_id, name=name)

    def _hold(self, actor: Actor, batch_id: str) -> None:
        if self.runner is not None and actor.typed_keys:
            self.runner.hold_keys(batch_id, actor.typed_keys)

    def _release(self, batch_id: str) -> None:
        if self.runner is not None:
            self.runner.release_keys(batch_id)

    def _wake(self) -> None:
        if self.runner is not None:
            self.runner.wake()
