"""The one result shape every per-clip measure returns, and JSON conversion helpers."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars/arrays, tuples, dataclasses; non-finite floats become None."""
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value) if f.repr}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def as_list(values: np.ndarray | None, digits: int = 6) -> list[float] | None:
    """Per-frame values as a rounded float list (JSON-friendly, stable to print)."""
    if values is None:
        return None
    return [round(float(v), digits) for v in np.asarray(values, dtype=np.float64)]


@dataclass
class MeasureResult:
    """A per-clip measure.

    Attributes:
        name: registry name of the measure.
        value: the clip-level number (None when it cannot be computed, with `note` saying why).
        unit: what the number counts.
        low, high: the range the value can take (None = unbounded).
        direction: HIGHER, LOWER or NEUTRAL.
        per_frame: per-frame values, or None where a per-frame value makes no sense.
        per_frame_index: what position i of `per_frame` refers to (a frame, a pair t→t+1, ...).
        note: extra information (working resolution, method, why a value is missing).
    """

    name: str
    value: float | None
    unit: str
    low: float | None
    high: float | None
    direction: str
    per_frame: list[float] | None = None
    per_frame_index: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)
