"""A take's last frame as PNG bytes: the start frame of the next shot ("continue from this take")."""

from __future__ import annotations

import io
from pathlib import Path


def last_frame_png(clip_path: Path | str) -> bytes:
    """Decode `clip_path` to its last video frame (PyAV) and return it as PNG bytes.

    ValueError with a sentence when the file is missing, is not a video, or has no decodable frame.
    """
    import av

    path = Path(clip_path)
    if not path.is_file():
        raise ValueError(f"The clip {path.name} is not on disk.")
    last = None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"The clip {path.name} has no video picture.")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                last = frame
            if last is None:
                raise ValueError(f"The clip {path.name} has no frame that can be decoded.")
            image = last.to_image()
    except av.error.FFmpegError as exc:
        raise ValueError(f"The clip {path.name} could not be read as a video ({exc.strerror or exc}).") from exc
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
