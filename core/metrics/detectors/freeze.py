"""Freeze detector: a run of near-identical frames inside a moving clip.

Consecutive frames are identical when their full-resolution mean absolute difference d_t is at most
`freeze_max_diff` (0.005, 1.3 8-bit levels; H.264 re-encoding of a repeated frame stays below it). A run of at least `freeze_min_frames` identical frames
is flagged as [first, last] of the run. A clip that the static-video rule calls static has no
"moving" context, so the freeze detector stays silent there and the static detector speaks instead.
"""

from __future__ import annotations

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, mask_to_ranges, result
from core.metrics.gates import DetectorThresholds


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    diffs = prepared.pair_mad
    ranges: list[list[int]] = []
    longest = 0
    if diffs.mean() >= thresholds.static_max_mean_diff:
        for start, end in mask_to_ranges(diffs <= thresholds.freeze_max_diff):
            frames = end - start + 2  # pairs start..end join frames start..end+1
            longest = max(longest, frames)
            if frames >= thresholds.freeze_min_frames:
                ranges.append([start, end + 1])
    return result("freeze", ranges, longest, thresholds.freeze_min_frames,
                  f"run of ≥ threshold frames with consecutive difference ≤ {thresholds.freeze_max_diff:g} in a moving clip")
