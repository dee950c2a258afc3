"""First-frame validation: content-sniffed format, EXIF orientation, bomb guard, size floor, RGB.

Every rejection is one sentence naming the problem. Nothing is written to disk here, so a rejected
input leaves no file behind.

Conversion to 8-bit RGB is explicit per pixel mode, and every converted frame is checked against an
independent reading of the source pixels (`_source_reference`): a conversion that changed the content
(Pillow's `convert("RGB")` clips 16-bit greyscale to all white) is refused, never passed on. Frames with
transparent pixels are refused too: what lies under a transparent pixel is whatever the encoder left
there, so dropping the alpha channel would show content nobody saw.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL.Image
import PIL.ImageOps

from core.errors import ValidationError
from core.request import Adjustment

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # a 4K PNG dashcam still is ~15 MB; more is not a frame
MAX_PIXELS = 50_000_000  # decompression-bomb guard: 8K is 33 MP; refuse before decoding pixels
MIN_SIDE = 64  # below this there is nothing to condition a video on
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # PNG 16-bit greyscale, as Pillow decodes it
_ALPHA_MODES = ("RGBA", "LA")
_DIRECT_MODES = ("1", "L", "P", "RGB", "CMYK")  # Pillow's 8-bit conversions; checked all the same
# Rounding to 8 bits moves a value by at most half a step; anything more means the content changed.
_CONVERSION_TOLERANCE = 0.5 / 255 + 1e-6
_CHECK_ROWS = 256  # the check reads the frame in bands of rows, so a 50 MP frame needs no GB of floats


@dataclass(frozen=True)
class FirstFrame:
    """A validated first frame: RGB image, what it was, and the SHA-256 of the bytes received."""

    image: PIL.Image.Image
    source_format: str
    original_size: tuple[int, int]  # (width, height) in pixels, after EXIF rotation
    sha256: str


def _open_bytes(data: bytes, name: str) -> FirstFrame:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(f"image '{name}' is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    if not data:
        raise ValidationError(f"image '{name}' is empty.")
    try:
        # `formats` restricts PIL to these decoders, so the format is decided by content, not the name.
        image = PIL.Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except PIL.Image.UnidentifiedImageError:
        raise ValidationError(f"image '{name}' is not a PNG, JPEG or WebP file (checked by content).") from None
    except PIL.Image.DecompressionBombError:
        raise ValidationError(f"image '{name}' declares too many pixels (decompression bomb guard).") from None
    source_format = str(image.format)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ValidationError(f"image '{name}' is {width}x{height}, over the {MAX_PIXELS // 1_000_000} MP limit "
                              "(decompression bomb guard).")
    try:
        image = PIL.ImageOps.exif_transpose(image)
        image.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"image '{name}' is corrupt and could not be decoded ({exc}).") from None
    image = to_rgb8(image, name)
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise ValidationError(f"image '{name}' is {width}x{height}; both sides must be at least {MIN_SIDE} pixels.")
    return FirstFrame(image, source_format, (width, height),
                      hashlib.sha256(data).hexdigest())


def _sixteen_bit_to_rgb(image: PIL.Image.Image, name: str) -> PIL.Image.Image:
    """Scale 16-bit greyscale to 8 bits by value (v / 257, rounded), not by clipping at 255."""
    values = np.asarray(image).astype(np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise ValidationError(f"image '{name}' holds {image.mode}-mode values outside 0..65535, so its "
                              "brightness scale is unknown; save it as 8- or 16-bit greyscale or RGB.")
    grey = ((values * 255 + 32767) // 65535).astype(np.uint8)
    return PIL.Image.fromarray(np.repeat(grey[..., None], 3, axis=2))


def _opaque_to_rgb(image: PIL.Image.Image, name: str) -> PIL.Image.Image:
    """Drop an alpha channel only when every pixel is opaque; otherwise the frame would change."""
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba)[..., 3]
    if (alpha < 255).any():
        share = float((alpha < 255).mean())
        raise ValidationError(f"image '{name}' has transparent pixels ({share:.0%} of the frame); a first frame "
                              "must be opaque, so flatten it onto a background first.")
    return rgba.convert("RGB")


def _source_reference(mode: str, pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Source pixels as floats in [0, 1], rows×W×1 (grey) or rows×W×3, read without Pillow's convert."""
    if mode in _SIXTEEN_BIT_MODES:
        return pixels.astype(np.float32)[..., None] / 65535.0
    if mode == "1":
        return pixels.astype(np.float32)[..., None]
    if mode == "P":
        return palette[pixels]
    array = pixels.astype(np.float32) / 255.0
    if mode == "CMYK":  # the textbook conversion: each ink and black both absorb
        return (1.0 - array[..., :3]) * (1.0 - array[..., 3:4])
    if mode in ("L", "LA"):
        return array[..., :1] if array.ndim == 3 else array[..., None]
    return array[..., :3]


