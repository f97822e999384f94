"""Frame inspection on real image bytes made with pillow: every bad file becomes a message, never an exception."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import time
import zlib

import pytest
from PIL import Image, ImageFile, features

from kling_lab.images import MAX_FRAME_BYTES, FrameRef, frame_rule_errors, inspect_frame


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def png(width: int = 640, height: int = 360, color: str = "orange") -> bytes:
    return encode(Image.new("RGB", (width, height), color), "PNG")


def jpeg(width: int = 640, height: int = 360) -> bytes:
    return encode(Image.new("RGB", (width, height), "teal"), "JPEG", quality=85)


def noisy_png(width: int, height: int) -> bytes:
    """Random pixels stored without compression: the file is about width*height*3 bytes."""
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return encode(image, "PNG", compress_level=0)


def png_claiming_size(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR is patched to claim `width`x`height` (with a correct CRC): a cheap bomb."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


# ----------------------------------------------------------------------------- valid frames


def test_valid_png_gives_a_ref_with_its_facts_and_no_errors():
    data = png(640, 360)
    result = inspect_frame(data)
    assert result.errors == ()
    assert result.ref == FrameRef(hashlib.sha256(data).hexdigest(), "image/png", 640, 360, len(data))


def test_valid_jpeg_gives_a_jpeg_ref():
    data = jpeg(800, 600)
    result = inspect_frame(data, "The end frame")
    assert result.errors == ()
    assert result.ref is not None
    assert (result.ref.mime, result.ref.width, result.ref.height) == ("image/jpeg", 800, 600)
    assert result.ref.extension == "jpg"


def test_sha256_of_a_valid_frame_is_the_hash_of_its_bytes():
    data = png(300, 300, "navy")
    result = inspect_frame(data)
    assert result.ref is not None
    assert result.ref.sha256 == hashlib.sha256(data).hexdigest()
    assert len(result.ref.sha256) == 64


def test_different_images_get_different_hashes():
    a, b = inspect_frame(png(color="red")).ref, inspect_frame(png(color="blue")).ref
    assert a is not None and b is not None and a.sha256 != b.sha256


def test_png_with_alpha_and_grayscale_jpeg_are_accepted():
    rgba = encode(Image.new("RGBA", (400, 400), (10, 20, 30, 128)), "PNG")
    gray = encode(Image.new("L", (400, 400), 100), "JPEG")
    assert inspect_frame(rgba).errors == () and inspect_frame(rgba).ref.mime == "image/png"
    assert inspect_frame(gray).errors == () and inspect_frame(gray).ref.mime == "image/jpeg"


def test_multi_picture_jpeg_from_a_phone_camera_is_accepted_as_jpeg():
    first = Image.new("RGB", (640, 480), "red")
    data = encode(first, "MPO", save_all=True, append_images=[Image.new("RGB", (640, 480), "blue")])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result = inspect_frame(data)
    assert result.errors == ()
    assert result.ref is not None and result.ref.mime == "image/jpeg"


def test_ref_round_trips_through_a_dict():
    ref = inspect_frame(png()).ref
    assert ref is not None
    assert FrameRef.from_dict(ref.to_dict()) == ref


# ----------------------------------------------------------------------------- broken or wrong files


def test_empty_file_gives_a_message():
    result = inspect_frame(b"")
    assert result.ref is None
    assert result.errors == ("The start frame is an empty file.",)


@pytest.mark.parametrize("data", [b"not an image at all", b"\x00" * 64, os.urandom(2048), b"\x89PNG\r\n\x1a\n"],
                         ids=["text", "zeros", "random", "png-signature-only"])
def test_corrupt_bytes_give_a_message(data):
    result = inspect_frame(data)
    assert result.ref is None
    assert len(result.errors) == 1
    assert "The start frame" in result.errors[0]


def test_truncated_png_gives_a_damaged_message():
    data = noisy_png(400, 400)
    result = inspect_frame(data[: len(data) // 2])
    assert result.ref is None
    assert result.errors == ("The start frame is damaged or truncated and could not be decoded.",)


def test_truncated_jpeg_gives_a_damaged_message():
    data = encode(Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)), "JPEG")
    result = inspect_frame(data[: len(data) // 3])
    assert result.ref is None
    assert "damaged or truncated" in result.errors[0]


def test_png_with_a_corrupted_data_chunk_gives_a_message():
    data = bytearray(noisy_png(320, 320))
    data[200:260] = b"\xff" * 60
    result = inspect_frame(bytes(data))
    assert result.ref is None
    assert len(result.errors) == 1


def test_gif_renamed_png_is_refused_by_its_real_format():
    data = encode(Image.new("P", (400, 400)), "GIF")
    result = inspect_frame(data)
    assert result.ref is None
    assert result.errors == ("The start frame is GIF, not JPG or PNG; save it as JPG or PNG.",)


@pytest.mark.skipif(not features.check("webp"), reason="pillow built without WebP")
def test_webp_is_refused_as_not_jpg_or_png():
    result = inspect_frame(encode(Image.new("RGB", (400, 400)), "WEBP"))
    assert result.ref is None
    assert "WEBP" in result.errors[0] and "not JPG or PNG" in result.errors[0]


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_other_pillow_formats_are_refused(fmt):
    result = inspect_frame(encode(Image.new("RGB", (400, 400)), fmt))
    assert result.ref is None
    assert f"is {fmt}, not JPG or PNG" in result.errors[0]


def test_svg_text_renamed_png_gives_a_message():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"></svg>'
    result = inspect_frame(svg, "The end frame")
    assert result.ref is None
    assert result.errors == ("The end frame is not a JPG or PNG image (or the file is damaged): save it as JPG or "
                             "PNG and upload it again.",)


# ----------------------------------------------------------------------------- size rules


def test_one_pixel_frame_is_decoded_and_refused_for_its_size():
    result = inspect_frame(png(1, 1))
    assert result.ref is not None and (result.ref.width, result.ref.height) == (1, 1)
    assert result.errors == ("The start frame is 1×1 pixels; each side must be at least 300 px.",)


@pytest.mark.parametrize(("width", "height"), [(299, 400), (400, 299), (299, 299)])
def test_frame_with_a_side_of_299_px_is_refused(width, height):
    result = inspect_frame(png(width, height))
    assert result.ref is not None
    assert result.errors == (f"The start frame is {width}×{height} pixels; each side must be at least 300 px.",)


def test_frame_of_exactly_300_px_passes():
    assert inspect_frame(png(300, 300)).errors == ()


def test_too_wide_frame_of_aspect_3_to_1_is_refused():
    result = inspect_frame(png(900, 300))
    assert result.ref is not None
    assert len(result.errors) == 1
    assert "aspect 3.00:1" in result.errors[0] and "1:2.5 and 2.5:1" in result.errors[0]


@pytest.mark.parametrize(("width", "height", "ok"), [(750, 300, True), (751, 300, False), (300, 750, True),
                                                     (300, 751, False)])
def test_aspect_boundaries_of_decoded_frames(width, height, ok):
    assert (inspect_frame(png(width, height)).errors == ()) is ok


def test_noisy_png_over_10_mb_is_decoded_and_refused_for_its_size():
    data = noisy_png(2000, 1900)
    assert len(data) > MAX_FRAME_BYTES
    result = inspect_frame(data)
    assert result.ref is not None and result.ref.size_bytes == len(data)
    assert len(result.errors) == 1
    assert f"{len(data) / 1024 / 1024:.1f} MB" in result.errors[0] and "up to 10 MB" in result.errors[0]


def test_frame_rules_refuse_a_ref_of_11_mb():
    ref = FrameRef("0" * 64, "image/jpeg", 1920, 1080, 11 * 1024 * 1024)
    assert frame_rule_errors(ref, "The start frame") == [
        "The start frame is 11.0 MB; Kling 2.6 accepts images up to 10 MB."
    ]


def test_frame_rules_accept_a_ref_of_exactly_10_mb():
    assert frame_rule_errors(FrameRef("0" * 64, "image/png", 1920, 1080, MAX_FRAME_BYTES), "x") == []


def test_frame_rules_report_every_problem_of_a_ref_at_once():
    ref = FrameRef("0" * 64, "image/gif", 100, 1000, MAX_FRAME_BYTES + 1)
    errors = frame_rule_errors(ref, "The end frame")
    assert len(errors) == 4
    assert all(e.startswith("The end frame") for e in errors)


def test_frame_rules_survive_a_zero_height_ref():
    errors = frame_rule_errors(FrameRef("0" * 64, "image/png", 500, 0, 10), "The start frame")
    assert len(errors) == 2


# ----------------------------------------------------------------------------- decompression bombs


def test_png_header_claiming_20000_by_20000_is_refused_without_decoding(monkeypatch):
    data = png_claiming_size(20_000, 20_000)
    assert len(data) < 200

    def no_decoding(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise AssertionError("the bomb's pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    result = inspect_frame(data)
    assert result.ref is None
    assert len(result.errors) == 1
    assert "too many pixels to open safely" in result.errors[0]


def test_png_in_pillows_bomb_warning_zone_is_refused_as_too_large():
    result = inspect_frame(png_claiming_size(10_000, 10_000))  # 100 MP: pillow warns, we refuse
    assert result.ref is None
    assert "too many pixels" in result.errors[0]


def test_png_over_40_megapixels_is_refused_before_decoding():
    result = inspect_frame(png_claiming_size(7_000, 7_000))
    assert result.ref is None
    assert result.errors == (
        "The start frame is 7,000×7,000 pixels, too large to open safely (at most 40 megapixels).",
    )


def test_real_bilevel_bomb_png_is_refused_fast():
    data = encode(Image.new("1", (20_000, 20_000)), "PNG")
    started = time.perf_counter()
    result = inspect_frame(data)
    assert time.perf_counter() - started < 1.0
    assert result.ref is None and len(result.errors) == 1


def test_inspection_leaves_pillows_global_limits_alone():
    before = Image.MAX_IMAGE_PIXELS
    inspect_frame(png_claiming_size(20_000, 20_000))
    assert before == Image.MAX_IMAGE_PIXELS
