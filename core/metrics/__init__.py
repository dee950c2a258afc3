"""Video-quality measures, found by name. Importing this package loads nothing heavy.

Per-clip measures are pure functions ``fn(clip, ...) -> MeasureResult`` (a dataclass) where `clip` is a
uint8 T×H×W×3 array, a video path or a PreparedClip; set measures (FVD, KVD) are accumulating classes.
See docs/METRICS.md for every definition, range and direction.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.errors import ValidationError
from core.metrics.measures import MEASURES, Measure


def list_metrics() -> list[Measure]:
    """All registered measures (core.metrics.measures), in card order."""
    return list(MEASURES.values())


def get_metric(name: str) -> Any:
    """The function (per-clip measure) or class (set measure) registered under `name`."""
    info = MEASURES.get(name)
    if info is None:
        raise ValidationError(f"unknown metric '{name}'; known metrics: {', '.join(MEASURES)}.")
    module_name, attribute = info.target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


__all__ = ["Measure", "get_metric", "list_metrics"]
