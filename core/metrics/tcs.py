"""Temporal consistency score (TCS): optical-flow smoothness in [0, 1], higher is better.

Definition (flows on the 320-px analysis copy, see core.metrics.clip):

    F_t      forward flow from frame t to t+1, t = 0..T-2, in analysis pixels per frame
    A_t      = mean over pixels x of || F_t(x + F_{t-1}(x)) − F_{t-1}(x) ||₂ / w     (t = 1..T-2)
    s_t      = exp(−A_t / τ),  τ = 0.01
    TCS      = mean_t s_t

A_t is the Lagrangian flow acceleration: how much the motion of the point that sits at x in frame
t-1 changes between the pairs (t-1, t) and (t, t+1), as a fraction of the frame width w, so the
score does not depend on resolution. A steady pan or a constant-speed drive has A_t ≈ 0 and s_t ≈ 1;
a shake, a freeze inside a moving shot, a cut or a brightness flicker (which breaks the brightness
constancy every flow method here assumes) gives accelerations of one or more percent of the width
and s_t near 0. τ = 1 % of the width per frame² puts sub-pixel flow noise at s_t ≈ 0.95–0.99.
The exponential normalisation follows the reference pipeline; the reference flow is Dual TV-L1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.flow import FlowConfig, get_flows, pixel_grid, sample_at
from core.metrics.result import HIGHER, MeasureResult, as_list

TAU = 0.01  # fraction of the frame width per frame²


@dataclass
class TCSResult(MeasureResult):
    """TCS plus the raw accelerations A_t (fraction of width per frame²) and the flow method used."""

    accelerations: list[float] | None = None
    flow: str = ""
    tau: float = TAU


def flow_accelerations(forward: np.ndarray) -> np.ndarray:
    """A_t for t = 1..T-2 from forward flows (T-1)×h×w×2; returns (T-2,) float64."""
    import cv2

    _, height, width, _ = forward.shape
    grid = pixel_grid(height, width)
    out = np.empty(len(forward) - 1, dtype=np.float64)
    for t in range(1, len(forward)):
        prev = forward[t - 1]
        moved = sample_at(forward[t], prev, grid)  # F_t at x + F_{t-1}(x)
        delta = moved - prev
        out[t - 1] = float(cv2.magnitude(delta[..., 0], delta[..., 1]).mean()) / width
    return out


def temporal_consistency(clip: ClipSource, flow: FlowConfig = FlowConfig()) -> TCSResult:
    """TCS of a clip (uint8 T×H×W×3 array, path or PreparedClip) with the chosen flow method."""
    prepared = prepare_clip(clip)
    flows = get_flows(prepared, flow)
    acc = flow_accelerations(flows.forward)
    scores = np.exp(-acc / TAU)
    return TCSResult(
        name="tcs", value=float(scores.mean()), unit="score", low=0.0, high=1.0, direction=HIGHER,
        per_frame=as_list(scores), per_frame_index="frame t for t = 1..T-2 (flow change around frame t)",
        note=f"{flow.label} flow at {prepared.analysis_gray.shape[2]}×{prepared.analysis_gray.shape[1]}",
        accelerations=as_list(acc, 8), flow=flow.label)
