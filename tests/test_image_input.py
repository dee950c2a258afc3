import io

import numpy as np
import PIL.Image
import pytest

from core.errors import ValidationError
from core.image_input import MAX_PIXELS, fit_to_size, load_first_frame


def _encode(image: PIL.Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _gradient(width=320, height=180, mode="RGB"):
    array = np.zeros((height, width, 3), np.uint8)
    array[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)
    return PIL.Image.fromarray(array).convert(mode)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_by_content(tmp_path, fmt):
    path = tmp_path / "frame.bin"  # the extension is deliberately wrong: content decides
    path.write_bytes(_encode(_gradient(), fmt))
    frame = load_first_frame(path)
    assert frame.source_format == fmt
    assert frame.image.mode == "RGB"
    assert frame.original_size == (320, 180)
    assert len(frame.sha256) == 64


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_rejected_even_with_png_extension(tmp_path, fmt):
    path = tmp_path / "frame.png"
    path.write_bytes(_encode(_gradient(), fmt))
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP file"):
        load_first_frame(path)


def test_non_image_bytes_rejected():
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP file"):
        load_first_frame(b"#!/bin/sh\necho hi\n")


def test_truncated_png_rejected():
    data = _encode(_gradient(), "PNG")
    with pytest.raises(ValidationError, match="corrupt"):
        load_first_frame(data[: len(data) // 2])


def test_empty_rejected():
    with pytest.raises(ValidationError, match="empty"):
        load_first_frame(b"")


def test_missing_file_rejected(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        load_first_frame(tmp_path / "nope.png")


def test_decompression_bomb_rejected_before_decoding():
    # A PNG whose header declares a huge canvas: 1-bit mode keeps the file itself tiny.
    side = int(MAX_PIXELS ** 0.5) + 100
    data = _encode(PIL.Image.new("1", (side, side)), "PNG", optimize=True)
    assert len(data) < 2_000_000
    with pytest.raises(ValidationError, match="decompression bomb"):
        load_first_frame(data)


def test_too_small_rejected():
    with pytest.raises(ValidationError, match="at least 64 pixels"):
        load_first_frame(_encode(_gradient(60, 40), "PNG"))


def test_exif_orientation_applied():
    image = _gradient(320, 180)
    exif = PIL.Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    frame = load_first_frame(_encode(image, "JPEG", exif=exif.tobytes()))
    assert frame.original_size == (180, 320)


def test_rgba_and_grayscale_become_rgb():
    assert load_first_frame(_encode(_gradient(mode="RGBA"), "PNG")).image.mode == "RGB"
    assert load_first_frame(_encode(_gradient(mode="L"), "PNG")).image.mode == "RGB"


def test_array_input_validated():
    with pytest.raises(ValidationError, match="uint8"):
        load_first_frame(np.zeros((100, 100, 3), np.float32))
    assert load_first_frame(np.zeros((100, 200, 3), np.uint8)).original_size == (200, 100)


def test_fit_to_size_crops_centre_then_resizes_and_reports():
    image = PIL.Image.fromarray(np.zeros((480, 640, 3), np.uint8))  # 4:3
    fitted, adjustments = fit_to_size(image, 256, 144)
    assert fitted.size == (256, 144)
    assert [a.reason.split()[0] for a in adjustments] == ["centre-cropped", "resized"]
    assert adjustments[0].used == "640x360"


def test_fit_to_size_no_change_no_adjustment():
    image = PIL.Image.fromarray(np.zeros((144, 256, 3), np.uint8))
    fitted, adjustments = fit_to_size(image, 256, 144)
    assert adjustments == [] and fitted.size == (256, 144)
