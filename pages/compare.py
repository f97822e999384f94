"""Compare: one batch's takes side by side in a synchronized grid, live while they are made.

The batch comes from `?batch=<id>`, so a reload or a shared link shows the same
batch from the store. The grid refreshes itself only while a clip is still moving.
"""

import time

import streamlit as st

from components.clip_cells import apply_grid_event, clip_actions, clip_details, escape_markdown, to_grid_clip
from components.review_board import review_board, reviewer
from components.runtime import current_actor, get_lab
from components.video_grid import video_grid
from kling_lab.capabilities import CAPABILITIES
from kling_lab.domain.jobs import JobState
from kling_lab.pricing import format_usd

lab = get_lab()
review = st.query_params.get("view") == "review"
# On a review link whoever holds the board is a reviewer: they read (and pick and comment) as one.
actor = reviewer() if review else current_actor()

st.title("Review" if review else "Compare")

batch_id = st.query_params.get("batch")
recent = [] if review else lab.batches(actor, limit=20)  # a review link shows its one batch, no list
if not batch_id and not review:
    if not recent:
        st.info("No batches yet. Write a prompt on Compose and press Generate.", icon=":material/movie:")
        st.page_link("pages/compose.py", label="Go to Compose", icon=":material/edit_note:")
        st.stop()
    batch_id = recent[0].id
    st.query_params["batch"] = batch_id

batch = lab.batch(actor, batch_id) if batch_id else None
if batch is None:
    # The id comes from the link: shown as text, never as markdown.
    st.error(f"There is no batch “{escape_markdown(batch_id)}” in this Kling Lab's history.",
             icon=":material/search_off:")
    st.stop()

if review:
    review_board(batch)
    st.stop()

header, chooser = st.columns([3, 1], vertical_alignment="bottom")
with header:
    st.caption(
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(batch.created_at))} · "
        f"{CAPABILITIES[batch.provider].label} · estimated {format_usd(batch.estimated_total)}"
    )
    st.text(batch.template)
with chooser:
    options = [b.id for b in recent] if any(b.id == batch_id for b in recent) else [batch_id] + [b.id for b in recent]
    labels = {b.id: f"{time.strftime('%m-%d %H:%M', time.localtime(b.created_at))} · {b.template[:40]}" for b in recent}
    choice = st.selectbox("Batch", options, index=options.index(batch_id), format_func=lambda i: labels.get(i, i))
    if choice != batch_id:
        st.query_params["batch"] = choice
        st.rerun()

moving = lab.is_moving(actor, batch_id)


@st.fragment(run_every=2 if moving else None)
def live_batch() -> None:
    jobs = lab.batch_jobs(actor, batch_id)
    current = lab.batch(actor, batch_id)
    done = sum(j.state == JobState.DONE for j in jobs)
    failed = sum(j.state in (JobState.FAILED, JobState.UNKNOWN) for j in jobs)
    still = sum(j.state.is_moving for j in jobs)
    summary = f"{done} of {len(jobs)} done"
    if failed:
        summary += f" · {failed} need attention"
    if still:
        summary += f" · {still} in progress"
    st.markdown(summary)
    video_grid(
        [to_grid_clip(job, current) for job in jobs],
        key=f"grid_{batch_id}",
        on_event=lambda event: apply_grid_event(batch_id, event),
    )
    clip_actions(jobs)
    if moving and not still:
        st.rerun()  # the last clip arrived: refresh the whole page once and stop the timer


live_batch()

jobs = lab.batch_jobs(actor, batch_id)
with st.expander("Clip details: exact requests, task ids, costs, events", icon=":material/receipt_long:"):
    chosen = st.selectbox("Clip", [j.id for j in jobs], format_func=lambda i: next(j.label for j in jobs if j.id == i))
    job = lab.job(actor, chosen) if chosen else None
    if job is not None:
        clip_details(job)
