"""Write a file so that readers see the old bytes or the new ones, never half of either.

Every file Kling Lab keeps (clips, thumbnails, exports, settings, price overrides,
render progress) is written to a temporary name beside its target and renamed into
place with `os.replace`, which is atomic on one filesystem. A failure part-way
removes the temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_path(path: Path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on a clean exit it replaces `path`, on an error it is removed.

    For writers that want a file name rather than a handle (zipfile, an encoder, `Image.save`).
    `suffix` keeps the extension some writers choose their format by (".jpg", ".mp4").
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created like any new file (the umask decides its mode, as for the file it replaces), with a
    # name no one else holds (O_EXCL).
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: Path, mode: str = "wb", *, fsync: bool = True, encoding: str | None = None) -> Iterator[IO]:
    """Yield an open temporary file beside `path`; on a clean exit it is flushed, synced and renamed over `path`."""
    if mode not in ("wb", "w"):
        raise ValueError("atomic_file writes a whole new file: mode is 'wb' or 'w'")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp:
        newline = "\n" if mode == "w" else None
        with open(tmp, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Replace `path` with `data` atomically."""
    with atomic_file(path, "wb", fsync=fsync) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str, *, fsync: bool = True, encoding: str = "utf-8") -> None:
    """Replace `path` with `text` atomically (newlines written as "\\n")."""
    with atomic_file(path, "w", fsync=fsync, encoding=encoding) as handle:
        handle.write(text)