def _check_faithful(image: PIL.Image.Image, converted: PIL.Image.Image, name: str) -> None:
    """Refuse a conversion that moved any pixel by more than 8-bit rounding, in bands to bound memory."""
    source, result = np.asarray(image), np.asarray(converted)
    palette = np.zeros((256, 3), np.float32)  # entries a short palette lacks read as black, as Pillow reads them
    if image.mode == "P":
        entries = np.asarray(image.getpalette("RGB") or [], np.float32).reshape(-1, 3)[:256]
        palette[: len(entries)] = entries / 255.0
    for top in range(0, source.shape[0], _CHECK_ROWS):
        reference = _source_reference(image.mode, source[top:top + _CHECK_ROWS], palette)
        band = result[top:top + _CHECK_ROWS].astype(np.float32) / 255.0
        if band.shape[:2] != reference.shape[:2] or np.abs(band - reference).max() > _CONVERSION_TOLERANCE:
            raise ValidationError(f"image '{name}' ({image.mode} mode) did not convert to 8-bit RGB without "
                                  "changing its content; save it as 8-bit RGB and try again.")


def to_rgb8(image: PIL.Image.Image, name: str = "upload") -> PIL.Image.Image:
    """Convert a decoded frame to 8-bit RGB faithfully, or raise one sentence saying why not."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        converted = _sixteen_bit_to_rgb(image, name)
    elif mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info):
        converted = _opaque_to_rgb(image, name)
    elif mode in _DIRECT_MODES:
        converted = image.convert("RGB")
    else:
        raise ValidationError(f"image '{name}' has pixel mode {mode}, which cannot be converted to 8-bit RGB "
                              "without guessing its scale; save it as 8- or 16-bit greyscale or RGB.")
    _check_faithful(image, converted, name)
    return converted


def load_first_frame(source: Path | str | bytes | np.ndarray) -> FirstFrame:
    """Validate a first frame given as a file path, raw bytes, or a uint8 H×W×3 RGB array."""
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
            raise ValidationError(f"image array must be uint8 H×W×3 RGB, got {source.dtype} {source.shape}.")
        if min(source.shape[:2]) < MIN_SIDE:
            raise ValidationError(f"image is {source.shape[1]}x{source.shape[0]}; both sides must be at least {MIN_SIDE} pixels.")
        return FirstFrame(PIL.Image.fromarray(source), "array", (source.shape[1], source.shape[0]),
                          hashlib.sha256(np.ascontiguousarray(source).tobytes()).hexdigest())
    if isinstance(source, bytes):
        return _open_bytes(source, "upload")
    path = Path(source)
    if not path.is_file():
        raise ValidationError(f"image '{path}' does not exist or is not a file.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"image '{path.name}' is {path.stat().st_size / 1e6:.1f} MB; "
                              f"the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    return _open_bytes(path.read_bytes(), path.name)


def fit_to_size(image: PIL.Image.Image, width: int, height: int) -> tuple[PIL.Image.Image, list[Adjustment]]:
    """Centre-crop to the target aspect ratio, then resize (Lanczos) to width×height pixels.

    Cropping rather than squeezing keeps road geometry undistorted; both steps are reported.
    """
    source_w, source_h = image.size
    adjustments: list[Adjustment] = []
    target_aspect = width / height
    if abs(source_w / source_h - target_aspect) > 1e-3:
        if source_w / source_h > target_aspect:
            crop_w, crop_h = round(source_h * target_aspect), source_h
        else:
            crop_w, crop_h = source_w, round(source_w / target_aspect)
        left, top = (source_w - crop_w) // 2, (source_h - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h))
        adjustments.append(Adjustment("image", f"{source_w}x{source_h}", f"{crop_w}x{crop_h}",
                                      f"centre-cropped to the model's {width}:{height} aspect"))
    if image.size != (width, height):
        adjustments.append(Adjustment("image", f"{image.size[0]}x{image.size[1]}", f"{width}x{height}",
                                      "resized to the model's frame size"))
        image = image.resize((width, height), PIL.Image.Resampling.LANCZOS)
    return image, adjustments
