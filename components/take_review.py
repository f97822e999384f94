"""A take's review on its grid cell, read through the door; and the grid's review events written back.

Each cell gets its take's timecoded comments (the viewer's own marked `mine`, so
the grid offers Edit and Delete), its status with who set it, the names of the
reviewers who picked it, its shot and take code ("SH010 · T004") and its
lineage. What the grid sends back (a comment, an edit, a delete, a status) goes
through the door as the viewer, with the name they typed; a refusal is kept
as its sentence and shown under the grid until the viewer's next review action.
Nothing here writes text as markdown: the grid puts every string in as text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.clip_cells import escape_markdown
from components.video_grid import GridClip, GridComment, GridEvent
from kling_lab.lab import Actor, JobRecord, NotAllowed, lineage_line, take_code

REVIEW_KINDS = frozenset({"comment", "edit_comment", "delete_comment", "status"})
PROBLEM = "take_review_problem_{key}"


@dataclass(frozen=True)
class TakeReview:
    """What a cell shows of a take's review (the review fields of `GridClip`)."""

    comments: tuple[GridComment, ...] = ()
    status: str | None = None
    status_by: str | None = None
    review_picks: tuple[str, ...] = ()
    badge: str | None = None
    lineage: str | None = None


def take_badge(lab: Any, actor: Actor, job: JobRecord) -> str | None:
    """ "SH010 · T004" for a take filed under a shot ("T004" when the shot is not readable here), else None."""
    if job.take_number is None and not job.shot_id:
        return None
    take = take_code(job.take_number) if job.take_number is not None else ""
    shot = None
    if job.shot_id:
        try:
            shot = lab.shot(actor, job.shot_id)
        except NotAllowed:  # a batch link's reviewer does not read the sequence
            shot = None
    return " · ".join(part for part in (shot.code if shot is not None else "", take) if part) or None


def take_lineage(lab: Any, actor: Actor, job: JobRecord) -> str | None:
    """ "T006 from T003: cfg 0.5 → 0.7" for a take loaded or re-run from another; None for one that was not."""
    if not job.parent_job_id:
        return job.lineage or None
    try:
        parent = lab.job(actor, job.parent_job_id)
    except NotAllowed:  # the parent is in a batch this reviewer's link does not open
        parent = None
    return lineage_line(job, parent) or None


def batch_reviews(lab: Any, actor: Actor, batch_id: str, jobs: Iterable[JobRecord], *,
                  name: str = "") -> dict[str, TakeReview]:
    """Each of `jobs`' review, by job id (the jobs are takes of `batch_id`); `name`: what the viewer typed."""
    jobs = list(jobs)
    wanted = {j.id for j in jobs}
    comments: dict[str, list[GridComment]] = {}
    for comment in lab.take_comments(actor, batch_id):
        if comment.job_id in wanted:
            comments.setdefault(comment.job_id, []).append(GridComment(
                id=comment.id, at=comment.at, until=comment.until, author=comment.author_name, text=comment.text,
                mine=lab.is_my_comment(actor, comment, name=name)))
    statuses = lab.take_statuses(actor, batch_id)
    picked_by: dict[str, list[str]] = {}
    for review in lab.reviews(actor, batch_id):
        if review.kind == "pick" and review.job_id in wanted and review.name not in picked_by.get(review.job_id, []):
            picked_by.setdefault(review.job_id, []).append(review.name)
    out = {}
    for job in jobs:
        status = statuses.get(job.id)
        out[job.id] = TakeReview(
            comments=tuple(comments.get(job.id, ())),
            status=status.status if status is not None else None,
            status_by=status.set_by if status is not None else None,
            review_picks=tuple(picked_by.get(job.id, ())),
            badge=take_badge(lab, actor, job),
            lineage=take_lineage(lab, actor, job),
        )
    return out


def with_review(clip: GridClip, review: TakeReview | None, *, badge: str | None = None) -> GridClip:
    """The cell with its take's review; `badge`, when given, comes first on the cell's tag."""
    if review is None:
        return dataclasses.replace(clip, badge=badge) if badge else clip
    tag = " · ".join(part for part in (badge, review.badge) if part) or None
    return dataclasses.replace(clip, comments=review.comments, status=review.status, status_by=review.status_by,
                               review_picks=review.review_picks, badge=tag, lineage=review.lineage)


def apply_review_event(lab: Any, actor: Actor, event: GridEvent, *, key: str, name: str = "") -> bool:
    """Write a grid's comment, edit, delete or status through the door as `actor` (with the typed `name`).

    Returns False for an event that is not a review (a pick, a star, a rating: the caller's). A refusal
    is kept as its sentence for `show_problem(key)`; nothing is written then.
    """
    if event.kind not in REVIEW_KINDS:
        return False
    problem = PROBLEM.format(key=key)
    st.session_state.pop(problem, None)
    value: Any = event.value
    try:
        if event.kind == "comment":
            lab.comment_on_take(actor, event.clip_id, at=value["at"], until=value["until"], text=value["text"],
                                name=name)
        elif event.kind == "edit_comment":
            lab.edit_take_comment(actor, value["id"], value["text"], name=name)
        elif event.kind == "delete_comment":
            lab.delete_take_comment(actor, value["id"], name=name)
        else:
            lab.set_take_status(actor, event.clip_id, value, name=name)
    except (ValueError, NotAllowed) as exc:
        st.session_state[problem] = str(exc)
    return True


def show_problem(key: str) -> None:
    """The sentence of the last refused review action in grid `key`, if any, with a Dismiss button."""
    problem = PROBLEM.format(key=key)
    sentence = st.session_state.get(problem)
    if not sentence:
        return
    text, dismiss = st.columns([6, 1], vertical_alignment="center")
    text.error(escape_markdown(sentence), icon=":material/error:")
    dismiss.button("Dismiss", key=f"dismiss_{key}", on_click=st.session_state.pop, args=(problem, None))


__all__ = ["TakeReview", "apply_review_event", "batch_reviews", "show_problem", "take_badge", "take_lineage",
           "with_review"]
