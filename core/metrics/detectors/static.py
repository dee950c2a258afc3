"""Static-video detector: mean consecutive-frame difference below 0.01 (case-study rule).

The mean over all pairs of the full-resolution mean absolute difference d_t. When it fires, the whole
clip [0, T-1] is flagged: a clip that barely changes teaches a perception model no motion.
"""

from __future__ import annotations

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    mean_diff = float(prepared.pair_mad.mean())
    ranges = [[0, prepared.num_frames - 1]] if mean_diff < thresholds.static_max_mean_diff else []
    return result("static_video", ranges, mean_diff, thresholds.static_max_mean_diff,
                  "mean consecutive-frame mean absolute difference < threshold")
