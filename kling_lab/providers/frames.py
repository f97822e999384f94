"""Frames encoded for a JSON body: raw base64 or a `data:` URI."""

from __future__ import annotations

import base64


def frame_base64(data: bytes) -> str:
    """Raw base64 of the frame's bytes, without a `data:` prefix (the official Kling API's form)."""
    return base64.b64encode(data).decode("ascii")


def frame_data_uri(mime: str, data: bytes) -> str:
    """The frame as a `data:<mime>;base64,...` URI, the form most hosts accept inline."""
    return f"data:{mime};base64,{frame_base64(data)}"
