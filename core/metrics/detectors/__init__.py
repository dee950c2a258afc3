"""Failure detectors. Each reports inclusive frame ranges; thresholds come from configs/gates.yaml."""

from __future__ import annotations

import importlib

from core.metrics.detectors.base import DetectorResult, mask_to_ranges

# Detector name -> module with `detect(clip, thresholds)`. Imported lazily.
DETECTORS = {
    "temporal_flicker": "core.metrics.detectors.flicker",
    "static_video": "core.metrics.detectors.static",
    "colour_drift": "core.metrics.detectors.drift",
    "freeze": "core.metrics.detectors.freeze",
    "abrupt_cut": "core.metrics.detectors.cut",
    "blur": "core.metrics.detectors.blur",
}


def get_detector(name: str):
    """The `detect` function of detector `name`."""
    from core.errors import ValidationError

    if name not in DETECTORS:
        raise ValidationError(f"unknown detector '{name}'; known detectors: {', '.join(DETECTORS)}.")
    return importlib.import_module(DETECTORS[name]).detect


__all__ = ["DETECTORS", "DetectorResult", "get_detector", "mask_to_ranges"]
