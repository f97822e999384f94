"""Compare: one batch's takes side by side in a synchronized grid, live while they are made and reviewed.

The batch comes from `?batch=<id>`, so a reload shows the same batch from the
store. Each cell shows its take's review: status (by whom), reviewers' picks by
name, comments as marks and a list, its shot/take code and lineage; the lead
comments at a frame and sets statuses right in the grid. Takes from other
batches can be pinned beside these (`?pin=`, ten cells in all). The grid
refreshes itself while a clip is still moving, and every few seconds while a
review link of this batch is live, so reviewers' marks appear. "Copy review
link" makes a link (through the door) that opens this batch's board only.
"""

import time

import streamlit as st

from components.clip_cells import (
    apply_grid_event,
    clip_actions,
    clip_details,
    escape_markdown,
    files_token,
    to_grid_clip,
)
from components.review_board import lab_base_url
from components.runtime import current_actor, get_lab
from components.take_pins import pin_badge, pin_chooser, pinned_takes, unpin_buttons
from components.take_review import apply_review_event, batch_reviews, show_problem, with_review
from components.video_grid import GridEvent, video_grid
from kling_lab.capabilities import CAPABILITIES
from kling_lab.domain.jobs import JobState
from kling_lab.lab import allowed
from kling_lab.pricing import batch_names, format_usd

lab, actor = get_lab(), current_actor()

st.title("Compare")

batch_id = st.query_params.get("batch")
recent = lab.batches(actor, limit=20)
if not batch_id:
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

header, chooser = st.columns([3, 1], vertical_alignment="bottom")
with header:
    st.caption(
        f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(batch.created_at))} · "
        f"{CAPABILITIES[batch.provider].label} · estimated {format_usd(batch.estimated_total)}"
    )
    st.text(batch.template)
with chooser:
    options = [b.id for b in recent] if any(b.id == batch_id for b in recent) else [batch_id] + [b.id for b in recent]
    labels = batch_names((b.id, b.template, b.created_at) for b in [batch, *recent])  # when only if names clash
    choice = st.selectbox("Batch", options, index=options.index(batch_id), format_func=lambda i: labels.get(i, i))
    if choice != batch_id:
        st.query_params["batch"] = choice
        st.rerun()

if allowed(actor, "share"):
    share, shown = st.columns([1, 4], vertical_alignment="center")
    if share.button("Copy review link", icon=":material/share:", key="make_review_link",
                    help="A link that opens this batch's review board only, for 7 days; revoke it in History."):
        url, _ = lab.make_review_link(actor, batch_id, "7d", base_url=lab_base_url(lab.settings_for(actor).public_url))
        st.session_state[f"review_link_{batch_id}"] = url
    if f"review_link_{batch_id}" in st.session_state:
        shown.code(st.session_state[f"review_link_{batch_id}"], language=None, wrap_lines=True)

moving = lab.is_moving(actor, batch_id)
own_cells = len(lab.batch_jobs(actor, batch_id))
pins = pinned_takes(lab, actor, batch_id, own_cells)
pinned_batches = {b: lab.batch(actor, b) for b in {j.batch_id for j in pins.joined}}
pin_chooser(lab, actor, batch_id, own_cells, pins.joined)
can_review = allowed(actor, "review")
GRID_KEY = f"grid_{batch_id}"


def _reviewed_live() -> bool:
    """True while a review link that opens this batch (its own, or its shot's sequence's) is live."""
    if not allowed(actor, "share"):
        return False
    now = time.time()
    links = lab.review_links(actor, batch_id)
    shot = lab.shot(actor, batch.shot_id) if batch.shot_id else None
    if shot is not None:
        links += lab.review_links(actor, shot.sequence_id, kind="sequence")
    return any(link.live(now) for link in links)


def _on_event(event: GridEvent) -> None:
    if not apply_review_event(lab, actor, event, key=GRID_KEY):
        apply_grid_event(batch_id, event, batch_of={j.id: j.batch_id for j in pins.joined})


@st.fragment(run_every=2 if moving else (3 if _reviewed_live() else None))
def live_batch() -> None:
    token = files_token()
    jobs = lab.batch_jobs(actor, batch_id)
    current = lab.batch(actor, batch_id)
    reviews = batch_reviews(lab, actor, batch_id, jobs)
    clips = [with_review(to_grid_clip(job, current, token=token), reviews.get(job.id)) for job in jobs]
    pinned_reviews = {b: batch_reviews(lab, actor, b, [j for j in pins.joined if j.batch_id == b])
                      for b in pinned_batches}
    for job in pins.joined:  # in pinning order, after the batch's own takes
        record = pinned_batches[job.batch_id]
        clips.append(with_review(to_grid_clip(job, lab.batch(actor, job.batch_id), token=token),
                                 pinned_reviews[job.batch_id].get(job.id),
                                 badge=pin_badge(record.template if record is not None else None)))
    done = sum(j.state == JobState.DONE for j in jobs)
    failed = sum(j.state in (JobState.FAILED, JobState.UNKNOWN) for j in jobs)
    still = sum(j.state.is_moving for j in jobs)
    summary = f"{done} of {len(jobs)} done"
    if failed:
        summary += f" · {failed} need attention"
    if still:
        summary += f" · {still} in progress"
    st.markdown(summary)
    video_grid(clips, key=GRID_KEY, allow_comments=can_review, allow_status=can_review, on_event=_on_event)
    show_problem(GRID_KEY)
    clip_actions(jobs)
    if moving and not still:
        st.rerun()  # the last clip arrived: refresh the whole page once and stop the timer


live_batch()
unpin_buttons(pins)

jobs = lab.batch_jobs(actor, batch_id)
with st.expander("Clip details: exact requests, task ids, costs, events", icon=":material/receipt_long:"):
    chosen = st.selectbox("Clip", [j.id for j in jobs], format_func=lambda i: next(j.label for j in jobs if j.id == i))
    job = lab.job(actor, chosen) if chosen else None
    if job is not None:
        clip_details(job)
