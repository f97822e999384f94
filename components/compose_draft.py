"""Compose's draft: restored before the widgets are made, saved after them, addressable as `?draft=<id>`.

Compose's widgets keep their values for the session; the draft keeps them in
the store, so a reload, a new tab (the person's latest draft) or a server
restart brings the same work back. Every change is written in the run that
brings it: Streamlit sends a text box's value when it loses focus, not per key,
so that is one small write per edit, and nothing waits in the session that a
reload or a closed tab could lose.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from components.runtime import current_actor, get_lab
from components.take_picker import CHOICES, reset_choices
from kling_lab.images import FrameRef
from kling_lab.lab import DraftRecord, JobRecord, draft_title, normal_state, same_state

DRAFT_PARAM = "draft"
CURRENT = "compose_draft_id"
SAVED = "compose_draft_saved"
STARTED = "compose_draft_started"
UNDO = "compose_draft_undo"
NOTICE = "compose_draft_notice"

WIDGETS: dict[str, str] = {
    "template": "compose_prompt", "variables": "compose_variables", "negative_prompt": "compose_negative",
    "voice_ids": "compose_voice_ids", "camera_choice": "compose_camera_choice", "speaker": "compose_speaker",
    "provider": "compose_provider", "mode": "compose_mode", "duration": "compose_duration",
    "aspect_ratio": "compose_aspect", "cfg_on": "compose_cfg_on", "cfg_scale": "compose_cfg",
    "audio": "compose_audio", "sweep_duration": "sweep_duration", "sweep_audio": "sweep_audio",
    "sweep_aspect": "sweep_aspect", "sweep_mode": "sweep_mode", "sweep_provider": "sweep_provider",
    "sweep_cfg": "sweep_cfg", "run_choices": CHOICES,
}
"""Each draft field and the Compose widget that shows it (frames are kept by `frame_inputs` under *_ref)."""
FRAMES = {"start_frame": "compose_start", "end_frame": "compose_end"}


def current_state() -> dict[str, Any]:
    """What Compose shows now, as a draft's state."""
    ss = st.session_state
    state: dict[str, Any] = {field: ss.get(key) for field, key in WIDGETS.items()}
    for field, key in FRAMES.items():
        ref = ss.get(f"{key}_ref")
        state[field] = ref.to_dict() if isinstance(ref, FrameRef) else None
    return normal_state(state)


def apply_state(draft: DraftRecord) -> None:
    """Put a draft into Compose's widgets (before they are made this run, or from a callback)."""
    ss = st.session_state
    state = normal_state(draft.state)
    for field, key in WIDGETS.items():
        if state[field] is None:
            ss.pop(key, None)  # the widget picks its own default (the provider: the saved default host)
        else:
            ss[key] = state[field]
    for field, key in FRAMES.items():
        frame = state[field]
        ss[f"{key}_ref"] = FrameRef.from_dict(frame) if frame else None
        ss[f"{key}_errors"] = []
        ss.pop(f"{key}_file_id", None)
        ss[f"{key}_generation"] = ss.get(f"{key}_generation", 0) + 1  # a fresh, empty uploader
    reset_choices()  # the variations table starts from the draft's ticks
    ss[CURRENT] = draft.id
    ss[SAVED] = state
    st.query_params[DRAFT_PARAM] = draft.id


def _blank() -> DraftRecord:
    return DraftRecord("", "", "", normal_state({}), "", 0.0, 0.0)


def _opened(draft: DraftRecord) -> DraftRecord:
    """The draft opened now becomes this person's latest (a new tab opens what they were last on)."""
    try:
        return get_lab().save_draft(current_actor(), draft.state, draft.id)
    except ValueError:
        return draft


def restore_draft() -> None:
    """Before Compose's widgets: open `?draft=<id>`, or this person's latest draft in a new tab, or keep going."""
    lab, actor = get_lab(), current_actor()
    ss = st.session_state
    wanted = st.query_params.get(DRAFT_PARAM)
    current = ss.get(CURRENT)
    if wanted and wanted != current:
        found = lab.draft(actor, wanted)
        if found is not None:
            apply_state(_opened(found))
        else:
            ss[NOTICE] = "That draft link opens nothing here (it may be someone else's); this is a new draft."
            st.query_params.pop(DRAFT_PARAM, None)
            if current:
                st.query_params[DRAFT_PARAM] = current
    elif not wanted and current:
        st.query_params[DRAFT_PARAM] = current  # back from another page: the URL names the draft again
    elif not wanted and not ss.get(STARTED):
        latest = lab.latest_draft(actor)
        if latest is not None:
            apply_state(latest)
    ss[STARTED] = True


