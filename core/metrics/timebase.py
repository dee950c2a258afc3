"""The one rule by which frame counts and frame-pair comparisons follow a clip's frame rate.

Every detector threshold in configs/gates.yaml was calibrated on the case study's 10 fps dashcam clips
(``REFERENCE_FPS``). A count of frames stated there therefore means a *duration*: n frames at 10 fps
last n / 10 s. At another rate the same duration holds ``frames_at_rate(n, fps)`` frames.

Why durations and not thresholds: the difference of two frames of moving content grows with the time
between them (halve the interval, halve the displacement, roughly halve the mean absolute difference),
but the noise of a *repeated* frame (sensor grain, H.264 re-encoding, up to 0.0025) does not depend on
the rate at all. Scaling a difference threshold by 10 / fps would keep moving content above it but push
the noise floor over it (at 30 fps 0.005 becomes 0.0017, below the 0.0025 of a re-encoded freeze).
Comparing frames a fixed time apart instead, ``reference_lag(fps)`` frames ≈ 1 / 10 s, gives moving
content the same displacement it has between adjacent 10 fps frames and leaves the noise floor where
it was, so one difference threshold holds at every rate.

Below the reference rate a frame already lasts longer than 1 / 10 s, so counts are never reduced
below their reference value: two frames can be a frame-rate-conversion duplicate at any rate, and a
flicker episode needs at least the frame away and the frame back. At 10 fps every count and lag is
exactly the calibrated one.
"""

from __future__ import annotations

import math

REFERENCE_FPS = 10.0  # the rate every detector threshold in configs/gates.yaml was calibrated at


def frames_at_rate(reference_frames: int, fps: float) -> int:
    """Frames that last as long at `fps` as `reference_frames` do at 10 fps; never fewer than at 10 fps.

    Args:
        reference_frames: a count of frames at the 10 fps reference (≥ 1).
        fps: the clip's frame rate, frames per second (> 0).
    Returns:
        max(reference_frames, round(reference_frames × fps / 10)), halves rounded up.
    """
    # 1e-9 keeps 29.97 fps × 0.1 and 25 × 0.1 from falling just below a half by float error.
    scaled = math.floor(reference_frames * fps / REFERENCE_FPS + 0.5 + 1e-9)
    return max(int(reference_frames), int(scaled))


def reference_lag(fps: float) -> int:
    """Frame offset ≈ 1 / 10 s at `fps` (1 at and below 10 fps, 3 at 25 and 30 fps).

    Differences of frames this far apart are what the per-pair thresholds were calibrated on.
    """
    return frames_at_rate(1, fps)
