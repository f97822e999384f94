"""Handing a batch to someone else: a zip for an editor, and a contact sheet of key frames.

The zip holds the clips, `manifest.json` (each clip's exact request, host, task
id, cost and timestamps, its review status and its timecoded comments with their
authors) and `clips.csv` with the same rows. Nothing secret is
in either: requests carry no keys. Text a person typed is written as data:
JSON-escaped, and CSV cells that a spreadsheet would run as a formula are
prefixed so they stay text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from kling_lab.atomic import atomic_path
from kling_lab.capabilities import CAPABILITIES
from kling_lab.store import JobRecord, Store
from kling_lab.store.records import TakeCommentRecord, TakeStatusRecord
from kling_lab.take_review import format_time, status_text

MANIFEST_VERSION = 2
"""2 adds each clip's `status` and `comments` (and the CSV's status, status_by and comments); nothing was removed."""
CSV_FIELDS = (
    "id", "position", "label", "provider", "host", "state", "prompt", "negative_prompt", "mode", "duration",
    "aspect_ratio", "audio", "cfg_scale", "host_task_id", "estimated_cost", "actual_cost", "created_at",
    "finished_at", "file", "starred", "rating", "notes", "error", "status", "status_by", "comments",
)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    clips: int
    missing: int
    """Clips whose file is not on disk (failed, deleted or never made) and so are listed but not included."""


def _iso(ts: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts)) if ts else None


def _safe_name(text: str, limit: int = 40) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return (cleaned or "clip")[:limit]


def comment_entry(comment: TakeCommentRecord) -> dict[str, Any]:
    """A timecoded comment as the manifest records it: seconds of the clip, as typed, with its author."""
    return {
        "id": comment.id,
        "at": comment.at,
        "until": comment.until,
        "author": comment.author_name,
        "author_kind": comment.author_kind,
        "text": comment.text,
        "created_at": _iso(comment.created_at),
        "updated_at": _iso(comment.updated_at),
    }


def status_entry(status: TakeStatusRecord | None) -> dict[str, Any] | None:
    """A take's review status as the manifest records it (None when it has none)."""
    if status is None:
        return None
    return {"status": status.status, "words": status_text(status.status), "set_by": status.set_by,
            "set_at": _iso(status.set_at)}


def clip_entry(job: JobRecord, file_name: str | None, *, comments: list[TakeCommentRecord] | None = None,
               status: TakeStatusRecord | None = None) -> dict[str, Any]:
    """One clip as the manifest records it, with its review status and comments."""
    return {
        "id": job.id,
        "position": job.position,
        "label": job.label,
        "provider": job.provider,
        "host": CAPABILITIES[job.provider].label,
        "state": job.state.value,
        "request": job.request.to_dict(),
        "host_task_id": job.host_task_id,
        "estimated_cost": str(job.estimated_cost) if job.estimated_cost is not None else None,
        "actual_cost": str(job.actual_cost) if job.actual_cost is not None else None,
        "currency": "USD",
        "created_at": _iso(job.created_at),
        "submitted_at": _iso(job.submitted_at),
        "finished_at": _iso(job.finished_at),
        "file": file_name,
        "video": {
            "duration": job.video_duration,
            "width": job.video_width,
            "height": job.video_height,
            "has_audio": job.has_audio,
            "bytes": job.video_bytes,
        },
        "starred": job.starred,
        "rating": job.rating,
        "notes": job.notes,
        "error": job.error,
        "status": status_entry(status),
        "comments": [comment_entry(c) for c in comments or ()],
    }


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A leading = + - @ (or tab/CR) makes spreadsheets evaluate the cell; a quote keeps it text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def build_manifest(store: Store, batch_id: str) -> tuple[dict[str, Any], list[tuple[JobRecord, str | None]]]:
    """The manifest of a batch and, for each clip, the file name it has in the zip (None if absent)."""
    batch = store.get_batch(batch_id)
    if batch is None:
        raise KeyError(batch_id)
    jobs = store.jobs_for_batch(batch_id)
    files: list[tuple[JobRecord, str | None]] = []
    for job in jobs:
        present = bool(job.video_path and Path(job.video_path).is_file() and job.deleted_at is None)
        name = f"clips/{job.position + 1:02d}_{_safe_name(job.label)}_{job.id}.mp4" if present else None
        files.append((job, name))
    ids = [job.id for job in jobs]
    comments: dict[str, list[TakeCommentRecord]] = {}
    for comment in store.take_notes.for_jobs(ids):
        comments.setdefault(comment.job_id, []).append(comment)
    statuses = store.take_notes.statuses_for_jobs(ids)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "exported_at": _iso(time.time()),
        "batch": {
            "id": batch.id,
            "template": batch.template,
            "provider": batch.provider,
            "created_at": _iso(batch.created_at),
            "estimated_total": str(batch.estimated_total),
            "winner_job_id": batch.winner_job_id,
            "settings": batch.settings,
        },
        "clips": [clip_entry(job, name, comments=comments.get(job.id, []), status=statuses.get(job.id))
                  for job, name in files],
        "reviews": [
            {"job_id": r.job_id, "name": r.name, "kind": r.kind, "text": r.text, "at": _iso(r.at)}
            for r in store.reviews_for_batch(batch_id)
        ],
    }
    return manifest, files


def export_batch(store: Store, batch_id: str, out_path: Path) -> ExportResult:
    """Write the batch's zip (clips, manifest.json, clips.csv) atomically to `out_path`."""
    manifest, files = build_manifest(store, batch_id)
    return _write_zip(manifest, files, Path(out_path))


STALE_EXPORT_SECONDS = 600
"""An older zip of a batch is removed once it is this old (a download of it has long started)."""

