"""First-frame fidelity: PSNR and SSIM of frame 0 against the conditioning image.

An image-to-video model should start from the image it was given. The image is first resized to the
clip's frame size (area interpolation when shrinking, bicubic when enlarging; the aspect ratio is not
preserved, because a pipeline that changed it has already distorted the frame). Then, on RGB in [0, 1]:

    PSNR = 10 · log10(1 / MSE)  dB (higher is better; capped at 100 dB for identical images)
    SSIM = SSIM of the grayscale images at full resolution (see core.metrics.ssim), higher is better
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ValidationError
from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult
from core.metrics.ssim import ssim

PSNR_CAP_DB = 100.0


@dataclass
class FidelityResult(MeasureResult):
    """`value` is the PSNR in dB; `ssim` the structural similarity; `resized_from` the image's own size."""

    ssim: float = 0.0
    resized_from: tuple[int, int] = (0, 0)


def load_image(image: np.ndarray | str | Path) -> np.ndarray:
    """A conditioning image as uint8 H×W×3 RGB, from an array or an image file (PNG, JPEG or WebP).

    Files go through core.image_input.load_first_frame, the guarded loader the studio uses for uploads.
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValidationError(f"image must be a uint8 array H×W×3, got {image.dtype} {tuple(image.shape)}.")
        return image
    if not isinstance(image, (str, Path)):
        raise ValidationError(f"image must be a uint8 array H×W×3 or an image path, got {type(image).__name__}.")
    path = Path(image)
    if not path.is_file():
        raise ValidationError(f"image '{path}' does not exist or is not a file.")
    from core.image_input import load_first_frame  # the one guarded loader: content-sniffed, bomb guard, RGB

    try:
        frame = load_first_frame(path)
    except ValidationError as exc:
        # one sentence: the loader's reason, after the refusal this measure has always given
        raise ValidationError(f"image '{path}' could not be read; use a PNG or JPEG file ({str(exc).rstrip('.')}).") from None
    return np.asarray(frame.image)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of equal shape, pixel values scaled to [0, 1]."""
    import cv2

    mse = cv2.norm(a, b, cv2.NORM_L2SQR) / (a.size * 255.0 ** 2)
    return PSNR_CAP_DB if mse <= 10 ** (-PSNR_CAP_DB / 10) else float(10.0 * np.log10(1.0 / mse))


def first_frame_fidelity(clip: ClipSource, image: np.ndarray | str | Path) -> FidelityResult:
    """PSNR (value, dB) and SSIM of the clip's frame 0 against `image` resized to the clip size."""
    import cv2

    prepared = prepare_clip(clip)
    picture = load_image(image)
    frame = prepared.first_frame
    height, width = frame.shape[:2]
    source_size = (picture.shape[1], picture.shape[0])
    if source_size != (width, height):
        shrinking = picture.shape[1] * picture.shape[0] > width * height
        picture = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    structural = ssim(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) / 255.0, cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY) / 255.0)
    return FidelityResult(
        **result_fields("first_frame_fidelity"), value=psnr(frame, picture), low=0.0, high=PSNR_CAP_DB,
        note=f"image {source_size[0]}×{source_size[1]} resized to {width}×{height}",
        ssim=structural, resized_from=source_size)
