"""Ken Burns over a start frame: the virtual camera moves over the image, crossfading to the end frame.

A single image has no depth, so every move becomes a magnification and a
shift of one plane. The plane sits nearer than the orbit pivot so an orbit
still slides the picture sideways instead of standing still.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from kling_lab.animatic.camera import Pose

OVERSCAN = 1.4
"""The source is prepared this much larger than the output: room to pan without running off the edge."""
REST_ZOOM = 1.18
"""At rest the camera already sees only the middle of the prepared source, so a pan has somewhere to go."""
PLANE_DEPTH = 3.0
CROSSFADE_START = 0.55
"""Fraction of the clip after which the start frame dissolves into the end frame."""
MAX_SOURCE_PIXELS = 60_000_000


class FrameDecodeError(ValueError):
    """A start or end frame could not be decoded; the message is a sentence for the user."""


def decode_frame(data: bytes, what: str) -> Image.Image:
    """The image in `data` as RGB, upright per its EXIF orientation; FrameDecodeError if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise FrameDecodeError(f"{what} is too large to animate ({image.width}×{image.height} pixels).")
            # JPEG can decode at a fraction of full size for free: no need for 8K pixels in a 640 px draft.
            image.draft("RGB", (1600, 1600))
            image = ImageOps.exif_transpose(image)
            return image.convert("RGB")
    except FrameDecodeError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FrameDecodeError(f"{what} could not be decoded as an image; upload it again.") from exc


def cover_fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` scaled to cover width×height exactly, centred, cropping the overflow."""
    return ImageOps.fit(image, (width, height), Image.LANCZOS, centering=(0.5, 0.5))


class KenBurns:
    """Paints frames that move the camera over a start frame and dissolve into an optional end frame."""

    def __init__(self, width: int, height: int, focal: float, start: Image.Image, end: Image.Image | None) -> None:
        self.width = width
        self.height = height
        self.focal = focal
        size = (round(width * OVERSCAN), round(height * OVERSCAN))
        self.start = cover_fit(start, *size)
        self.end = cover_fit(end, *size) if end is not None else None
        self.source_w, self.source_h = size

    def box(self, pose: Pose) -> tuple[float, float, float, float]:
        """The source rectangle the camera sees at `pose`, kept inside the source."""
        distance = max(PLANE_DEPTH - pose.z, 0.05)
        magnify = REST_ZOOM * pose.zoom * PLANE_DEPTH / distance
        box_w, box_h = self.source_w / magnify, self.source_h / magnify
        # Source pixels per output pixel at this magnification.
        per_px = box_w / self.width
        f = self.focal * pose.zoom
        shift_x = -pose.x * f / distance - pose.pan * f
        shift_y = pose.y * f / distance + pose.tilt * f
        cx = self.source_w / 2 - shift_x * per_px
        cy = self.source_h / 2 - shift_y * per_px
        cx = min(max(cx, box_w / 2), self.source_w - box_w / 2)
        cy = min(max(cy, box_h / 2), self.source_h - box_h / 2)
        return (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)

    def frame(self, u: float, pose: Pose) -> Image.Image:
        """The RGB frame at normalised time `u` (0..1) seen from `pose`."""
        box = self.box(pose)
        out = self.start.resize((self.width, self.height), Image.BILINEAR, box=box)
        if self.end is not None and u > CROSSFADE_START:
            k = (u - CROSSFADE_START) / (1.0 - CROSSFADE_START)
            k = k * k * (3 - 2 * k)
            other = self.end.resize((self.width, self.height), Image.BILINEAR, box=box)
            out = Image.blend(out, other, min(1.0, k))
        return out
