"""The Sequence page's exports: a file an editor can open, made through the door, then downloaded.

Each format has a button that makes the file (`Lab.sequence_export_file`, written
whole under the data folder's exports or not at all); a download button for
that file then appears beside it. A file made before the sequence changed is
not offered again (the sequence's shots, picks and trims are its fingerprint).
What the door refuses (an empty sequence, a shot without a pick, trims outside
the clip) is shown as its sentence, and no file is offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from components.clip_cells import escape_markdown
from components.runtime import current_actor, get_lab
from kling_lab.lab import NotAllowed

FORMATS: dict[str, tuple[str, str, str]] = {
    "otio": ("OTIO", "application/json", "OpenTimelineIO, for any editor with OTIO support"),
    "fcp7xml": ("FCP 7 XML", "application/xml", "Premiere Pro and other FCP 7 XML importers"),
    "fcpxml": ("FCPXML", "application/xml", "DaVinci Resolve and Final Cut Pro"),
    "edl": ("EDL", "text/plain", "CMX 3600 EDL, for any editor"),
    "zip": ("Zip with media", "application/zip", "The OTIO, both XMLs and the EDL with the picks' clips beside "
            "them at relative paths, so they relink"),
    "mp4": ("Reel MP4", "video/mp4", "The whole cut rendered as one video, with each take's sound"),
}
"""Each export: its button's words, its MIME type and what it is for."""
MADE = "sequence_exports_made"
"""{(sequence id, format, slate): (fingerprint, path)} of the files made in this session."""
PROBLEM = "sequence_exports_problem"


def fingerprint(sequence: Any, shots: Sequence[Any]) -> tuple:
    """What a made file depends on: the sequence's name and its shots' order, codes, picks and trims."""
    return (sequence.name, tuple((s.id, s.number, s.pick_job_id, s.trim_in, s.trim_out) for s in shots))


def _make(sequence_id: str, fmt: str, slate: bool, mark: tuple) -> None:
    ss = st.session_state
    ss.pop(PROBLEM, None)
    try:
        path = get_lab().sequence_export_file(current_actor(), sequence_id, fmt, slate=slate)
    except (ValueError, NotAllowed, KeyError, OSError) as exc:
        ss[PROBLEM] = (fmt, str(exc) if not isinstance(exc, KeyError) else "That sequence is no longer there.")
        return
    ss.setdefault(MADE, {})[(sequence_id, fmt, slate)] = (mark, str(path))


def _reader(path: Path):  # noqa: ANN202 - the download's deferred data
    return lambda: path.read_bytes()


def sequence_exports(sequence: Any, shots: Sequence[Any]) -> None:
    """The export buttons for `sequence` (its `shots` as the page read them)."""
    mark = fingerprint(sequence, shots)
    slate = st.checkbox("Burn a shot/take slate into the reel MP4", key=f"export_slate_{sequence.id}")
    made = st.session_state.get(MADE, {})
    problem = st.session_state.get(PROBLEM)
    for fmt, (words, mime, what) in FORMATS.items():
        with_slate = slate and fmt == "mp4"
        cols = st.columns([2, 2, 4], vertical_alignment="center")
        cols[0].button(f"Make {words}", key=f"export_make_{fmt}", icon=":material/movie_edit:", width="stretch",
                       on_click=_make, args=(sequence.id, fmt, with_slate, mark), help=what)
        kept = made.get((sequence.id, fmt, with_slate))
        path = Path(kept[1]) if kept is not None and kept[0] == mark else None
        if path is not None and path.is_file():
            cols[1].download_button(f"Download {path.suffix}", data=_reader(path), file_name=path.name, mime=mime,
                                    key=f"export_download_{fmt}", icon=":material/download:", width="stretch",
                                    on_click="ignore")
        cols[2].caption(what)
        if problem is not None and problem[0] == fmt:
            cols[2].error(escape_markdown(problem[1]), icon=":material/block:")
