"""Abrupt-cut (scene change) detector.

Structure is compared on 32-px-wide grayscale thumbnails (blurred with σ = 1 px): c_t = 1 − NCC(thumb_t, thumb_{t+1}), where
NCC is the zero-mean normalised cross-correlation. Thumbnails that coarse barely change under motion,
camera shake or a brightness/contrast change (NCC ignores gain and offset), but two unrelated scenes
correlate near 0. A pair with c_t above the threshold whose neighbouring pairs are below it is a cut,
flagged as the first frame of the new scene, [t+1, t+1]. Several dissimilar pairs in a row are a
garbage stretch rather than a cut and are left to the flicker and TCS measures. A flat thumbnail
(a black frame) has no structure to correlate and counts as c_t = 0.

How it follows the frame rate: not at all, on purpose. A cut lies between two adjacent frames at any
rate, and the dissimilarity motion adds between adjacent thumbnails only shrinks as the rate rises,
so the 10 fps threshold and the adjacent pairs hold at every rate (comparing frames further apart
would blur which frame starts the new scene).
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.detectors.base import DetectorResult, result
from core.metrics.gates import DetectorThresholds


def dissimilarities(thumbs: np.ndarray) -> np.ndarray:
    """c_t = 1 − NCC of consecutive thumbnails, T×h×w float32 → (T-1,) float64 in [0, 2]."""
    flat = thumbs.reshape(len(thumbs), -1).astype(np.float64)
    centred = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    out = np.zeros(len(flat) - 1)
    for t in range(len(out)):
        denom = norms[t] * norms[t + 1]
        if denom > 1e-6:
            out[t] = 1.0 - float(centred[t] @ centred[t + 1]) / denom
    return out


def detect(clip: ClipSource, thresholds: DetectorThresholds = DetectorThresholds()) -> DetectorResult:
    prepared = prepare_clip(clip)
    values = dissimilarities(prepared.thumbs)
    above = values > thresholds.cut_min_dissimilarity
    ranges = [[int(t) + 1, int(t) + 1] for t in np.flatnonzero(above)
              if not (t > 0 and above[t - 1]) and not (t + 1 < len(above) and above[t + 1])]
    return result("abrupt_cut", ranges, values.max(), thresholds.cut_min_dissimilarity,
                  "1 − correlation of consecutive 32-px thumbnails > threshold, isolated pair")
