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


# --- high bit depth and odd pixel modes (issue 11, section 9) -------------------------------------

def _grey16(width=320, height=180) -> np.ndarray:
    """A 16-bit ramp almost entirely above 255: clipping it to 8 bits gives an all-white frame."""
    return np.tile(np.linspace(1000, 65000, width), (height, 1)).astype(np.uint16)


def _as_grey(frame) -> np.ndarray:
    rgb = np.asarray(frame.image).astype(np.int32)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    return rgb[..., 0]


def test_16_bit_greyscale_png_from_pillow_is_scaled_not_clipped():
    source = _grey16()
    image = PIL.Image.fromarray(source)
    assert image.mode == "I;16"
    grey = _as_grey(load_first_frame(_encode(image, "PNG")))
    assert grey.min() < 10 and grey.max() > 245  # the ramp survives; clipping made every pixel 255
    assert np.abs(grey - source / 257.0).max() <= 0.5 + 1e-9


def test_16_bit_greyscale_png_from_opencv_is_scaled():
    cv2 = pytest.importorskip("cv2")
    source = _grey16()
    ok, data = cv2.imencode(".png", source)
    assert ok
    grey = _as_grey(load_first_frame(data.tobytes()))
    assert np.abs(grey - source / 257.0).max() <= 0.5 + 1e-9


def test_32_bit_integer_mode_as_pillow_writes_it_reads_as_16_bit_grey():
    source = _grey16()
    with pytest.warns(DeprecationWarning):  # Pillow 12 warns that it will stop writing mode I as PNG
        data = _encode(PIL.Image.fromarray(source.astype(np.int32)), "PNG")
    grey = _as_grey(load_first_frame(data))
    assert np.abs(grey - source / 257.0).max() <= 0.5 + 1e-9


def test_16_bit_rgb_png_keeps_its_colours():
    cv2 = pytest.importorskip("cv2")
    rgb16 = np.zeros((180, 320, 3), np.uint16)
    rgb16[..., 0] = np.linspace(0, 65535, 320).astype(np.uint16)
    rgb16[..., 2] = 40000
    ok, data = cv2.imencode(".png", rgb16[..., ::-1].copy())  # OpenCV writes BGR
    assert ok
    got = np.asarray(load_first_frame(data.tobytes()).image).astype(np.int32)
    assert np.abs(got - rgb16 / 257.0).max() <= 1.0  # Pillow keeps the high byte: within one step


def test_a_conversion_that_changes_content_is_refused(monkeypatch):
    # Put back the original defect (Pillow's clipping convert) and the faithfulness check must catch it.
    import core.image_input as image_input
    monkeypatch.setattr(image_input, "_sixteen_bit_to_rgb", lambda image, name: image.convert("RGB"))
    with pytest.raises(ValidationError, match="without changing its content"):
        load_first_frame(_encode(PIL.Image.fromarray(_grey16()), "PNG"))


def test_integer_values_beyond_16_bits_refused():
    from core.image_input import to_rgb8
    image = PIL.Image.fromarray(np.full((100, 100), 70000, np.int32))
    with pytest.raises(ValidationError, match="outside 0..65535"):
        to_rgb8(image, "deep.png")


def test_float_mode_refused_with_one_sentence():
    from core.image_input import to_rgb8
    image = PIL.Image.fromarray(np.full((100, 100), 0.5, np.float32))
    assert image.mode == "F"
    with pytest.raises(OSError):  # Pillow cannot write F into any accepted format ...
        _encode(image, "PNG")
    with pytest.raises(ValidationError, match="pixel mode F"):  # ... and decoded F is refused, not guessed
        to_rgb8(image, "float.tif")
    with pytest.raises(ValidationError, match="not a PNG, JPEG or WebP file"):
        load_first_frame(_encode(image, "TIFF"))


def test_opaque_grey_alpha_accepted_and_transparent_refused():
    grey = np.tile(np.linspace(0, 255, 320), (180, 1)).astype(np.uint8)
    opaque = PIL.Image.fromarray(np.stack([grey, np.full_like(grey, 255)], -1), "LA")
    assert (_as_grey(load_first_frame(_encode(opaque, "PNG"))) == grey).all()
    alpha = np.full_like(grey, 255)
    alpha[:20] = 0
    holed = PIL.Image.fromarray(np.stack([grey, alpha], -1), "LA")
    with pytest.raises(ValidationError, match="transparent pixels"):
        load_first_frame(_encode(holed, "PNG"))


def test_palette_with_transparency():
    indices = np.tile(np.arange(320) % 4, (180, 1)).astype(np.uint8)
    image = PIL.Image.fromarray(indices, "P")
    colours = [(200, 10, 10), (10, 200, 10), (10, 10, 200), (90, 90, 90), (0, 0, 0)]
    image.putpalette([c for colour in colours for c in colour])
    loaded = np.asarray(load_first_frame(_encode(image, "PNG", transparency=4)).image)  # index 4 is unused
    assert (loaded == np.asarray(colours)[indices]).all()
    with pytest.raises(ValidationError, match="transparent pixels"):
        load_first_frame(_encode(image, "PNG", transparency=0))  # index 0 covers a quarter of the frame


def test_cmyk_jpeg_converted_to_matching_rgb():
    rgb = np.zeros((180, 320, 3), np.uint8)
    rgb[:, :160] = (200, 60, 30)
    rgb[:, 160:] = (20, 120, 220)
    data = _encode(PIL.Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    assert PIL.Image.open(io.BytesIO(data)).mode == "CMYK"
    got = np.asarray(load_first_frame(data).image).astype(np.int32)
    assert np.abs(got[20:-20, 20:140] - rgb[20:-20, 20:140]).mean() < 6  # JPEG loss only
    assert np.abs(got[20:-20, 180:-20] - rgb[20:-20, 180:-20]).mean() < 6
