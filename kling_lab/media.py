"""Media on disk: stored frames, streamed clip downloads, probing and thumbnails.

Layout under the media directory:
    frames/<sha256>.<ext>   start/end frames, content-addressed
    clips/<job_id>.mp4      finished clips (written atomically)
    thumbs/<job_id>.jpg     thumbnails
    tmp/                    partial downloads, never referenced by the store; each is named
                            <job_id>.<pid>.<random>.part so a later start can tell which
                            ones a dead process left behind (see sweep_abandoned)
    animatic/               the offline renderer's work files, removed once its clip is
                            stored in clips/ (a draft is never kept twice)

A clip is recorded only after it was fully received, its bytes look like a
video container, PyAV could open it, and it was renamed into place.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx

from kling_lab.atomic import atomic_path, atomic_write_bytes
from kling_lab.images import FrameRef

MAX_CLIP_BYTES = 500 * 1024 * 1024
MAX_REDIRECTS = 5
DOWNLOAD_CHUNK = 1024 * 256
PART_SUFFIX = ".part"
ABANDONED_AFTER_SECONDS = 3600.0


class DownloadRefused(Exception):
    """The output could not be accepted as a clip; the message says why in plain words."""


@dataclass(frozen=True)
class ClipProbe:
    """What PyAV found in a clip."""

    duration: float
    width: int
    height: int
    video_codec: str
    has_audio: bool


class MediaStore:
    """Paths and file operations for frames, clips and thumbnails."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("frames", "clips", "thumbs", "tmp", "animatic"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def animatic_dir(self) -> Path:
        return self.root / "animatic"

    def frame_path(self, ref: FrameRef) -> Path:
        return self.root / "frames" / f"{ref.sha256}.{ref.extension}"

    def clip_path(self, job_id: str) -> Path:
        return self.root / "clips" / f"{job_id}.mp4"

    def thumb_path(self, job_id: str) -> Path:
        return self.root / "thumbs" / f"{job_id}.jpg"

    def save_frame(self, ref: FrameRef, data: bytes) -> Path:
        """Store checked frame bytes under their hash (idempotent)."""
        path = self.frame_path(ref)
        if not path.exists():
            atomic_write_bytes(path, data)
        return path

    def read_frame(self, ref: FrameRef) -> bytes:
        return self.frame_path(ref).read_bytes()

    def temp_path(self, job_id: str) -> Path:
        fd, name = tempfile.mkstemp(prefix=f"{job_id}.{os.getpid()}.", suffix=PART_SUFFIX, dir=self.root / "tmp")
        os.close(fd)
        return Path(name)

    def sweep_abandoned(self, *, now: float | None = None) -> list[Path]:
        """Remove half-written files that a killed process left behind; returns what was removed.

        A partial download in tmp/ goes when the process named in it is gone
        (a SIGKILL or power cut gives it no chance to clean up); files with
        no readable process id, and the short-lived `.tmp` files that atomic
        writes leave beside clips, thumbnails and frames, go once they are an
        hour old. Nothing the store references is ever touched: finished
        files never carry these suffixes.
        """
        now = time.time() if now is None else now
        removed: list[Path] = []
        for path in (self.root / "tmp").glob(f"*{PART_SUFFIX}"):
            pid = _pid_in_part_name(path.name)
            if pid is not None and _process_alive(pid):  # still downloading, maybe in this process
                continue
            if pid is None and not _older_than(path, now, ABANDONED_AFTER_SECONDS):
                continue
            removed += _unlink(path)
        for sub in ("clips", "thumbs", "frames"):
            for path in (self.root / sub).glob("*.tmp*"):
                if _older_than(path, now, ABANDONED_AFTER_SECONDS):
                    removed += _unlink(path)
        return removed

    def delete_clip_files(self, job_id: str, *paths: str | None) -> None:
        """Remove a clip's video, thumbnail and any work files the offline renderer kept for it."""
        for path in [Path(p) for p in paths if p] + [self.clip_path(job_id), self.thumb_path(job_id)]:
            path.unlink(missing_ok=True)
        self.remove_animatic_work(job_id)

    def clip_job_ids(self) -> set[str]:
        """Job ids that have a video or a thumbnail in the media folder."""
        names = [*(self.root / "clips").glob("*.mp4"), *(self.root / "thumbs").glob("*.jpg")]
        return {p.stem for p in names if not p.name.startswith(".")}

    def animatic_work_ids(self) -> set[str]:
        """Job ids that have work files (draft, sidecars) in the offline renderer's folder."""
        return {p.name.split(".", 1)[0] for p in self.animatic_dir.glob("*.*") if not p.name.startswith(".")}

    def remove_animatic_work(self, job_id: str) -> None:
        if job_id and "/" not in job_id and "." not in job_id:  # a job id is a plain name, never a path
            for path in self.animatic_dir.glob(f"{job_id}.*"):
                path.unlink(missing_ok=True)

    def disk_usage_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(dirpath, name))
                except OSError:
                    continue
        return total


def _pid_in_part_name(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) >= 4 and parts[1].isdigit():  # <job_id>.<pid>.<random>.part
        return int(parts[1])
    return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    except OSError:
        return False
    return True


def _older_than(path: Path, now: float, seconds: float) -> bool:
    try:
        return now - path.stat().st_mtime > seconds
    except OSError:
        return False


def _unlink(path: Path) -> list[Path]:
    try:
        path.unlink()
    except OSError:
        return []
    return [path]