def _write(state: dict[str, Any]) -> None:
    ss = st.session_state
    try:
        saved = get_lab().save_draft(current_actor(), state, ss.get(CURRENT))
    except ValueError as exc:
        ss[NOTICE] = str(exc)
        return
    ss[CURRENT], ss[SAVED] = saved.id, saved.state
    if st.query_params.get(DRAFT_PARAM) != saved.id:
        st.query_params[DRAFT_PARAM] = saved.id


def keep_draft() -> None:
    """After Compose's widgets: write what changed since the draft was last written or opened."""
    ss = st.session_state
    state = current_state()
    if SAVED not in ss:  # the first run of an empty Compose: its defaults, nothing to keep until something changes
        ss[SAVED] = state
    elif not same_state(state, ss[SAVED]):
        _write(state)


def _switch_to(draft_id: str | None) -> None:
    ss = st.session_state
    found = get_lab().draft(current_actor(), draft_id) if draft_id else None
    if draft_id and found is None:
        ss[NOTICE] = "That draft is no longer there."
        return
    apply_state(_opened(found) if found is not None else _blank())
    if found is None:  # a new, empty draft: written on its first change
        ss.pop(CURRENT, None)
        st.query_params.pop(DRAFT_PARAM, None)


def _undo() -> None:
    _switch_to(st.session_state.pop(UNDO, {}).get("previous"))


def _when(seconds: float) -> str:
    return time.strftime("%d %b %H:%M", time.localtime(seconds))


def drafts_bar() -> None:
    """The draft's line: what is open, Undo after Load into Compose, Recent drafts and New draft."""
    lab, actor = get_lab(), current_actor()
    ss = st.session_state
    notice = ss.pop(NOTICE, None)
    if notice:
        st.warning(notice, icon=":material/info:")
    current = ss.get(CURRENT)
    undo = ss.get(UNDO)
    if undo and undo.get("loaded") == current:
        cols = st.columns([4, 1], vertical_alignment="center")
        cols[0].info(f"Loaded the template of take “{undo.get('label', '')}” into a new draft; "
                     "the draft you had is kept in Recent drafts.", icon=":material/edit_note:")
        cols[1].button("Undo", key="compose_draft_undo_button", on_click=_undo, icon=":material/undo:",
                       help="Go back to the draft you had before Load into Compose.")
    recent = lab.recent_drafts(actor)
    cols = st.columns([2, 1, 2], vertical_alignment="center")
    with cols[0].popover("Recent drafts", icon=":material/history:", width="stretch"):
        if not recent:
            st.caption("No drafts yet: what you write here is kept as you go.")
        for draft in recent:
            mark = " (open)" if draft.id == current else ""
            st.button(f"{draft_title(draft)} · {_when(draft.updated_at)}{mark}", key=f"compose_open_{draft.id}",
                      on_click=_switch_to, args=(draft.id,), disabled=draft.id == current, width="stretch")
    cols[1].button("New draft", key="compose_new_draft", on_click=_switch_to, args=(None,),
                   icon=":material/note_add:", width="stretch",
                   help="Start an empty Compose; this draft stays in Recent drafts.")
    note = "Saved as you go: reload, open a new tab or come back later." if current else \
        "Kept as a draft from your first change."
    cols[2].caption(f":material/cloud_done: {note}")


def open_in_compose(job: JobRecord) -> None:
    """Load into Compose: a new draft from the take's batch template and variables, opened in Compose (Undo there)."""
    lab, actor = get_lab(), current_actor()
    previous = st.session_state.get(CURRENT)
    if previous is None and not st.session_state.get(STARTED):  # Compose not opened in this tab: it would open
        latest = lab.latest_draft(actor)                          # the latest draft, so that is what is replaced
        previous = latest.id if latest is not None else None
    draft = lab.draft_from_job(actor, job.id)
    st.session_state[UNDO] = {"previous": previous, "loaded": draft.id, "label": job.label}
    st.switch_page("pages/compose.py", query_params={DRAFT_PARAM: draft.id})
