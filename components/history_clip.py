"""One clip in History: its card in the gallery and the panel with everything about it."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from components.clip_cells import clip_details, escape_markdown, file_url, files_token, to_grid_clip
from components.runtime import current_actor, get_lab
from components.video_grid import video_grid
from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import MAX_TEXT_CHARS, BudgetExceeded, JobRecord, allowed
from kling_lab.pricing import PriceBook, format_usd

SELECTED = "history_selected"


@st.cache_data(show_spinner=False, max_entries=500)
def _thumb_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def clip_card(job: JobRecord, *, picked: bool) -> None:
    """A gallery card: thumbnail, label and facts, and a button to open the clip."""
    with st.container(border=True, key=f"card_{job.id}"):
        thumb = get_lab().thumb_file(current_actor(), job.id) if job.thumb_path else None
        if thumb is not None:
            st.image(_thumb_bytes(str(thumb), thumb.stat().st_mtime), alt=f"Key frame of {job.label}")
        else:
            st.caption(f":material/hide_image: {job.state.value}")
        marks = (" :material/star:" if job.starred else "") + (" :material/check_circle: pick" if picked else "")
        st.markdown(f"**{escape_markdown(job.label)}**{marks}")
        audio = "audio" if job.request.audio else "silent"
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at))
        st.caption(f"{CAPABILITIES[job.provider].label} · {job.request.duration} s · {audio} · "
                   f"{format_usd(job.cost)} · {made} · {job.state.value}"
                   + (f" · {'★' * job.rating}" if job.rating else ""))
        if st.button("Open", key=f"open_{job.id}", icon=":material/open_in_full:", width="stretch"):
            st.session_state[SELECTED] = job.id
            st.rerun()


def load_into_compose(job: JobRecord) -> None:
    """Put every control of Compose back as it was for this clip, frames included."""
    r = job.request
    caps = CAPABILITIES[job.provider]
    st.session_state.update({
        "compose_provider": job.provider,
        "compose_prompt": r.prompt,
        "compose_negative": r.negative_prompt,
        "compose_variables": "",
        "compose_mode": r.mode if r.mode in caps.modes else caps.modes[-1],
        "compose_duration": r.duration,
        "compose_aspect": r.aspect_ratio,
        "compose_cfg_on": r.cfg_scale is not None,
        "compose_cfg": r.cfg_scale if r.cfg_scale is not None else 0.5,
        "compose_audio": bool(r.audio),
        "compose_voice_ids": ", ".join(r.voice_ids),
        "sweep_duration": [], "sweep_audio": [], "sweep_aspect": [], "sweep_mode": [], "sweep_provider": [],
        "sweep_cfg": "",
        "compose_start_ref": r.start_frame,
        "compose_end_ref": r.end_frame,
        "compose_start_errors": [],
        "compose_end_errors": [],
    })


def clip_panel(job: JobRecord, book: PriceBook) -> None:
    """Play, read the exact request, annotate, reuse, download or delete one clip."""
    lab, actor = get_lab(), current_actor()
    batch = lab.batch(actor, job.batch_id)
    st.subheader(escape_markdown(job.label))  # a label is the person's text: never markdown
    if job.video_path and job.deleted_at is None:
        video_grid([to_grid_clip(job, batch, token=files_token())], key=f"history_player_{job.id}", allow_pick=False)
    cols = st.columns([1, 1, 1, 1, 1])
    if cols[0].button("Load into Compose", icon=":material/edit_note:", key=f"load_{job.id}"):
        load_into_compose(job)
        st.switch_page("pages/compose.py")
    rerun_price = book.price_for(job.request, job.provider)
    if cols[1].button(f"Re-run · {format_usd(rerun_price)}", icon=":material/replay:", key=f"rerun_{job.id}",
                      help="Sends the same request again as a new clip; the price shown is what it costs now."):
        st.session_state[f"confirm_rerun_{job.id}"] = True
    if job.video_path and job.deleted_at is None:
        cols[2].link_button("Download MP4", file_url(f"/clips/{job.id}.mp4", files_token(), download="1"),
                            icon=":material/download:")
    cols[3].page_link("pages/compare.py", label="Open batch", icon=":material/grid_view:",
                      query_params={"batch": job.batch_id})
    if allowed(actor, "delete"):
        _delete_button(cols[4], job)
    if st.session_state.get(f"confirm_rerun_{job.id}"):
        _confirm_rerun(job, book)
    left, right = st.columns([1, 1])
    with left:
        starred = st.toggle("Starred", value=job.starred, key=f"star_{job.id}")
        rating = st.feedback("stars", key=f"rating_{job.id}", default=(job.rating - 1) if job.rating else None)
        notes = st.text_area("Notes", value=job.notes, key=f"notes_{job.id}", max_chars=MAX_TEXT_CHARS)
        if st.button("Save notes and rating", key=f"save_{job.id}", icon=":material/save:"):
            lab.annotate(actor, job.id, starred=starred,
                               rating=None if rating is None else rating + 1, notes=notes)
            st.toast("Saved.")
            st.rerun()
    with right:
        reviews = [r for r in lab.reviews(actor, job.batch_id) if r.job_id in (None, job.id)]
        if reviews:
            st.markdown("**Review board**")
            for review in reviews:
                verb = "picked this" if review.kind == "pick" else "said"
                text = f": {escape_markdown(review.text)}" if review.text else ""
                st.caption(f"{escape_markdown(review.name)} {verb}{text}")
    with st.expander("Exact request, task id and events", icon=":material/receipt_long:"):
        clip_details(job)


def _delete_button(where: st.delta_generator.DeltaGenerator, job: JobRecord) -> None:
    """Delete, only for someone allowed to (the door refuses anyone else anyway)."""
    with where.popover("Delete", icon=":material/delete:"):
        st.write("Delete this clip's video and thumbnail? Its request and cost stay in the spend record.")
        if st.button("Delete for good", type="primary", key=f"delete_{job.id}"):
            try:
                get_lab().delete(current_actor(), job.id)
            except (ValueError, KeyError) as exc:
                st.error(escape_markdown(str(exc) if not isinstance(exc, KeyError) else "That clip no longer exists."))
                return
            st.session_state.pop(SELECTED, None)
            st.toast("Clip deleted; its spend record is kept.")
            st.rerun()


def _confirm_rerun(job: JobRecord, book: PriceBook) -> None:
    price = book.price_for(job.request, job.provider)
    with st.container(border=True):
        st.write(f"Send this exact request to {CAPABILITIES[job.provider].label} again for {format_usd(price)}?")
        go, cancel = st.columns(2)
        if go.button("Send it", type="primary", key=f"rerun_go_{job.id}"):
            try:
                batch_id = get_lab().rerun(current_actor(), job.id, book)
            except (BudgetExceeded, ValueError, KeyError) as exc:
                st.error(escape_markdown(str(exc) if not isinstance(exc, KeyError) else "That clip no longer exists."),
                         title="Not sent")
                return
            st.session_state.pop(f"confirm_rerun_{job.id}", None)
            st.switch_page("pages/compare.py", query_params={"batch": batch_id})
        if cancel.button("Cancel", key=f"rerun_no_{job.id}"):
            st.session_state.pop(f"confirm_rerun_{job.id}", None)
            st.rerun()
