"""Takes pinned into Compare from other batches: kept in the URL, chosen from recent takes, unpinned per cell.

The pinned ids ride in `?pin=j_…,j_…`, so a reload or a bookmark shows the same
grid. The grid holds ten cells in all: the batch's own takes first, then the
pinned ones in the order they were pinned; a pin that does not fit (or a take
that is gone) is named in a sentence instead of being dropped in silence.
Everything is read through the door as the viewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from components.clip_cells import escape_markdown
from components.video_grid import MAX_CLIPS
from kling_lab.lab import Actor, JobQuery, JobRecord, NotAllowed, take_code
from kling_lab.pricing import batch_name

PIN_PARAM = "pin"
CHOOSER = "pin_chooser"
REFUSED = "pin_refused"
RECENT_TAKES = 60
"""How many recent finished takes the chooser offers."""

FULL = f"The grid holds {MAX_CLIPS} takes at most: unpin one to pin another."
_JOB_ID = re.compile(r"^j_[0-9a-f]{12}$")


def pinned_ids() -> list[str]:
    """The pinned take ids from the URL, in pinning order (anything that is not a take id is ignored)."""
    raw = st.query_params.get(PIN_PARAM, "")
    out: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if _JOB_ID.match(part) and part not in out:
            out.append(part)
    return out


def _write(ids: Sequence[str]) -> None:
    if ids:
        st.query_params[PIN_PARAM] = ",".join(ids)
    else:
        st.query_params.pop(PIN_PARAM, None)


def pin(job_id: str, own_cells: int) -> None:
    """Pin a take (next to the batch's `own_cells` takes), unless the grid is full: then the sentence says so."""
    ids = pinned_ids()
    st.session_state.pop(REFUSED, None)
    if job_id in ids:
        return
    if own_cells + len(ids) >= MAX_CLIPS:
        st.session_state[REFUSED] = FULL
        return
    _write([*ids, job_id])


def unpin(job_id: str) -> None:
    st.session_state.pop(REFUSED, None)
    _write([i for i in pinned_ids() if i != job_id])


@dataclass(frozen=True)
class Pins:
    """What the URL's pins come to: the takes that join the grid, the ids of takes that are gone, and how many
    pins did not fit."""

    joined: tuple[JobRecord, ...] = ()
    gone: tuple[str, ...] = ()
    left_out: int = 0

    def sentences(self) -> list[str]:
        """A sentence for each pin that is not in the grid."""
        out = [f"A pinned take ({job_id}) is no longer in this Kling Lab's history; unpin it below."
               for job_id in self.gone]
        if self.left_out:
            many = self.left_out != 1
            out.append(f"Only {MAX_CLIPS} takes fit the grid: {self.left_out} pinned take{'s' if many else ''} "
                       f"{'were' if many else 'was'} left out. Unpin one to make room.")
        return out


def pinned_takes(lab: Any, actor: Actor, batch_id: str, own_cells: int) -> Pins:
    """The URL's pins as takes that join the grid (of other batches, not deleted, while cells are left)."""
    joined: list[JobRecord] = []
    gone: list[str] = []
    left_out = 0
    for job_id in pinned_ids():
        try:
            job = lab.job(actor, job_id)
        except NotAllowed:
            job = None
        if job is None or job.deleted_at is not None:
            gone.append(job_id)
        elif job.batch_id == batch_id:
            continue  # already in the grid as one of the batch's own takes
        elif own_cells + len(joined) >= MAX_CLIPS:
            left_out += 1
        else:
            joined.append(job)
    return Pins(tuple(joined), tuple(gone), left_out)


def take_name(job: JobRecord, template: str | None) -> str:
    """ "T003 · rain · a fox in {snow|rain}" (the batch named by its template): how a pin is offered and tagged."""
    parts = [take_code(job.take_number) if job.take_number is not None else "", job.label,
             batch_name(template, limit=40) if template is not None else ""]
    return " · ".join(p for p in parts if p)


def pin_badge(template: str | None) -> str:
    """The tag on a pinned cell: "Pinned · <its batch>"."""
    return f"Pinned · {batch_name(template, limit=40)}" if template is not None else "Pinned"


def pin_chooser(lab: Any, actor: Actor, batch_id: str, own_cells: int, pinned: Sequence[JobRecord]) -> None:
    """"Pin a take": recent finished takes of other batches; a sentence instead when the grid is full."""
    if own_cells + len(pinned) >= MAX_CLIPS:
        st.caption(FULL)
    else:
        taken = {j.id for j in pinned} | set(pinned_ids())
        recent = [j for j in lab.search_jobs(actor, JobQuery(states=("done",)), limit=RECENT_TAKES)
                  if j.batch_id != batch_id and j.id not in taken and j.video_path]
        templates: dict[str, str | None] = {}
        for job in recent:
            if job.batch_id not in templates:
                record = lab.batch(actor, job.batch_id)
                templates[job.batch_id] = record.template if record is not None else None
        names = {j.id: take_name(j, templates.get(j.batch_id)) for j in recent}

        def chosen() -> None:
            job_id = st.session_state.get(CHOOSER)
            st.session_state[CHOOSER] = None
            if job_id:
                pin(job_id, own_cells)

        st.selectbox("Pin a take", list(names), index=None, key=CHOOSER, format_func=lambda i: names.get(i, i),
                     placeholder="A take from an earlier batch…" if names else "No finished takes in other batches",
                     disabled=not names, on_change=chosen,
                     help="Plays beside this batch's takes, in sync; kept in the page's address.")
    refused = st.session_state.get(REFUSED)
    if refused:
        st.error(escape_markdown(refused), icon=":material/grid_off:")


def unpin_buttons(pins: Pins) -> None:
    """One Unpin button per pinned cell (and per pin whose take is gone), after the sentences for pins left out."""
    for sentence in pins.sentences():
        st.caption(escape_markdown(sentence))
    if not pins.joined and not pins.gone:
        return
    with st.container(horizontal=True, key="pinned_takes"):
        for job in pins.joined:
            st.button(f"Unpin {escape_markdown(job.label)}", key=f"unpin_{job.id}", icon=":material/keep_off:",
                      on_click=unpin, args=(job.id,), help="Takes it out of the grid (nothing is deleted).")
        for job_id in pins.gone:
            st.button(f"Unpin {job_id}", key=f"unpin_{job_id}", icon=":material/keep_off:", on_click=unpin,
                      args=(job_id,))


__all__ = ["FULL", "PIN_PARAM", "Pins", "pin", "pin_badge", "pin_chooser", "pinned_ids", "pinned_takes", "take_name",
           "unpin", "unpin_buttons"]
