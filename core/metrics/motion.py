"""Motion / dynamic degree: statistics of optical-flow magnitude, informational (neither direction).

Per pair t → t+1 (forward flow on the analysis copy, converted to source-resolution pixels):

    m_t   = mean flow magnitude, px/frame at the clip's own resolution
    top_t = mean of the largest 5 % of magnitudes, as a fraction of the frame width
    value = mean_t m_t; also max and 95th percentile of m_t
    dynamic degree = share of pairs with top_t > 1 % of the width (12.8 px at 1280 px)

Too little motion makes a clip a photograph (see the static-video detector); too much is a shake or
a chaotic scene (see TCS). The threshold follows the idea of VBench's dynamic degree (largest flows
per frame against a fixed threshold) with our own flow and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.flow import FlowConfig, get_flows, vector_magnitude
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list

TOP_SHARE = 0.05
DYNAMIC_THRESHOLD = 0.01  # fraction of the frame width per frame


@dataclass
class MotionResult(MeasureResult):
    """Mean flow magnitude plus its max, 95th percentile and the dynamic degree."""

    max: float = 0.0
    p95: float = 0.0
    dynamic_degree: float = 0.0
    flow: str = ""


def motion(clip: ClipSource, flow: FlowConfig = FlowConfig()) -> MotionResult:
    """Flow-magnitude statistics of a clip, in source pixels per frame."""
    prepared = prepare_clip(clip)
    forward = get_flows(prepared, flow).forward
    width = forward.shape[2]
    to_source = 1.0 / prepared.analysis_scale
    means, tops = [], []
    for pair in forward:
        magnitude = vector_magnitude(pair[..., 0], pair[..., 1]).ravel()
        means.append(float(magnitude.mean()) * to_source)
        count = max(1, int(round(TOP_SHARE * magnitude.size)))
        tops.append(float(np.partition(magnitude, magnitude.size - count)[-count:].mean()) / width)
    means_arr = np.asarray(means)
    return MotionResult(
        **result_fields("motion"), value=float(means_arr.mean()), low=0.0, high=None,
        per_frame=as_list(means_arr), per_frame_index="pair t → t+1 for t = 0..T-2",
        note=f"{flow.label} flow", max=float(means_arr.max()), p95=float(np.percentile(means_arr, 95)),
        dynamic_degree=float(np.mean(np.asarray(tops) > DYNAMIC_THRESHOLD)), flow=flow.label)