_export_locks: dict[Path, threading.Lock] = {}
_export_locks_guard = threading.Lock()


def export_for_download(store: Store, batch_id: str, folder: Path) -> ExportResult:
    """The batch's zip in `folder`, named by what it holds, for a route to serve while others ask at once.

    A zip is never rewritten once in place: its name carries a hash of the manifest (less its
    `exported_at`), so a second request for an unchanged batch gets the same finished file, and a
    changed batch gets a new name. Writers of one name take turns (a lock) and write through a
    unique temporary name renamed into place, so every reader opens a whole zip. Zips of the batch
    older than STALE_EXPORT_SECONDS are removed.
    """
    manifest, files = build_manifest(store, batch_id)
    stable = {k: v for k, v in manifest.items() if k != "exported_at"}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()[:16]
    out_path = Path(folder) / f"{batch_id}-{digest}.zip"
    with _lock_for(out_path):
        if out_path.is_file():
            present = sum(1 for _, name in files if name)
            result = ExportResult(out_path, present, len(files) - present)
        else:
            result = _write_zip(manifest, files, out_path)
    _remove_stale(out_path, batch_id)
    return result


def _lock_for(path: Path) -> threading.Lock:
    with _export_locks_guard:
        return _export_locks.setdefault(path, threading.Lock())


def _remove_stale(keep: Path, batch_id: str) -> None:
    cutoff = time.time() - STALE_EXPORT_SECONDS
    for old in keep.parent.glob(f"{batch_id}-*.zip"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # another request removed it, or it is in use on a system that refuses: next time


def _write_zip(manifest: dict[str, Any], files: list[tuple[JobRecord, str | None]], out_path: Path) -> ExportResult:
    with atomic_path(out_path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        zf.writestr("clips.csv", _csv_text(manifest["clips"]))
        for job, name in files:
            if name is not None:
                # MP4s are already compressed; storing them keeps the export fast.
                zf.write(job.video_path, name, compress_type=zipfile.ZIP_STORED)
    present = sum(1 for _, name in files if name)
    return ExportResult(out_path, present, len(files) - present)


def _csv_text(clips: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for clip in clips:
        request = clip["request"]
        row = {
            **clip,
            "prompt": request.get("prompt"),
            "negative_prompt": request.get("negative_prompt"),
            "mode": request.get("mode"),
            "duration": request.get("duration"),
            "aspect_ratio": request.get("aspect_ratio"),
            "audio": request.get("audio"),
            "cfg_scale": request.get("cfg_scale"),
            "status": (clip.get("status") or {}).get("status"),
            "status_by": (clip.get("status") or {}).get("set_by"),
            "comments": _comments_cell(clip.get("comments") or []),
        }
        writer.writerow([_csv_cell(row.get(field)) for field in CSV_FIELDS])
    return out.getvalue()


def _comments_cell(comments: list[dict[str, Any]]) -> str:
    """A clip's comments in one cell, one a line: "0:01.50–0:03.00 Jo: text"."""
    lines = []
    for comment in comments:
        when = format_time(comment["at"])
        if comment.get("until") is not None:
            when += "–" + format_time(comment["until"])
        lines.append(f"{when} {comment['author']}: {comment['text']}")
    return "\n".join(lines)


def contact_sheet(store: Store, batch_id: str, *, cell_width: int = 320, columns: int | None = None) -> bytes:
    """A PNG grid of each clip's key frame (its thumbnail) with its label, host and state under it."""
    jobs = store.jobs_for_batch(batch_id)
    if not jobs:
        raise KeyError(batch_id)
    columns = columns or min(len(jobs), 5 if len(jobs) > 4 else len(jobs))
    rows = math.ceil(len(jobs) / columns)
    frame_height = round(cell_width * 9 / 16)
    caption_height = 44
    pad = 12
    width = columns * cell_width + (columns + 1) * pad
    height = rows * (frame_height + caption_height) + (rows + 1) * pad + 28
    sheet = Image.new("RGB", (width, height), (18, 18, 22))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    batch = store.get_batch(batch_id)
    title = (batch.template if batch else batch_id).replace("\n", " ")
    draw.text((pad, 6), _fit(draw, title, font, width - 2 * pad), fill=(230, 230, 235), font=font)
    for index, job in enumerate(jobs):
        col, row = index % columns, index // columns
        x = pad + col * (cell_width + pad)
        y = 28 + pad + row * (frame_height + caption_height + pad)
        draw.rectangle((x, y, x + cell_width - 1, y + frame_height - 1), fill=(40, 40, 48))
        if job.thumb_path and Path(job.thumb_path).is_file():
            with Image.open(job.thumb_path) as thumb:
                thumb = thumb.convert("RGB")
                thumb.thumbnail((cell_width, frame_height))
                sheet.paste(thumb, (x + (cell_width - thumb.width) // 2, y + (frame_height - thumb.height) // 2))
        else:
            draw.text((x + 10, y + frame_height // 2 - 8), job.state.value, fill=(200, 120, 120), font=font)
        label = f"{index + 1}. {job.label}"
        if batch and batch.winner_job_id == job.id:
            label += "  ★ pick"
        draw.text((x, y + frame_height + 4), _fit(draw, label, font, cell_width), fill=(240, 240, 240), font=font)
        meta = f"{CAPABILITIES[job.provider].label} · {job.request.duration} s · {job.state.value}"
        draw.text((x, y + frame_height + 24), _fit(draw, meta, small, cell_width), fill=(160, 160, 170), font=small)
    out = io.BytesIO()
    sheet.save(out, "PNG")
    return out.getvalue()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
