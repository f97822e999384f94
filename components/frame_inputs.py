"""Start/end frame uploads: checked once on arrival, kept by hash, previewed small."""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image

from components.runtime import current_actor, get_lab
from kling_lab.images import MAX_FRAME_BYTES, FrameRef, inspect_frame

PREVIEW_WIDTH = 240
UPLOAD_CAP_MB = 5 * MAX_FRAME_BYTES // (1024 * 1024)
"""What the browser sends at all; the hosts' 10 MB limit is checked (and said) by `inspect_frame`."""


@st.cache_data(show_spinner=False, max_entries=32)
def _preview_png(path: str, sha256: str) -> bytes:
    with Image.open(path) as image:
        image.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 3))
        out = io.BytesIO()
        image.convert("RGB").save(out, "PNG")
        return out.getvalue()


def _forget(key: str) -> None:
    for suffix in ("_ref", "_file_id", "_errors"):
        st.session_state.pop(f"{key}{suffix}", None)


def _take(key: str, upload: object) -> None:
    """A new file in the uploader: it replaces the frame and every old message, whether it is kept or refused."""
    data = upload.getvalue()  # type: ignore[attr-defined]
    what = "The start frame" if "start" in key else "The end frame"
    result = inspect_frame(data, what)
    st.session_state[f"{key}_file_id"] = upload.file_id  # type: ignore[attr-defined]
    # Size and aspect problems of a decoded frame are reported by validation with the other inputs.
    st.session_state[f"{key}_errors"] = list(result.errors) if result.ref is None else []
    if result.ref is not None:
        get_lab().save_frame(current_actor(), result.ref, data)
    st.session_state[f"{key}_ref"] = result.ref


def _changed(key: str, uploader_key: str) -> None:
    """The person changed the uploader: a new file is taken; its own ✕ removes the frame (preview and request)."""
    upload = st.session_state.get(uploader_key)
    if upload is None:
        _forget(key)
    elif st.session_state.get(f"{key}_file_id") != upload.file_id:
        _take(key, upload)


def frame_input(label: str, key: str, *, disabled: bool, help_text: str | None) -> FrameRef | None:
    """An upload for one frame. Returns the checked frame (kept across reruns, pages and drafts) or None.

    The upload is decoded once (pillow, safely), stored by content hash, and any
    problem with it is shown right here. The uploader's ✕ and the Remove button
    both take the frame out; a page switch or a reload (which empty the uploader)
    keep it.
    """
    generation = st.session_state.get(f"{key}_generation", 0)
    uploader_key = f"{key}_{generation}"
    # No file-type filter and a loose size cap in the browser: a file the browser refused would never reach
    # here, leaving the previous frame and its message in place; here every file replaces the frame, and a
    # wrong one is refused with its own sentence (type, size, shape) by `inspect_frame`.
    upload = st.file_uploader(
        label, key=uploader_key, disabled=disabled, help=help_text,
        max_upload_size=UPLOAD_CAP_MB, on_change=_changed, args=(key, uploader_key),
    )
    if upload is not None and st.session_state.get(f"{key}_file_id") != upload.file_id:
        _take(key, upload)  # a file the callback did not see (the first run after a reconnect)
    ref: FrameRef | None = st.session_state.get(f"{key}_ref")
    path = get_lab().frame_path(current_actor(), ref) if ref is not None else None
    if ref is not None and path is None:  # a draft's frame whose file went away: say so, send nothing
        _forget(key)
        ref, st.session_state[f"{key}_errors"] = None, [f"{label}: its file is no longer kept here; upload it again."]
    for message in st.session_state.get(f"{key}_errors", []):
        st.error(message, icon=":material/image_not_supported:")
    if ref is not None and path is not None:
        st.image(_preview_png(str(path), ref.sha256), caption=f"{ref.width}×{ref.height}", alt=label)
        if st.button("Remove", key=f"{key}_remove", icon=":material/delete:"):
            _forget(key)
            st.session_state[f"{key}_generation"] = generation + 1
            st.rerun()
    return ref
