"""Shared accumulator for set measures (FVD, KVD): reference and generated features, sizes, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from core.errors import ValidationError
from core.metrics import get_metric, list_metrics
from core.metrics.clip import ClipSource
from core.metrics.features import FeatureExtractor, extract_features
from core.metrics.measures import MEASURES


@dataclass
class DistanceResult:
    """A distance between two feature sets.

    Attributes:
        name: reported name, e.g. "FVD (I3D)" or "KVD-R3D-random (not I3D)".
        value: the distance (lower is better; 0 for identical distributions).
        n_reference, n_generated: sample sizes; feature_dim: D.
        warnings: e.g. a set smaller than D (rank-deficient covariance, biased FVD).
    """

    name: str
    value: float
    n_reference: int
    n_generated: int
    feature_dim: int
    extractor: str
    direction: str = MEASURES["fvd"].direction  # FVD and KVD share it
    warnings: list[str] = field(default_factory=list)


class FeatureAccumulator:
    """Collects reference and generated features, from cached arrays or from clips via an injected extractor."""

    measure = "distance"

    def __init__(self, extractor: FeatureExtractor | None = None, name: str | None = None) -> None:
        self.extractor = extractor
        self.name = name or (extractor.name if extractor else self.measure)
        self._sets: dict[str, list[np.ndarray]] = {"reference": [], "generated": []}

    def _add(self, which: str, features: np.ndarray | None, clips: Iterable[ClipSource] | None) -> None:
        if (features is None) == (clips is None):
            raise ValidationError(f"give either features or clips for the {which} set, not both or neither.")
        if clips is not None:
            if self.extractor is None:
                raise ValidationError(f"{self.measure} needs a feature extractor to encode clips; pass extractor=.")
            features = extract_features(clips, self.extractor)
        array = np.asarray(features, dtype=np.float64)
        if array.ndim != 2 or array.shape[0] == 0:
            raise ValidationError(f"{which} features must be a non-empty N×D array, got shape {array.shape}.")
        if not np.all(np.isfinite(array)):
            raise ValidationError(f"{which} features contain NaN or infinite values.")
        current = self._sets[which]
        dims = {a.shape[1] for a in current + list(self._sets["reference" if which == "generated" else "generated"])}
        if dims and array.shape[1] not in dims:
            raise ValidationError(f"{which} features have {array.shape[1]} dimensions, the other features {dims.pop()}.")
        current.append(array)

    def update_reference(self, features: np.ndarray | None = None, clips: Iterable[ClipSource] | None = None) -> None:
        """Add reference (real) clips, or their cached features (N×D)."""
        self._add("reference", features, clips)

    def update_generated(self, features: np.ndarray | None = None, clips: Iterable[ClipSource] | None = None) -> None:
        """Add generated clips, or their features (N×D)."""
        self._add("generated", features, clips)

    def features(self, which: str) -> np.ndarray:
        """All features of one set so far, N×D (refuses an empty or too small set)."""
        parts = self._sets[which]
        total = sum(len(p) for p in parts)
        if total < 2:
            raise ValidationError(f"{self.measure} needs at least 2 {which} clips, got {total}.")
        return np.concatenate(parts)

    def _warnings(self, reference: np.ndarray, generated: np.ndarray) -> list[str]:
        dim = reference.shape[1]
        notes = []
        for which, array in (("reference", reference), ("generated", generated)):
            if len(array) < dim:
                notes.append(f"the {which} set has {len(array)} clips, fewer than the {dim} feature dimensions: "
                             f"FVD is biased upward at this size; KVD is the number to trust.")
        return notes


def set_distances(reference: np.ndarray, generated: np.ndarray,
                  extractor: FeatureExtractor | None = None) -> dict[str, DistanceResult]:
    """Every set measure of the registry (FVD, KVD), keyed by registry name, between two N×D feature sets.

    `extractor` only names the results (features are given); each set needs at least 2 clips.
    """
    out: dict[str, DistanceResult] = {}
    for info in list_metrics():
        if info.kind == "set":
            measure = get_metric(info.key)(extractor)
            measure.update_reference(features=reference)
            measure.update_generated(features=generated)
            out[info.key] = measure.compute()
    return out
