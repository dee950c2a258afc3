"""Colour-drift detector: first- vs last-frame mean colour differing by more than 0.15 (case-study rule).

δ_t = max over R, G, B of |mean colour of frame t − mean colour of frame b|, in [0, 1], where the
baseline frame b is 0 by default. The detector fires when δ_{T-1} exceeds the threshold; it then
flags the final run of frames whose δ_t exceeds it, i.e. from the frame where the colour left the
tolerance to the last frame. A colour excursion that returns before the end (a flash) is not drift;
the flicker detector covers jumps.

A requested condition change (a clear-day first frame asked to become a dust storm) changes the mean
colour on purpose. Callers that know the clip asks for one pass `baseline_frame` = the frame by which
the new condition has established (fps × `condition_change_seconds` from gates.yaml), so that only
drift *after* the intended change counts. The rule text records which baseline was used.

The rule compares two frames whatever lies between them, so it is independent of the frame rate;
the baseline is already given in seconds.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds

PLAIN_RULE = "first- vs last-frame mean colour, largest channel difference > threshold"


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds(),
           baseline_frame: int = 0) -> DetectorResult:
    """Args: baseline_frame: frame index the last frame is compared with (clamped to the clip)."""
    prepared = prepare_clip(clip)
    base = min(max(0, int(baseline_frame)), prepared.num_frames - 1)
    drift = np.abs(prepared.mean_rgb - prepared.mean_rgb[base]).max(axis=1)
    limit = thresholds.colour_drift_max
    ranges: list[list[int]] = []
    if drift[-1] > limit:
        inside = np.flatnonzero(drift[base:] <= limit) + base
        ranges = [[int(inside[-1]) + 1, prepared.num_frames - 1]]
    rule = PLAIN_RULE if base == 0 else (
        f"frame {base} (after the requested condition change has established) vs last-frame mean colour, "
        "largest channel difference > threshold")
    return result("colour_drift", ranges, drift[-1], limit, rule)
