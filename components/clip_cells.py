"""Turning stored jobs into grid cells, and the per-clip actions under the grid."""

from __future__ import annotations

import json
import time

import streamlit as st

from components.runtime import current_actor, get_lab
from components.video_grid import GridClip, GridEvent
from kling_lab.capabilities import CAPABILITIES
from kling_lab.domain.jobs import ChargeKind, JobState, charge_shown
from kling_lab.lab import FILE_TOKEN_PARAM, BatchRecord, BudgetExceeded, JobRecord
from kling_lab.pricing import format_charge, format_usd

STATE_WORDS = {
    JobState.QUEUED: "waiting to be sent",
    JobState.SENDING: "sending",
    JobState.SUBMITTED: "accepted, in the host's queue",
    JobState.RUNNING: "generating",
    JobState.DOWNLOADING: "downloading",
    JobState.DONE: "done",
    JobState.FAILED: "failed",
    JobState.CANCELED: "canceled",
    JobState.UNKNOWN: "unknown: check the host",
}


def files_token() -> str:
    """The token this session's file URLs carry (the routes serve nothing without one that covers the file)."""
    return get_lab().file_token(current_actor())


def file_url(path: str, token: str, **params: str) -> str:
    """A route URL with this session's file token, e.g. file_url("/exports/b_1.zip", token)."""
    from urllib.parse import urlencode

    return f"{path}?{urlencode({**params, FILE_TOKEN_PARAM: token})}"


def clip_url(job: JobRecord, token: str) -> str | None:
    return file_url(f"/clips/{job.id}.mp4", token) if job.state == JobState.DONE and job.video_path else None


def thumb_url(job: JobRecord, token: str) -> str | None:
    return file_url(f"/thumbs/{job.id}.jpg", token) if job.thumb_path else None


def cell_detail(job: JobRecord, now: float | None = None) -> str:
    """The sentence under a cell's state: the error, or progress and elapsed time."""
    if job.error and job.state in (JobState.FAILED, JobState.UNKNOWN, JobState.CANCELED):
        return job.error
    if job.state == JobState.DONE:
        took = (job.finished_at or job.updated_at) - job.created_at
        return f"took {took:.0f} s"
    elapsed = (now or time.time()) - job.created_at
    words = STATE_WORDS[job.state]
    if job.progress is not None and job.state == JobState.RUNNING:
        words += f" {job.progress:.0%}"
    if job.error:  # a retryable problem in flight, e.g. "rate limited, retrying in 5 s"
        words += f" ({job.error})"
    return f"{words} · {elapsed:.0f} s"


def cost_text(job: JobRecord) -> str:
    """What the clip cost as a card shows it: never a take's estimate as if charged (see `charge_shown`)."""
    kind, amount = charge_shown(job.state.value, host_task_id=job.host_task_id, actual=job.actual_cost,
                                estimated=job.estimated_cost)
    return format_charge(kind, amount)


def charged_words(job: JobRecord) -> str:
    """What was charged, for a clip's details: the host's figure, $0.00 when nothing was, else why not known."""
    kind, amount = charge_shown(job.state.value, host_task_id=job.host_task_id, actual=job.actual_cost,
                                estimated=job.estimated_cost)
    if kind in (ChargeKind.REPORTED, ChargeKind.NONE):
        return format_usd(amount)
    if kind == ChargeKind.ESTIMATE:
        return "nothing yet"
    return "not reported"


def to_grid_clip(job: JobRecord, batch: BatchRecord | None, *, token: str, show_cost: bool = True) -> GridClip:
    """A grid cell for `job`; its video and poster URLs carry `token` (from `files_token()` or the door)."""
    return GridClip(
        clip_id=job.id,
        label=job.label,
        host=CAPABILITIES[job.provider].label,
        state=job.state.value,
        url=clip_url(job, token),
        aspect_ratio=job.request.aspect_ratio,
        duration=job.video_duration or float(job.request.duration),
        cost_text=cost_text(job) if show_cost else None,
        detail=cell_detail(job),
        poster=thumb_url(job, token),
        picked=batch is not None and batch.winner_job_id == job.id,
        starred=job.starred,
        rating=job.rating,
    )


