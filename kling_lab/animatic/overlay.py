"""Text burned into the animatic: the permanent corner label, the shot title, and subtitles.

Each overlay is drawn once per render as a small RGBA image and blended onto
every frame it belongs to, so text costs almost nothing per frame. Text is
wrapped to the frame and truncated with an ellipsis: no prompt, however long,
can overflow.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_TEXT = "ANIMATIC · offline draft"
ELLIPSIS = "…"

_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path("/Library/Fonts"))
_FONT_FILES = {
    False: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf"),
    True: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf"),
}
# Pillow's bundled font covers ASCII and a little punctuation; anything else would print as boxes.
_BUNDLED_EXTRA = frozenset("·…“”‘’")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def _font_path(bold: bool) -> Path | None:
    for name in _FONT_FILES[bold]:
        for root in _FONT_DIRS:
            if root.is_dir():
                found = next(iter(sorted(root.rglob(name))), None)
                if found is not None:
                    return found
    return None


@functools.cache
def load_font(size: int, bold: bool = False, system_fonts: bool = True) -> tuple[Font, bool]:
    """A font of `size` px and whether it is Pillow's bundled one (ASCII-only).

    Prefers DejaVu or Liberation Sans when installed (wide character coverage),
    else Pillow's bundled font, so rendering works with no system fonts at all.
    """
    path = _font_path(bold) if system_fonts else None
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size), False
        except OSError:
            pass
    return ImageFont.load_default(size=size), True


def fit_charset(text: str, bundled: bool) -> str:
    """`text` as the font can print it: accents folded and unknown characters replaced for the bundled font."""
    if not bundled:
        return text
    out: list[str] = []
    for ch in text:
        if ch.isascii() or ch in _BUNDLED_EXTRA:
            out.append(ch)
            continue
        folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
        out.append(folded or ("-" if unicodedata.category(ch) == "Pd" else "?"))
    return "".join(out)


def _width(font: Font, text: str) -> float:
    return float(font.getlength(text))


def wrap_text(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most `max_lines` lines no wider than `max_width` px.

    A word wider than a line is broken between characters. When the text does
    not fit, the last line ends in an ellipsis; every returned line fits.
    """
    words = text.split()
    lines: list[str] = []
    current = ""
    index = 0
    while index < len(words):
        word = words[index]
        candidate = f"{current} {word}" if current else word
        if _width(font, candidate) <= max_width:
            current = candidate
            index += 1
            continue
        if current:
            lines.append(current)
            current = ""
        else:
            # A single word wider than the line: keep the part that fits, carry the rest.
            cut = _fit_prefix(font, word, max_width)
            lines.append(word[:cut])
            words[index] = word[cut:]
            if not words[index]:
                index += 1
        if len(lines) >= max_lines:
            break
    else:
        if current:
            lines.append(current)
        return lines[:max_lines]
    if index >= len(words):
        return lines
    lines[-1] = _with_ellipsis(font, lines[-1], max_width)
    return lines


def _fit_prefix(font: Font, word: str, max_width: float) -> int:
    # Binary search: a 2,500-character word must not cost 2,500 measurements.
    low, high = 1, len(word)
    while low < high:
        mid = (low + high + 1) // 2
        if _width(font, word[:mid]) <= max_width:
            low = mid
        else:
            high = mid - 1
    return low


def _with_ellipsis(font: Font, line: str, max_width: float) -> str:
    line = line.rstrip()
    while line and _width(font, line + ELLIPSIS) > max_width:
        line = line[:-1].rstrip()
    return line + ELLIPSIS


class Overlay:
    """An RGBA image and where its top-left corner goes on the frame, ready to blend onto planar frames."""

    def __init__(self, image: Image.Image, x: int, y: int) -> None:
        self.image = image
        self.x = x
        self.y = y
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        self.alpha = np.ascontiguousarray(rgba[:, :, 3])
        # Premultiplied, planar, on the 0..255 scale the frames use.
        self.premultiplied = np.ascontiguousarray((rgba[:, :, :3] * rgba[:, :, 3:4] * 255.0).transpose(2, 0, 1))
        self.keep = 1.0 - self.alpha

    def blend_into(self, planes: np.ndarray, opacity: float = 1.0) -> None:
        """Alpha-blend onto a planar RGB frame (3 × height × width, 0..255) in place, clipped to the frame.

        `opacity` below 1 fades the whole overlay (subtitle fade in and out).
        """
        if opacity <= 0.0:
            return
        _, height, width = planes.shape
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.x + self.alpha.shape[1]), min(height, self.y + self.alpha.shape[0])
        if x1 <= x0 or y1 <= y0:
            return
        sx, sy = x0 - self.x, y0 - self.y
        region = planes[:, y0:y1, x0:x1]
        cut = (slice(sy, sy + y1 - y0), slice(sx, sx + x1 - x0))
        if opacity >= 1.0:
            region *= self.keep[cut][None]
            region += self.premultiplied[:, cut[0], cut[1]]
        else:
            op = np.float32(opacity)
            region *= (1.0 - self.alpha[cut] * op)[None]
            region += self.premultiplied[:, cut[0], cut[1]] * op


