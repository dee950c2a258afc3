"""Flow-warping error with a forward/backward occlusion mask, lower is better.

For each pair (t, t+1) with forward flow F and backward flow B (analysis size, grayscale in [0, 1]):

    W(x)  = f_{t+1}(x + F(x))                       frame t+1 warped back onto frame t
    M(x)  = 1 if |F(x) + B(x + F(x))|² < 0.01·(|F(x)|² + |B(x + F(x))|²) + 0.5
              and x + F(x) lies inside the frame, else 0      (Sundaram et al. 2010)
    E_t   = Σ M(x)·|f_t(x) − W(x)| / Σ M(x)
    warping error = mean_t E_t

Pixels whose forward and backward flows disagree are occluded or newly visible, so they are not
penalised. Range [0, 1] in intensity units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.flow import FlowConfig, get_flows, pixel_grid, sample_at
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list


@dataclass
class WarpingResult(MeasureResult):
    """Warping error plus the mean share of pixels the occlusion mask excluded."""

    occluded_fraction: float = 0.0
    flow: str = ""


def warping_error(clip: ClipSource, flow: FlowConfig = FlowConfig()) -> WarpingResult:
    """Mean masked absolute warping residual per pair t → t+1 (needs forward and backward flow)."""
    import cv2

    prepared = prepare_clip(clip)
    flows = get_flows(prepared, flow, backward=True)
    frames = prepared.analysis_gray
    _, height, width = frames.shape
    grid = pixel_grid(height, width)
    errors, occluded = [], []
    for t in range(len(frames) - 1):
        fwd, bwd = flows.forward[t], flows.backward[t]
        bwd_at = sample_at(bwd, fwd, grid)
        mismatch = (fwd[..., 0] + bwd_at[..., 0]) ** 2 + (fwd[..., 1] + bwd_at[..., 1]) ** 2
        scale = fwd[..., 0] ** 2 + fwd[..., 1] ** 2 + bwd_at[..., 0] ** 2 + bwd_at[..., 1] ** 2
        tx, ty = grid[0] + fwd[..., 0], grid[1] + fwd[..., 1]
        inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
        mask = (mismatch < 0.01 * scale + 0.5) & inside
        warped = cv2.remap(frames[t + 1], tx, ty, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residual = cv2.absdiff(frames[t], warped)
        kept = int(mask.sum())
        errors.append(float(residual[mask].sum()) / (255.0 * kept) if kept else 0.0)
        occluded.append(1.0 - kept / mask.size)
    values = np.asarray(errors)
    return WarpingResult(
        **result_fields("warping_error"), value=float(values.mean()), low=0.0,
        high=1.0, per_frame=as_list(values), per_frame_index="pair t → t+1 for t = 0..T-2",
        note=f"{flow.label} flow, grayscale at {width}×{height}",
        occluded_fraction=float(np.mean(occluded)), flow=flow.label)
