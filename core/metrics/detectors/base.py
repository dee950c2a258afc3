"""The result every failure detector returns, and a helper to turn frame masks into ranges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.metrics.result import to_jsonable


@dataclass
class DetectorResult:
    """One failure detector's verdict on one clip.

    Attributes:
        name: detector name (temporal_flicker, static_video, colour_drift, freeze, abrupt_cut, blur).
        fired: True when at least one frame range is flagged.
        ranges: flagged frames as inclusive [start, end] pairs of 0-based frame indices.
        statistic: the clip-level number the rule looked at (e.g. the largest consecutive difference).
        threshold: the threshold from configs/gates.yaml.
        rule: the rule in words.
    """

    name: str
    fired: bool
    ranges: list[list[int]] = field(default_factory=list)
    statistic: float | None = None
    threshold: float = 0.0
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)


def mask_to_ranges(mask: np.ndarray, offset: int = 0) -> list[list[int]]:
    """Inclusive [start, end] ranges of the True runs of a 1-D mask, indices shifted by `offset`."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [[int(s) + offset, int(e) - 1 + offset] for s, e in zip(edges[::2], edges[1::2])]


def result(name: str, ranges: list[list[int]], statistic: float | None, threshold: float, rule: str) -> DetectorResult:
    return DetectorResult(name=name, fired=bool(ranges), ranges=ranges,
                          statistic=None if statistic is None else float(statistic),
                          threshold=float(threshold), rule=rule)
