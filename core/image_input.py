"""First-frame validation: content-sniffed format, EXIF orientation, bomb guard, size floor, RGB.

Every rejection is one sentence naming the problem. Nothing is written to disk here, so a rejected
input leaves no file behind.
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
        image = image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValidationError(f"image '{name}' is corrupt and could not be decoded ({exc}).") from None
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise ValidationError(f"image '{name}' is {width}x{height}; both sides must be at least {MIN_SIDE} pixels.")
    return FirstFrame(image, source_format, (width, height),
                      hashlib.sha256(data).hexdigest())


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
