"""A `Cut` written as files an editor opens: OTIO, FCP 7 XML, FCPXML, CMX 3600 EDL, a zip with the media, a reel.

`export_cut` writes one file through `atomic_path`, so an error at any point (a clip gone from disk, an adapter
refusing the timeline) leaves nothing at the target and no temporary file beside it. The timeline files point at
each clip by its relative name (`media/SH010_T003_j_….mp4`); the zip holds all four timeline files, the media at
those names and a `manifest.json` of the cut, so unpacking it anywhere relinks.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from kling_lab.atomic import atomic_path
from kling_lab.sequences.model import Cut, timecode

EXPORT_FORMATS = {"otio": ".otio", "fcp7xml": ".xml", "fcpxml": ".fcpxml", "edl": ".edl", "mp4": ".mp4",
                  "zip": ".zip"}
"""Every export format and the extension of its file."""

TIMELINE_FORMATS = ("otio", "fcp7xml", "fcpxml", "edl")
_ADAPTERS = {"otio": "otio_json", "fcp7xml": "fcp_xml", "fcpxml": "fcpx_xml", "edl": "cmx_3600"}


def check_exportable(cut: Cut, fmt: str) -> None:
    """ValueError with a sentence for an unknown format, an empty cut, or a clip no longer on disk."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"“{fmt}” is not an export format: use one of {', '.join(EXPORT_FORMATS)}.")
    if not cut.shots:
        raise ValueError("This sequence has no shots to export: add a shot and pick a take for it first.")
    for shot in cut.shots:
        if shot.frames <= 0:
            raise ValueError(f"{shot.code} plays no frames: set its in point before its out point.")
    if fmt in ("mp4", "zip"):
        missing = [s.code for s in cut.shots if not Path(s.clip_path).is_file()]
        if missing:
            raise ValueError(f"The video file of {', '.join(missing)} is no longer on disk: pick another take "
                             "and export again.")


def timeline_text(cut: Cut, fmt: str) -> str:
    """The cut as the text of one timeline file (`fmt` one of TIMELINE_FORMATS)."""
    import opentimelineio as otio

    from kling_lab.sequences.timeline import cut_timeline
    from kling_lab.sequences.xml_notes import add_fcp7_notes, add_fcpx_notes

    # EDL and FCPXML from the picture track alone: CMX 3600 takes one track, and the fcpx_xml adapter nests an
    # audio track into clips that read back as extra clips.
    timeline = cut_timeline(cut, audio=fmt in ("otio", "fcp7xml"))
    try:
        text = otio.adapters.write_to_string(timeline, _ADAPTERS[fmt])
    except otio.exceptions.OTIOError as exc:
        raise ValueError(f"The {fmt} file could not be written: {exc}") from exc
    if fmt == "fcp7xml":
        text = add_fcp7_notes(text, cut)
    elif fmt == "fcpxml":
        text = add_fcpx_notes(text, cut)
    return text


def manifest(cut: Cut) -> dict:
    """The cut as JSON data: every shot's take, trims, reel position, media name, metadata and markers."""
    shots = []
    for shot, start in zip(cut.shots, cut.starts(), strict=True):
        shots.append({
            "shot_id": shot.shot_id, "code": shot.code, "name": shot.name, "take": shot.take_code,
            "job_id": shot.job_id, "media": shot.media_name, "trim_in": shot.trim_in, "trim_out": shot.trim_out,
            "frames": shot.frames, "record_in": timecode(start + 3600 * cut.fps, cut.fps),
            "record_out": timecode(start + shot.frames + 3600 * cut.fps, cut.fps),
            "width": shot.width, "height": shot.height, "has_audio": shot.has_audio, "status": shot.status,
            "metadata": shot.metadata(),
            "markers": [{"at": m.at, "until": m.until, "author": m.author, "text": m.text, "kind": m.kind}
                        for m in shot.markers],
        })
    return {"sequence_id": cut.sequence_id, "name": cut.name, "fps": cut.fps, "frames": cut.total_frames,
            "seconds": round(cut.seconds, 3), "shots": shots}


def _base_name(cut: Cut) -> str:
    safe = "-".join(cut.name.split()) or "sequence"
    return "".join(ch for ch in safe if ch.isalnum() or ch in "-_.") or "sequence"


def _write_zip(cut: Cut, tmp: Path) -> None:
    base = _base_name(cut)
    texts = {fmt: timeline_text(cut, fmt) for fmt in TIMELINE_FORMATS}
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for fmt, text in texts.items():
            archive.writestr(f"{base}{EXPORT_FORMATS[fmt]}", text)
        archive.writestr("manifest.json", json.dumps(manifest(cut), indent=2, ensure_ascii=False))
        done: set[str] = set()
        for shot in cut.shots:
            if shot.media_name in done:
                continue
            done.add(shot.media_name)
            try:
                archive.write(shot.clip_path, shot.media_name, compress_type=zipfile.ZIP_STORED)
            except OSError as exc:
                raise ValueError(f"The video file of {shot.code} could not be read ({exc.strerror or exc}): "
                                 "nothing was exported.") from exc


def export_cut(cut: Cut, fmt: str, out_path: Path | str, *, slate: bool = False) -> Path:
    """Write the cut as `fmt` (a key of EXPORT_FORMATS) at `out_path`, atomically; returns the path.

    `slate` burns "SH010 · T003" into the reel MP4's corner (other formats ignore it).
    """
    check_exportable(cut, fmt)
    out = Path(out_path)
    if fmt in TIMELINE_FORMATS:
        text = timeline_text(cut, fmt)
        with atomic_path(out, suffix=EXPORT_FORMATS[fmt]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    elif fmt == "zip":
        with atomic_path(out, suffix=".zip") as tmp:
            _write_zip(cut, tmp)
    else:
        from kling_lab.sequences.reel import render_reel

        with atomic_path(out, suffix=".mp4") as tmp:
            render_reel(cut, tmp, slate=slate)
    return out
