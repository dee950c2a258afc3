"""Comparing nested results (dicts, lists, numbers, None) with a float tolerance.

`pytest.approx` over a dict raises TypeError from pytest 9.2 on when a value is None (a measure that is
unavailable, say), so results that can hold None are compared with this walk instead.
"""

from __future__ import annotations

import pytest


def assert_same_numbers(x, y, path: str = "value", rel: float = 1e-6, abs_tol: float = 1e-12) -> None:
    """Equal structure, text, None and integers; floats equal to `rel` relative (or `abs_tol` absolute).

    OpenCV's SIMD cv2.magnitude rounds the last float32 bit differently depending on buffer alignment,
    so a few measures can move by ~1e-8 relative between runs of the same clip (see docs/AUDIT.md,
    Reproducibility)."""
    if isinstance(x, dict) and isinstance(y, dict):
        assert set(x) == set(y), path
        for key in x:
            assert_same_numbers(x[key], y[key], f"{path}.{key}", rel, abs_tol)
    elif isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        assert len(x) == len(y), path
        for i, (a, b) in enumerate(zip(x, y)):
            assert_same_numbers(a, b, f"{path}[{i}]", rel, abs_tol)
    elif isinstance(x, float) or isinstance(y, float):
        assert isinstance(x, (int, float)) and isinstance(y, (int, float)), path
        assert x == pytest.approx(y, rel=rel, abs=abs_tol), path
    else:
        assert x == y, path
