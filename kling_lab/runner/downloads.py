"""Taking a finished clip from the host into the media store: streamed or copied, capped, probed, atomic.

A remote clip is streamed to a partial file under media/tmp and renamed into
place only when whole and playable (`kling_lab.media.download_clip`). A local
host (the offline animatic) hands over a `file://` address instead; only an
offline host may do that, and its file is copied with `atomic_path`, so a
reader sees the whole clip or none. No partial file stays behind either way.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import httpx

from kling_lab.atomic import atomic_path
from kling_lab.capabilities import CAPABILITIES
from kling_lab.media import DownloadRefused, MediaStore, download_clip, probe_clip
from kling_lab.providers.base import HostClient, HostError, Submission

log = logging.getLogger("kling_lab.runner")


async def save_clip(
    http: httpx.AsyncClient,
    client: HostClient,
    url: str,
    *,
    media: MediaStore,
    job_id: str,
    allow_loopback: bool,
    max_bytes: int,
) -> int:
    """Put the clip at `url` at the job's clip path; returns its size in bytes.

    Raises DownloadRefused (not a video, too big, a forbidden address), OSError
    (the disk refused), or an httpx error (a transport fault worth retrying).
    """
    dest = media.clip_path(job_id)
    if url.startswith("file://"):
        return take_local_file(client, url, dest)
    tmp: Path | None = None
    try:
        tmp = media.temp_path(job_id)  # inside the try: a full or read-only disk can refuse even the temp file
        return await download_clip(http, url, dest, tmp, allow_loopback=allow_loopback, max_bytes=max_bytes)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def take_local_file(client: HostClient, url: str, dest: Path) -> int:
    """Copy a clip an offline host rendered on this machine to `dest`, atomically and only if it plays."""
    if not CAPABILITIES[client.name].offline:
        raise DownloadRefused("A host may not point Kling Lab at a file on this machine.")
    source = Path(url2pathname(urlparse(url).path))
    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)
        probe_clip(tmp)
    return dest.stat().st_size


def make_thumbnail(clip: Path, dest: Path) -> bool:
    """The clip's thumbnail (False when none could be made).

    Looked up on the `kling_lab.runner` package at call time: that name is the
    seam the storage-fault tests patch to put a bug after a paid clip is stored.
    """
    from kling_lab import runner

    return runner.make_thumbnail(clip, dest)


def release_host_copy(client: HostClient, submission: Submission) -> None:
    """The clip is stored and recorded: a local host (the animatic) may drop its own copy now."""
    release = getattr(client, "release", None)
    if callable(release):
        try:
            release(submission)
        except (OSError, HostError):  # a leftover copy costs disk space, never the clip
            log.warning("could not remove the %s work files of task %s", client.name, submission.task_id)
