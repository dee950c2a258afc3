"""Temporal flicker detector: consecutive-frame mean absolute difference above 0.4 (case-study rule).

d_t is the mean absolute difference of frames t and t+1 over all pixels and channels, in [0, 1], at
full resolution. Every pair with d_t above the threshold is a jump. A jump followed by another within
`flicker_max_frames` frames at 10 fps, i.e. ``frames_at_rate(flicker_max_frames, fps)`` frames at the
clip's rate (0.4 s), is one episode (the picture jumped away and came back): frames [t1+1, t2] are
flagged, i.e. exactly the frames that differ from their surroundings. A jump with no return inside
that window flags the single frame it lands on, [t+1, t+1].

How it follows the frame rate: the jump threshold stays 0.4 on *adjacent* frames at every rate. A
flash or exposure jump is a change from one frame to the next, as large at 30 fps as at 10 fps, while
motion contributes less to d_t the higher the rate (and far less than 0.4 at any rate), so neither
comparing frames further apart nor scaling 0.4 would be right: both would blur where the jump is.
The episode window is a duration (an exposure pulse lasts so many seconds, not so many frames), so
it scales with the rate.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds
from core.metrics.timebase import frames_at_rate


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    diffs = prepared.pair_mad
    jumps = [int(t) for t in np.flatnonzero(diffs > thresholds.flicker_max_consecutive_diff)]
    window = frames_at_rate(thresholds.flicker_max_frames, prepared.fps)
    ranges: list[list[int]] = []
    i = 0
    while i < len(jumps):
        if i + 1 < len(jumps) and jumps[i + 1] - jumps[i] <= window:
            ranges.append([jumps[i] + 1, jumps[i + 1]])
            i += 2
        else:
            ranges.append([jumps[i] + 1, jumps[i] + 1])
            i += 1
    return result("temporal_flicker", ranges, diffs.max(), thresholds.flicker_max_consecutive_diff,
                  "max consecutive-frame mean absolute difference > threshold")
