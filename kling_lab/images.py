"""Start and end frames: safe inspection of uploaded image bytes.

A frame is checked once, when it arrives (upload in the app, a file on the CLI):
pillow reads only the header first, so a decompression bomb is refused before
any pixel is decoded; then the image is fully decoded inside a guard so a
corrupt or truncated file becomes a message, never an exception. The result is
a `FrameRef` (content hash plus the facts validation needs), which is what a
`GenerationRequest` carries; the bytes live in the media store under the hash.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_FRAME_BYTES = 10 * 1024 * 1024
MIN_FRAME_SIDE = 300
MAX_FRAME_PIXELS = 40_000_000
"""Larger than any real frame a host takes (8K is 33 MP); refused before decoding."""
MIN_ASPECT = 1 / 2.5
MAX_ASPECT = 2.5

ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg"}
"""Pillow's format name -> MIME. MPO is how pillow names the multi-picture JPEGs phone cameras write."""


@dataclass(frozen=True)
class FrameRef:
    """An image already checked and stored by content hash."""

    sha256: str
    mime: str
    width: int
    height: int
    size_bytes: int

    @property
    def extension(self) -> str:
        return "png" if self.mime == "image/png" else "jpg"

    def to_dict(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FrameRef:
        return cls(
            sha256=str(data["sha256"]),
            mime=str(data["mime"]),
            width=int(data["width"]),  # type: ignore[arg-type]
            height=int(data["height"]),  # type: ignore[arg-type]
            size_bytes=int(data["size_bytes"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class FrameInspection:
    """The outcome of inspecting an image: a ref when it decoded, and every problem found."""

    ref: FrameRef | None
    errors: tuple[str, ...]


def inspect_frame(data: bytes, what: str = "The start frame") -> FrameInspection:
    """Decode `data` safely and report every way it breaks the frame rules.

    Never raises for bad input. `what` names the frame in messages
    ("The start frame", "The end frame").
    """
    if not data:
        return FrameInspection(None, (f"{what} is an empty file.",))
    size = len(data)
    # Kept for the failure paths; a decoded frame gets it from frame_rule_errors.
    errors: list[str] = []
    if size > MAX_FRAME_BYTES:
        errors.append(f"{what} is {size / 1024 / 1024:.1f} MB; Kling 2.6 accepts images up to 10 MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                if fmt not in ACCEPTED_FORMATS:
                    shown = fmt or "an unknown format"
                    errors.append(f"{what} is {shown}, not JPG or PNG; save it as JPG or PNG.")
                    return FrameInspection(None, tuple(errors))
                if width * height > MAX_FRAME_PIXELS:
                    errors.append(
                        f"{what} is {width:,}×{height:,} pixels, too large to open safely "
                        f"(at most {MAX_FRAME_PIXELS // 1_000_000} megapixels)."
                    )
                    return FrameInspection(None, tuple(errors))
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        errors.append(
            f"{what} has too many pixels to open safely (at most {MAX_FRAME_PIXELS // 1_000_000} megapixels)."
        )
        return FrameInspection(None, tuple(errors))
    except UnidentifiedImageError:
        errors.append(f"{what} is not a JPG or PNG image (or the file is damaged): save it as JPG or PNG and "
                      "upload it again.")
        return FrameInspection(None, tuple(errors))
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
        errors.append(f"{what} is damaged or truncated and could not be decoded.")
        return FrameInspection(None, tuple(errors))
    ref = FrameRef(
        sha256=hashlib.sha256(data).hexdigest(),
        mime=ACCEPTED_FORMATS[fmt],
        width=width,
        height=height,
        size_bytes=size,
    )
    return FrameInspection(ref, tuple(frame_rule_errors(ref, what)))


def frame_rule_errors(ref: FrameRef, what: str) -> list[str]:
    """The Kling 2.6 size rules for an already-decoded frame."""
    errors: list[str] = []
    if ref.mime not in ACCEPTED_FORMATS.values():
        errors.append(f"{what} must be JPG or PNG.")
    if ref.size_bytes > MAX_FRAME_BYTES:
        errors.append(
            f"{what} is {ref.size_bytes / 1024 / 1024:.1f} MB; Kling 2.6 accepts images up to 10 MB."
        )
    if min(ref.width, ref.height) < MIN_FRAME_SIDE:
        errors.append(
            f"{what} is {ref.width}×{ref.height} pixels; each side must be at least {MIN_FRAME_SIDE} px."
        )
    aspect = ref.width / ref.height if ref.height else 0.0
    if not (MIN_ASPECT - 1e-9 <= aspect <= MAX_ASPECT + 1e-9):
        errors.append(
            f"{what} is {ref.width}×{ref.height} pixels (aspect {aspect:.2f}:1); "
            "Kling 2.6 takes aspects between 1:2.5 and 2.5:1."
        )
    return errors
