"""Colour-drift detector: first- vs last-frame mean colour differing by more than 0.15 (case-study rule).

δ_t = max over R, G, B of |mean colour of frame t − mean colour of frame 0|, in [0, 1]. The detector
fires when δ_{T-1} exceeds the threshold; it then flags the final run of frames whose δ_t exceeds
it, i.e. from the frame where the colour left the tolerance to the last frame. A colour excursion
that returns before the end (a flash) is not drift; the flicker detector covers jumps.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    drift = np.abs(prepared.mean_rgb - prepared.mean_rgb[0]).max(axis=1)
    limit = thresholds.colour_drift_max
    ranges: list[list[int]] = []
    if drift[-1] > limit:
        inside = np.flatnonzero(drift <= limit)
        ranges = [[int(inside[-1]) + 1, prepared.num_frames - 1]]
    return result("colour_drift", ranges, drift[-1], limit,
                  "first- vs last-frame mean colour, largest channel difference > threshold")
