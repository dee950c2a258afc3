"""Sharpness: mean Sobel gradient magnitude per frame, higher is sharper.

    g_t = mean over pixels of sqrt(Sx² + Sy²)

with Sx, Sy the 3×3 Sobel responses of the grayscale frame in [0, 1] at the detail size (long side at
most 640 px; 640×360 for 720p). Units: Sobel response per pixel at that size; range [0, 4√2].
The value depends on content (a foggy road is legitimately softer than a sunny one) and on the
working size, so compare clips of one scenario or the per-frame curve of one clip; a drop of a few
frames against the clip's median is what the blur detector flags.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.flow import vector_magnitude
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list


def frame_sharpness(gray: np.ndarray) -> float:
    """Mean Sobel gradient magnitude of one grayscale uint8 frame, intensities scaled to [0, 1]."""
    import cv2

    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3, scale=1.0 / 255.0)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3, scale=1.0 / 255.0)
    return float(vector_magnitude(gx, gy).mean())


def sharpness(clip: ClipSource) -> MeasureResult:
    """Per-frame and mean Sobel sharpness of a clip."""
    prepared = prepare_clip(clip)
    frames = prepared.detail_gray
    values = np.array([frame_sharpness(frame) for frame in frames])
    return MeasureResult(
        **result_fields("sharpness"), value=float(values.mean()), low=0.0,
        high=4.0 * float(np.sqrt(2.0)), per_frame=as_list(values), per_frame_index="frame t",
        note=f"grayscale at {frames.shape[2]}×{frames.shape[1]}")