def apply_grid_event(batch_id: str, event: GridEvent, *, batch_of: dict[str, str] | None = None) -> None:
    """Store what the user did in the grid (the batch's pick, a star, a rating), through the door.

    `batch_of` maps a cell pinned from another batch to that batch: its pick is that batch's pick.
    """
    lab, actor = get_lab(), current_actor()
    if event.kind == "pick":
        own = (batch_of or {}).get(event.clip_id, batch_id)
        lab.pick(actor, own, event.clip_id if event.value else None)
    elif event.kind == "star":
        lab.annotate(actor, event.clip_id, starred=bool(event.value))
    elif event.kind == "rate":
        lab.annotate(actor, event.clip_id, rating=event.value if isinstance(event.value, int) else None)


def clip_actions(jobs: list[JobRecord]) -> None:
    """Retry (that clip only) and Cancel buttons, with the reason, for clips that need a person."""
    for job in jobs:
        if job.state in (JobState.FAILED, JobState.UNKNOWN, JobState.CANCELED):
            with st.container(border=True, key=f"problem_{job.id}"):
                cols = st.columns([5, 1], vertical_alignment="center")
                kind = "Unknown" if job.state == JobState.UNKNOWN else job.state.value.capitalize()
                cols[0].markdown(f"**{kind}: {escape_markdown(job.label)}**")
                cols[0].caption(escape_markdown(job.error or ""))
                if cols[1].button("Retry", key=f"retry_{job.id}", icon=":material/replay:",
                                  help="Sends this clip again." if job.state == JobState.UNKNOWN else None):
                    try:
                        get_lab().retry(current_actor(), job.id)
                    except (BudgetExceeded, ValueError, KeyError) as exc:
                        cols[0].error(escape_markdown(str(exc) if not isinstance(exc, KeyError) else
                                                      "That clip no longer exists."), icon=":material/savings:")
                    else:
                        st.rerun()
        elif job.state.is_moving:
            continue
    moving = [j for j in jobs if j.state.is_moving]
    if moving:
        with st.expander(f"Cancel clips in progress ({len(moving)})", icon=":material/cancel:"):
            for job in moving:
                cols = st.columns([5, 1], vertical_alignment="center")
                cols[0].write(f"{escape_markdown(job.label)} · {STATE_WORDS[job.state]}")
                if cols[1].button("Cancel", key=f"cancel_{job.id}"):
                    st.toast(get_lab().cancel(current_actor(), job.id))


def clip_details(job: JobRecord) -> None:
    """A labelled summary (prompt, host, length, charged), then the exact request, the host's reply and events."""
    st.markdown(f"**{escape_markdown(job.label)}** · {job.state.value}")
    length = f"{job.video_duration:.1f} s made" if job.video_duration else f"{job.request.duration} s asked"
    st.markdown(f"**Prompt:** {escape_markdown(' '.join(job.prompt.split()))}  \n"
                f"**Host:** {CAPABILITIES[job.provider].label} · **Length:** {length} · "
                f"**Charged:** {charged_words(job)}")
    st.caption(f"Host task id: {job.host_task_id or '—'} · estimated {format_usd(job.estimated_cost)}")
    st.markdown("**Exact request** (JSON, as sent to the host)")
    st.code(json.dumps(job.request.to_dict(), indent=2, ensure_ascii=False), language="json")
    if job.details:
        st.markdown("**What the host reported** (its reply, as stored)")
        st.json(job.details, expanded=False)
    st.markdown("**Events**")
    events = get_lab().events(current_actor(), job.id)
    st.dataframe(
        {
            "When": [time.strftime("%H:%M:%S", time.localtime(e.at)) for e in events],
            "From": [e.from_state or "" for e in events],
            "To": [e.to_state for e in events],
            "Detail": [e.detail for e in events],
        },
        hide_index=True,
        alt=f"Event log of {job.label}",
    )


def escape_markdown(text: str) -> str:
    """Make user text inert in markdown (no links, no HTML, no formatting)."""
    out = []
    for ch in text:
        if ch in "\\`*_{}[]()#+-.!|<>~$:":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
