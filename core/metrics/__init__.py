"""Video-quality measures, found by name. Importing this package loads nothing heavy.

Per-clip measures are pure functions ``fn(clip, ...) -> MeasureResult`` (a dataclass) where `clip` is a
uint8 T×H×W×3 array, a video path or a PreparedClip; set measures (FVD, KVD) are accumulating classes.
See docs/METRICS.md for every definition, range and direction.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError


@dataclass(frozen=True)
class MetricInfo:
    """Registry entry: `target` is 'module:attribute'; kind is 'clip' (function) or 'set' (class)."""

    name: str
    kind: str
    target: str
    direction: str
    summary: str


_METRICS = [
    MetricInfo("tcs", "clip", "core.metrics.tcs:temporal_consistency", "higher is better",
               "temporal consistency score: optical-flow smoothness in [0, 1]"),
    MetricInfo("temporal_coherence", "clip", "core.metrics.coherence:temporal_coherence", "higher is better",
               "mean cosine similarity of consecutive frames"),
    MetricInfo("adjacent_ssim", "clip", "core.metrics.ssim:adjacent_ssim", "higher is better",
               "mean SSIM of consecutive frames"),
    MetricInfo("warping_error", "clip", "core.metrics.warping:warping_error", "lower is better",
               "flow-warping error with forward/backward occlusion mask"),
    MetricInfo("flicker_index", "clip", "core.metrics.flicker:flicker_index", "lower is better",
               "share of temporal-spectrum energy above the cut-off frequency"),
    MetricInfo("sharpness", "clip", "core.metrics.sharpness:sharpness", "higher is better",
               "mean Sobel gradient magnitude per frame"),
    MetricInfo("motion", "clip", "core.metrics.motion:motion", "neither (informational)",
               "optical-flow magnitude statistics and dynamic degree"),
    MetricInfo("first_frame_fidelity", "clip", "core.metrics.fidelity:first_frame_fidelity", "higher is better",
               "PSNR and SSIM of frame 0 against the conditioning image"),
    MetricInfo("clip_score", "clip", "core.metrics.clip_score:clip_score", "higher is better",
               "CLIP text-frame cosine similarity (needs local CLIP weights)"),
    MetricInfo("fvd", "set", "core.metrics.fvd:FVD", "lower is better",
               "Fréchet distance between clip-feature distributions"),
    MetricInfo("kvd", "set", "core.metrics.kvd:KVD", "lower is better",
               "unbiased polynomial-kernel MMD² between clip-feature distributions"),
]
_BY_NAME = {info.name: info for info in _METRICS}


def list_metrics() -> list[MetricInfo]:
    """All registered measures, in card order."""
    return list(_METRICS)


def get_metric(name: str) -> Any:
    """The function (per-clip measure) or class (set measure) registered under `name`."""
    info = _BY_NAME.get(name)
    if info is None:
        raise ValidationError(f"unknown metric '{name}'; known metrics: {', '.join(_BY_NAME)}.")
    module_name, attribute = info.target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


__all__ = ["MetricInfo", "get_metric", "list_metrics"]
