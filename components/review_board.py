"""The review board: a batch for a meeting or a shared link. Playback, pick and comments only.

No costs, no keys, no generation controls reach this view's HTML. Picks and
comments are stored with the batch under the name the reviewer types; every
read and write goes through the door as the reviewer.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from components.clip_cells import escape_markdown, to_grid_clip
from components.runtime import get_lab
from components.video_grid import GridEvent, video_grid
from kling_lab.lab import Actor, BatchRecord


def reviewer() -> Actor:
    """Whoever holds the board: a reviewer, allowed to watch, pick and comment only."""
    return Actor("reviewer", name=st.session_state.get("review_name", ""))


def review_board(batch: BatchRecord) -> None:
    """Render the board for `batch`."""
    lab = get_lab()
    jobs = lab.batch_jobs(reviewer(), batch.id)
    name = st.text_input("Your name", key="review_name", persist_state="session", max_chars=80,
                         placeholder="so the team knows whose pick it is")

    def record(event: GridEvent) -> None:
        if event.kind == "pick" and event.value:
            lab.review(reviewer(), batch.id, kind="pick", name=st.session_state.get("review_name", ""),
                       job_id=event.clip_id)

    moving = lab.is_moving(reviewer(), batch.id)

    @st.fragment(run_every=3 if moving else None)
    def board() -> None:
        actor = reviewer()
        current = lab.batch_jobs(actor, batch.id)
        picks = {r.job_id for r in lab.reviews(actor, batch.id) if r.kind == "pick"}
        clips = [to_grid_clip(job, None, show_cost=False) for job in current]
        clips = [c if c.clip_id not in picks else dataclasses.replace(c, picked=True) for c in clips]
        video_grid(clips, key=f"review_{batch.id}", show_cost=False, allow_pick=True, on_event=record)
        if moving and not lab.is_moving(actor, batch.id):
            st.rerun()

    board()
    with st.form("review_comment", clear_on_submit=True, border=True):
        comment = st.text_area("Comment", max_chars=2000, placeholder="What works, what to try next")
        if st.form_submit_button("Send comment", icon=":material/send:") and comment.strip():
            lab.review(reviewer(), batch.id, kind="comment", name=name, text=comment.strip())
            st.toast("Thanks, your comment is saved.")
    for review in lab.reviews(reviewer(), batch.id):
        label = next((j.label for j in jobs if j.id == review.job_id), None)
        what = f"picked {escape_markdown(label)}" if review.kind == "pick" and label else "said"
        text = f": {escape_markdown(review.text)}" if review.text else ""
        st.caption(f"{escape_markdown(review.name)} {what}{text}")