def _scale(width: int, height: int) -> float:
    return min(width, height) / 360.0


def _draw_lines(
    draw: ImageDraw.ImageDraw, lines: Iterable[str], font: Font, x: float, y: float, line_height: float,
    *, centre_width: float | None = None, shadow: bool = False,
) -> None:
    for index, line in enumerate(lines):
        lx = x
        if centre_width is not None:
            lx = x + (centre_width - _width(font, line)) / 2
        ly = y + index * line_height
        if shadow:
            draw.text((lx + 1, ly + 1), line, font=font, fill=(0, 0, 0, 170))
        draw.text((lx, ly), line, font=font, fill=(255, 255, 255, 255))


def label_overlay(width: int, height: int, *, system_fonts: bool = True) -> Overlay:
    """The "ANIMATIC · offline draft" pill in the top-left corner, on every frame of every draft."""
    s = _scale(width, height)
    font, bundled = load_font(max(10, round(11 * s)), bold=True, system_fonts=system_fonts)
    text = fit_charset(LABEL_TEXT, bundled)
    pad_x, pad_y = round(6 * s), round(3 * s)
    left, top, right, bottom = font.getbbox(text)
    w, h = int(right - left) + 2 * pad_x, int(bottom - top) + 2 * pad_y
    image = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=round(4 * s), fill=(0, 0, 0, 165))
    draw.text((pad_x - left, pad_y - top), text, font=font, fill=(255, 255, 255, 235))
    margin = round(8 * s)
    return Overlay(image, margin, margin)


def title_overlay(text: str, width: int, height: int, top: int, *, system_fonts: bool = True) -> Overlay | None:
    """The shot description at the top of a mood card, on a soft dark fade so it reads on any sky.

    At most three lines (five in portrait); longer text ends in an ellipsis.
    None when the text is empty.
    """
    s = _scale(width, height)
    font, bundled = load_font(max(11, round(19 * s)), system_fonts=system_fonts)
    text = fit_charset(" ".join(text.split()), bundled)
    if not text:
        return None
    margin = round(10 * s)
    max_lines = 5 if height > width * 1.2 else 3
    lines = wrap_text(text, font, width - 2 * margin, max_lines)
    line_height = round(font.size * 1.25) if isinstance(font, ImageFont.FreeTypeFont) else 14
    band = top + len(lines) * line_height + round(16 * s)
    image = Image.new("RGBA", (width, band), (0, 0, 0, 0))
    # A vertical fade rather than a box: the title must not hide the sky the camera is moving over.
    fade = Image.linear_gradient("L").resize((1, band)).point(lambda v: int((255 - v) * 0.45))
    image.putalpha(fade.resize((width, band)))
    draw = ImageDraw.Draw(image)
    _draw_lines(draw, lines, font, margin, top, line_height, shadow=True)
    return Overlay(image, 0, 0)


def subtitle_overlay(text: str, width: int, height: int, *, system_fonts: bool = True) -> Overlay:
    """One subtitle: white text on a dark translucent box, centred in the bottom band, at most two lines."""
    s = _scale(width, height)
    font, bundled = load_font(max(11, round(20 * s)), system_fonts=system_fonts)
    text = fit_charset(text, bundled)
    max_text = width * 0.86
    lines = wrap_text(text, font, max_text, 2) or [""]
    line_height = round(font.size * 1.25) if isinstance(font, ImageFont.FreeTypeFont) else 14
    pad_x, pad_y = round(10 * s), round(6 * s)
    text_w = max(_width(font, line) for line in lines)
    box_w = int(text_w) + 2 * pad_x
    box_h = len(lines) * line_height + 2 * pad_y
    image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, box_w - 1, box_h - 1), radius=round(6 * s), fill=(0, 0, 0, 170))
    _draw_lines(draw, lines, font, pad_x, pad_y, line_height, centre_width=text_w)
    bottom_margin = round(height * 0.06)
    return Overlay(image, (width - box_w) // 2, height - bottom_margin - box_h)
