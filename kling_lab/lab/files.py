"""Files through the door: uploaded frames in, and clips, thumbnails, frames and exports out.

The routes in `asgi_app.py` and the screens ask here for a file by id; the id
is checked against its pattern and the store before a path is built, so a
deleted clip is never served and no request names a path of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from kling_lab.exports import contact_sheet, export_for_download
from kling_lab.images import FrameRef
from kling_lab.lab.actors import Actor, check
from kling_lab.lab.base import DoorBase

JOB_ID = re.compile(r"^j_[0-9a-f]{12}$")
BATCH_ID = re.compile(r"^b_[0-9a-f]{12}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FRAME_EXTENSIONS = ("png", "jpg")


class Files(DoorBase):
    """The file side of the door."""

    def save_frame(self, actor: Actor, ref: FrameRef, data: bytes) -> Path:
        """Keep a checked start or end frame under its content hash (saving it twice changes nothing)."""
        self._check(actor, "upload")
        return self.media.save_frame(ref, data)

    def frame_path(self, actor: Actor, ref: FrameRef) -> Path | None:
        """Where a kept frame is, or None when it is not on disk."""
        self._check(actor, "read")
        path = self.media.frame_path(ref)
        return path if path.is_file() else None

    def clip_file(self, actor: Actor, job_id: str) -> Path | None:
        """A clip's MP4, or None when there is no such clip, it was deleted, or it is not made yet.

        A review link's holder gets its own batch's clips only (NotAllowed for any other, made or not).
        """
        if not self._shown(actor, job_id):
            return None
        return _existing(self.media.clip_path(job_id))

    def thumb_file(self, actor: Actor, job_id: str) -> Path | None:
        """A clip's thumbnail, on the same terms as its clip."""
        if not self._shown(actor, job_id):
            return None
        return _existing(self.media.thumb_path(job_id))

    def frame_file(self, actor: Actor, sha256: str, extension: str) -> Path | None:
        """An uploaded frame by its content hash and extension (png or jpg), or None."""
        self._check(actor, "read")
        if not SHA256.match(sha256) or extension not in FRAME_EXTENSIONS:
            return None
        return _existing(self.media.root / "frames" / f"{sha256}.{extension}")

    def export_file(self, actor: Actor, batch_id: str) -> Path | None:
        """The batch's zip (clips, manifest.json, clips.csv) under the data folder; None for no such batch.

        Blocking: a route runs it on a worker thread. Many downloads at once each get a whole zip: one
        that is in place is never rewritten (see `export_for_download`).
        """
        self._check(actor, "export")
        if not BATCH_ID.match(batch_id) or self.store.get_batch(batch_id) is None:
            return None
        return export_for_download(self.store, batch_id, self._settings().data_dir / "exports").path

    def contact_sheet(self, actor: Actor, batch_id: str) -> bytes:
        """A PNG of the batch's key frames with labels; KeyError when the batch has no clips."""
        self._check(actor, "export")
        return contact_sheet(self.store, batch_id)

    def _shown(self, actor: Actor, job_id: str) -> bool:
        """Checks `actor` may read the clip's batch (NotAllowed), then whether the clip is there to show."""
        job = self.store.get_job(job_id) if JOB_ID.match(job_id) else None
        check(actor, "read", batch_id=job.batch_id if job is not None else None)
        return job is not None and job.deleted_at is None


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None
