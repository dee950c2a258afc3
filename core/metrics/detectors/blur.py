"""Blur detector: frames much softer than the rest of the clip.

A frame is flagged when its Sobel sharpness (core.metrics.sharpness, detail size) is below
`blur_max_ratio` × the clip's median sharpness; runs of such frames are reported as ranges. Judging
against the clip's own median keeps the rule independent of content (fog is soft everywhere), so it
finds blurred stretches shorter than half the clip and says nothing about a clip that is blurred
throughout. It compares no frame pairs, so it is independent of the frame rate.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, mask_to_ranges, result
from core.metrics.gates import DetectorThresholds


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds(),
           per_frame_sharpness: list[float] | None = None) -> DetectorResult:
    """`per_frame_sharpness` may be passed from an already computed sharpness result to avoid recomputing."""
    prepared = prepare_clip(clip)
    if per_frame_sharpness is None:
        from core.metrics.sharpness import sharpness

        per_frame_sharpness = sharpness(prepared).per_frame
    values = np.asarray(per_frame_sharpness, dtype=np.float64)
    median = float(np.median(values))
    ratios = values / median if median > 0 else np.ones_like(values)
    ranges = mask_to_ranges(ratios < thresholds.blur_max_ratio)
    return result("blur", ranges, ratios.min(), thresholds.blur_max_ratio,
                  "frame sharpness / clip median sharpness < threshold")
