"""Freeze detector: a run of near-identical frames inside a moving clip.

Two frames are identical when their full-resolution mean absolute difference is at most
`freeze_max_diff` (0.005, 1.3 8-bit levels; H.264 re-encoding of a repeated frame stays below it).
The test is made on reference pairs, frames t and t + lag with lag = ``reference_lag(fps)`` ≈ 0.1 s
(adjacent frames at 10 fps, 3 apart at 25 and 30 fps): identical frames 0.1 s apart mean every frame
between them is frozen too. A run lasting at least `freeze_min_frames` frames *at 10 fps*, i.e.
``frames_at_rate(freeze_min_frames, fps)`` frames at the clip's rate (0.3 s), is flagged as
[first, last] of the run. A clip that the static-video rule calls static has no "moving" context, so
the freeze detector stays silent there and the static detector speaks instead.

Why not adjacent frames, or a threshold scaled by 10 / fps: 0.005 separates a repeated frame (noise,
which does not depend on the rate) from motion over 0.1 s. Slow motion at 25 fps moves so little
between adjacent frames (0.0015–0.003) that it looks frozen, and a threshold scaled to 0.002 would
call a re-encoded freeze (0.0025) moving. Over 0.1 s both keep their 10 fps values.

Above 10 fps a reference pair that straddles the start or end of a freeze can pass the test too
(frame a−1 against frozen frame a+lag−1 differs only by one frame's motion). Such edge frames, at
most lag − 1 on each side, stay in the run only when they are as close to their neighbour as the
frames that are certainly frozen; at 10 fps nothing is trimmed and the ranges are exactly as before.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, mask_to_ranges, result
from core.metrics.detectors.static import mean_reference_difference
from core.metrics.gates import DetectorThresholds
from core.metrics.timebase import frames_at_rate


def trim_edges(pair_mad: np.ndarray, first: int, last: int, lag: int) -> tuple[int, int]:
    """Frames [first, last] of a candidate run without the edge frames that move.

    Args:
        pair_mad: (T-1,) adjacent-frame differences in [0, 1].
        first, last: the frames joined by a run of passing reference pairs, s .. e + lag.
        lag: the reference lag. Frames [first + lag − 1, last − lag + 1] are certainly frozen
            (a pair reaching lag frames into motion fails), and only frames outside them are trimmed.
    """
    core_first, core_last = first + lag - 1, last - lag + 1
    if core_last <= core_first:
        return first, last  # no adjacent pair certainly inside the freeze to compare edges with
    floor = float(pair_mad[core_first:core_last].max())  # noise of a repeated frame in this clip
    while first < core_first and pair_mad[first] > floor:
        first += 1
    while last > core_last and pair_mad[last - 1] > floor:
        last -= 1
    return first, last


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    lag = prepared.reference_lag
    min_frames = frames_at_rate(thresholds.freeze_min_frames, prepared.fps)
    ranges: list[list[int]] = []
    longest = 0
    if mean_reference_difference(prepared) >= thresholds.static_max_mean_diff:
        for start, end in mask_to_ranges(prepared.reference_mad <= thresholds.freeze_max_diff):
            first, last = trim_edges(prepared.pair_mad, start, end + lag, lag)
            frames = last - first + 1
            longest = max(longest, frames)
            if frames < min_frames:
                continue
            if ranges and first <= ranges[-1][1] + 1:  # two runs that meet are one freeze
                ranges[-1][1] = max(ranges[-1][1], last)
            else:
                ranges.append([first, last])
    return result("freeze", ranges, longest, min_frames,
                  f"run of ≥ threshold frames whose frames {lag} apart (≈ 0.1 s) differ by "
                  f"≤ {thresholds.freeze_max_diff:g}, in a moving clip")