def _is_private_host(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast:
            return True
        # Not private, yet not on the internet either: shared address space (100.64.0.0/10, where
        # Alibaba Cloud's metadata service lives at 100.100.100.200) and the like.
        if not addr.is_global:
            return True
    return False


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_download_url(url: str, *, allow_loopback: bool) -> None:
    """Refuse output URLs we must not fetch: non-HTTPS, or private addresses.

    Plain HTTP and loopback are allowed only when the host itself is configured
    on loopback (a local emulator or gateway), which `allow_loopback` says.
    """
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if allow_loopback and parsed.scheme in ("http", "https") and _is_loopback_host(host):
        return
    if parsed.scheme != "https":
        raise DownloadRefused(f"The host returned a clip address that is not HTTPS ({parsed.scheme or 'no'} scheme).")
    if not host or _is_private_host(host):
        raise DownloadRefused("The host pointed the clip download at a private network address; it was refused.")


def looks_like_video(head: bytes) -> bool:
    """True for the first bytes of an MP4/MOV (ftyp box) or WebM/Matroska (EBML)."""
    return (len(head) >= 12 and head[4:8] == b"ftyp") or head.startswith(b"\x1a\x45\xdf\xa3")


async def download_clip(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    tmp: Path,
    *,
    allow_loopback: bool,
    max_bytes: int = MAX_CLIP_BYTES,
    headers: dict[str, str] | None = None,
    on_progress: Callable[[int, int | None], Awaitable[None] | None] | None = None,
) -> int:
    """Stream `url` to `tmp`, check it, and rename it to `dest`; returns the size.

    Redirects are followed by hand so every hop is checked. A short read, an
    oversized body, or a body that is not a video raises DownloadRefused (or an
    httpx error for transport faults) and leaves nothing at `dest`.
    """
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            check_download_url(current, allow_loopback=allow_loopback)
            async with http.stream("GET", current, headers=headers, follow_redirects=False) as resp:
                if resp.status_code in (301, 302, 303, 307, 308):
                    location = resp.headers.get("location")
                    if not location:
                        raise DownloadRefused("The clip download redirected without saying where.")
                    current = urljoin(current, location)
                    continue
                if resp.status_code == 404 or resp.status_code == 410:
                    raise DownloadRefused("The host no longer has the clip (it answered 404); outputs expire.")
                if resp.status_code >= 400:
                    raise httpx.HTTPStatusError(
                        f"clip download answered {resp.status_code}", request=resp.request, response=resp
                    )
                declared = resp.headers.get("content-length")
                expected = int(declared) if declared and declared.isdigit() else None
                if expected is not None and expected > max_bytes:
                    raise DownloadRefused(
                        f"The clip is {expected / 1024 / 1024:.0f} MB, over the {max_bytes // 1024 // 1024} MB cap."
                    )
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype.startswith("text/html"):
                    raise DownloadRefused("The host sent a web page instead of a video.")
                received = 0
                head = b""
                with open(tmp, "wb") as fh:
                    async for chunk in resp.aiter_bytes(DOWNLOAD_CHUNK):
                        if len(head) < 16:
                            head += chunk[: 16 - len(head)]
                            if len(head) >= 12 and not looks_like_video(head):
                                raise DownloadRefused("The host sent something that is not a video file.")
                        received += len(chunk)
                        if received > max_bytes:
                            raise DownloadRefused(
                                f"The clip is larger than the {max_bytes // 1024 // 1024} MB cap; download stopped."
                            )
                        fh.write(chunk)
                        if on_progress is not None:
                            maybe = on_progress(received, expected)
                            if maybe is not None:
                                await maybe
                    fh.flush()
                    os.fsync(fh.fileno())
                if expected is not None and received != expected:
                    raise httpx.ReadError(f"clip download ended after {received} of {expected} bytes")
                if not looks_like_video(head):
                    raise DownloadRefused("The host sent something that is not a video file.")
                probe_clip(tmp)
                os.replace(tmp, dest)
                return received
        raise DownloadRefused("The clip download redirected too many times.")
    finally:
        tmp.unlink(missing_ok=True)


def probe_clip(path: Path) -> ClipProbe:
    """Open a clip with PyAV and read its facts; DownloadRefused when it is not a playable video."""
    import av  # imported here: only download and probe paths need it

    try:
        with av.open(str(path)) as container:
            videos = [s for s in container.streams if s.type == "video"]
            if not videos:
                raise DownloadRefused("The file has no video stream.")
            stream = videos[0]
            duration = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            return ClipProbe(
                duration=duration,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                video_codec=stream.codec_context.name,
                has_audio=any(s.type == "audio" for s in container.streams),
            )
    except DownloadRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a playable clip"
        raise DownloadRefused(f"The file could not be opened as a video ({type(exc).__name__}).") from exc


def make_thumbnail(clip: Path, dest: Path, *, at_seconds: float = 1.0, width: int = 320) -> bool:
    """Save a JPEG of the frame near `at_seconds`; False when no frame could be decoded."""
    import av

    try:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.time is not None and frame.time >= at_seconds:
                    break
            if chosen is None:
                return False
            image = chosen.to_image()
    except Exception:  # noqa: BLE001 - a thumbnail is a convenience, never a failure of the clip
        return False
    height = max(1, round(image.height * width / image.width))
    image = image.resize((width, height))
    try:
        with atomic_path(dest) as tmp:
            image.save(tmp, "JPEG", quality=82)
    except OSError:
        # A full or read-only disk must not fail a clip that is already saved (and paid for).
        return False
    return True
