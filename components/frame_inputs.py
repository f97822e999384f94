"""Start/end frame uploads: checked once on arrival, kept by hash, previewed small."""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image

from components.runtime import current_actor, get_lab
from kling_lab.images import MAX_FRAME_BYTES, FrameRef, inspect_frame

PREVIEW_WIDTH = 240


@st.cache_data(show_spinner=False, max_entries=32)
def _preview_png(path: str, sha256: str) -> bytes:
    with Image.open(path) as image:
        image.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 3))
        out = io.BytesIO()
        image.convert("RGB").save(out, "PNG")
        return out.getvalue()


def frame_input(label: str, key: str, *, disabled: bool, help_text: str | None) -> FrameRef | None:
    """An upload for one frame. Returns the checked frame (kept across reruns and pages) or None.

    The upload is decoded once (pillow, safely), stored by content hash, and any
    problem with it is shown right here.
    """
    state_key = f"{key}_ref"
    generation = st.session_state.get(f"{key}_generation", 0)
    upload = st.file_uploader(
        label, type=["png", "jpg", "jpeg"], key=f"{key}_{generation}", disabled=disabled, help=help_text,
        max_upload_size=MAX_FRAME_BYTES // (1024 * 1024),  # the hosts' limit, so the box says the true figure
    )
    if upload is not None and st.session_state.get(f"{key}_file_id") != upload.file_id:
        data = upload.getvalue()
        what = "The start frame" if "start" in key else "The end frame"
        result = inspect_frame(data, what)
        st.session_state[f"{key}_file_id"] = upload.file_id
        # Size and aspect problems of a decoded frame are reported by validation with the other inputs.
        st.session_state[f"{key}_errors"] = list(result.errors) if result.ref is None else []
        if result.ref is not None:
            get_lab().save_frame(current_actor(), result.ref, data)
        st.session_state[state_key] = result.ref
    if upload is None and st.session_state.get(f"{key}_errors"):
        # The refused file was taken out of the uploader: its messages go with it. (A good frame is kept
        # when the uploader empties, as it does on a page switch, and has its own Remove button.)
        st.session_state[f"{key}_errors"] = []
        st.session_state.pop(f"{key}_file_id", None)
    ref: FrameRef | None = st.session_state.get(state_key)
    for message in st.session_state.get(f"{key}_errors", []):
        st.error(message, icon=":material/image_not_supported:")
    if ref is not None:
        path = get_lab().frame_path(current_actor(), ref)
        if path is not None:
            st.image(_preview_png(str(path), ref.sha256), caption=f"{ref.width}×{ref.height}", alt=label)
        if st.button("Remove", key=f"{key}_remove", icon=":material/delete:"):
            for suffix in ("_ref", "_file_id", "_errors"):
                st.session_state.pop(f"{key}{suffix}", None)
            st.session_state[f"{key}_generation"] = generation + 1
            st.rerun()
    return ref
