"""Temporal coherence: mean cosine similarity of consecutive flattened frames (the case study's measure).

    c_t = <f_t, f_{t+1}> / (||f_t|| ||f_{t+1}||),  f_t = frame t flattened (H·W·3 values in [0, 1])
    coherence = mean_t c_t

Computed at full resolution directly on the uint8 frames (cv2.norm in double precision), so no float
copy of the clip exists. Range [0, 1] for images (all values ≥ 0), higher is better.
"""

from __future__ import annotations

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list


def temporal_coherence(clip: ClipSource) -> MeasureResult:
    """Mean cosine similarity of consecutive frames; per-pair values c_t for t = 0..T-2."""
    prepared = prepare_clip(clip)
    values = prepared.pair_cosine
    return MeasureResult(
        **result_fields("temporal_coherence"), value=float(np.mean(values)), low=0.0, high=1.0,
        per_frame=as_list(values), per_frame_index="pair t → t+1 for t = 0..T-2",
        note="full resolution, RGB in [0, 1]")
