"""Static-video detector: mean frame difference below 0.01 (case-study rule), frames 0.1 s apart.

The statistic is the mean over all reference pairs of the full-resolution mean absolute difference
D_t of frames t and t + lag, lag = ``core.metrics.timebase.reference_lag(fps)`` ≈ 0.1 s (the
previous frame at 10 fps, so the case study's rule holds there unchanged). When it fires, the whole
clip [0, T-1] is flagged: a clip that barely changes teaches a perception model no motion.

Why frames 0.1 s apart rather than adjacent ones: the rule asks whether the *content* moves, and the
difference of moving content grows with the time between the frames. At 30 fps adjacent frames are
a third as far apart as at 10 fps, so a clip that clearly moves would fall under 0.01 there; a
threshold scaled by 10 / fps instead would sink below the codec noise of a truly still clip at high
rates. Frames a fixed time apart keep both where the threshold was calibrated.
"""

from __future__ import annotations

from core.metrics.clip import ClipSource, PreparedClip, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds


def mean_reference_difference(prepared: PreparedClip) -> float:
    """Mean of D_t over the clip's reference pairs (frames ≈ 0.1 s apart), in [0, 1].

    The one statistic behind "the clip is static"; the freeze detector asks it too.
    """
    return float(prepared.reference_mad.mean())


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    mean_diff = mean_reference_difference(prepared)
    ranges = [[0, prepared.num_frames - 1]] if mean_diff < thresholds.static_max_mean_diff else []
    return result("static_video", ranges, mean_diff, thresholds.static_max_mean_diff,
                  f"mean absolute difference of frames {prepared.reference_lag} apart (≈ 0.1 s) < threshold")
