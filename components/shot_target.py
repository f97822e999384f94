"""Compose's "Into shot" chooser: a batch on its own, or into a sequence's shot (an existing one or a new one).

A shot may carry a start frame (the previous shot's last frame, from "Last frame
→ next shot" on the Sequence page): choosing that shot puts the frame into
Compose's start frame, where it is checked like an uploaded frame. The Sequence
page's "Generate into it" opens Compose at `?seq=<id>&shot=SH020`, which
presets the chooser once. The choice is kept for the session (not in the draft).

`origin_take` is the take the open draft was loaded from (History's "Load into
Compose"): Generate passes it as the new takes' parent, so each records its lineage.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.clip_cells import escape_markdown
from components.compose_draft import CURRENT
from components.runtime import current_actor, get_lab
from kling_lab.images import FrameRef
from kling_lab.lab import ShotTarget

SEQ_KEY = "compose_into_sequence"
SHOT_KEY = "compose_into_shot"
NAME_KEY = "compose_into_shot_name"
NEW = "new"
"""The shot option that makes a new shot (the next code, SH030 after SH020)."""
SEQ_PARAM, SHOT_PARAM = "seq", "shot"
START = "compose_start"
"""Compose's start-frame input (components/frame_inputs.py keeps its frame under `compose_start_ref`)."""
KEEP = "session"


def use_start_frame(frame: dict[str, Any]) -> None:
    """Put a shot's start frame into Compose's start frame (before the frame input is made this run)."""
    ss = st.session_state
    try:
        ref = FrameRef.from_dict(frame)
    except (KeyError, TypeError, ValueError):
        return
    ss[f"{START}_ref"] = ref
    ss[f"{START}_errors"] = []
    ss.pop(f"{START}_file_id", None)
    ss[f"{START}_generation"] = ss.get(f"{START}_generation", 0) + 1  # a fresh, empty uploader


def _start_of_chosen() -> None:
    """The shot choice changed: a shot that carries a start frame brings it into Compose."""
    shot_id = st.session_state.get(SHOT_KEY)
    if shot_id and shot_id != NEW:
        shot = get_lab().shot(current_actor(), shot_id)
        if shot is not None and shot.start_frame:
            use_start_frame(shot.start_frame)


def _sequence_changed() -> None:
    st.session_state[SHOT_KEY] = NEW


def _preset_from_url() -> None:
    """`?seq=<id or name>&shot=SH020` (from the Sequence page): choose that shot once, then drop the parameters."""
    wanted = st.query_params.get(SEQ_PARAM)
    if wanted is None:
        return
    code = (st.query_params.get(SHOT_PARAM) or "").strip().upper()
    st.query_params.pop(SEQ_PARAM, None)
    st.query_params.pop(SHOT_PARAM, None)
    lab, actor = get_lab(), current_actor()
    sequence = lab.sequence(actor, wanted)
    if sequence is None:
        st.session_state["compose_into_notice"] = "That sequence is no longer there: choose one under Into shot."
        return
    ss = st.session_state
    ss[SEQ_KEY] = sequence.id
    shot = next((s for s in lab.shots(actor, sequence.id) if s.code == code), None)
    ss[SHOT_KEY] = shot.id if shot is not None else NEW
    _start_of_chosen()


def origin_take() -> str | None:
    """The take the open Compose draft was loaded from, or None (a draft written from scratch)."""
    draft_id = st.session_state.get(CURRENT)
    draft = get_lab().draft(current_actor(), draft_id) if draft_id else None
    return (draft.origin or None) if draft is not None else None


def shot_target() -> ShotTarget | None:
    """The chooser; returns where Generate files the batch (None: a batch on its own)."""
    lab, actor = get_lab(), current_actor()
    _preset_from_url()
    ss = st.session_state
    notice = ss.pop("compose_into_notice", None)
    if notice:
        st.warning(notice, icon=":material/movie_edit:")
    parent = origin_take()
    job = lab.job(actor, parent) if parent else None
    if job is not None:
        st.caption(f":material/account_tree: New takes record that they come from “{escape_markdown(job.label)}”.")
    sequences = lab.sequences(actor)
    names = {s.id: s.name for s in sequences}
    if ss.get(SEQ_KEY) not in names:
        ss[SEQ_KEY] = None
    cols = st.columns(2)
    sequence_id = cols[0].selectbox(
        "Into sequence", [None, *names], key=SEQ_KEY, persist_state=KEEP, on_change=_sequence_changed,
        format_func=lambda i: names.get(i, "") if i else "None (a batch on its own)",
        help="File this batch's takes under a shot of a sequence (make sequences on the Sequence page).")
    if sequence_id is None:
        if not sequences:
            st.caption(":material/movie_edit: Make a sequence on the Sequence page to generate into its shots.")
        return None
    shots = lab.shots(actor, sequence_id)
    codes = {s.id: f"{s.code} · {s.name}" if s.name else s.code for s in shots}
    if ss.get(SHOT_KEY) not in codes and ss.get(SHOT_KEY) != NEW:
        ss[SHOT_KEY] = NEW
    shot_id = cols[1].selectbox("Shot", [*codes, NEW], key=SHOT_KEY, persist_state=KEEP, on_change=_start_of_chosen,
                                format_func=lambda i: "New shot" if i == NEW else codes.get(i, i),
                                help="Takes are numbered within the shot, across its batches (T001, T002, …).")
    if shot_id == NEW:
        name = st.text_input("New shot's name", key=NAME_KEY, persist_state=KEEP, max_chars=80,
                             placeholder="optional, e.g. the keeper climbs the stairs")
        number = max((s.number for s in shots), default=0) + 10
        st.caption(f"Generate makes SH{number:03d} at the end of {escape_markdown(names[sequence_id])}.")
        target = ShotTarget(sequence_id, code=None, name=name.strip())
    else:
        shot = next(s for s in shots if s.id == shot_id)
        target = ShotTarget(sequence_id, code=shot.code, name="")
        if shot.start_frame:
            carried = shot.start_frame.get("sha256")
            current = ss.get(f"{START}_ref")
            if isinstance(current, FrameRef) and current.sha256 == carried:
                st.caption(f":material/start: {shot.code}'s start frame (from the shot before) is the start frame.")
            else:
                st.button(f"Use {shot.code}'s start frame", key="compose_into_use_frame", icon=":material/start:",
                          on_click=use_start_frame, args=(shot.start_frame,),
                          help="The frame kept for this shot, e.g. the previous shot's last frame.")
    return target
