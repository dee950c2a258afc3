"""Fréchet Video Distance: the Fréchet distance between Gaussians fitted to two sets of clip features.

    FVD = ||μ_r − μ_g||² + Tr(Σ_r) + Tr(Σ_g) − 2 · Tr((Σ_r Σ_g)^{1/2})

μ and Σ are the mean and the (N−1)-normalised covariance of the N×D feature matrix. The trace of the
matrix square root is computed as Σ_i sqrt(λ_i) with λ_i the eigenvalues of the symmetric
positive semi-definite matrix Σ_r^{1/2} Σ_g Σ_r^{1/2}, which has the same eigenvalues as Σ_r Σ_g but
stays real and stable when a covariance is singular (fewer clips than dimensions). Range [0, ∞), lower
is better. FVD is biased upward for small sets; see KVD.
"""

from __future__ import annotations

import numpy as np

from core.errors import ValidationError
from core.metrics.distribution import DistanceResult, FeatureAccumulator


def mean_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and (N−1)-normalised covariance (D×D) of N×D features."""
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, cov1) and N(mu2, cov2); covariances symmetric PSD D×D."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != (mu1.size, mu1.size):
        raise ValidationError(f"Fréchet distance needs matching shapes, got means {mu1.shape}, {mu2.shape} "
                              f"and covariances {cov1.shape}, {cov2.shape}.")
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    eigen = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * np.sqrt(eigen).sum())
    return max(value, 0.0)  # rounding can leave −1e-12 for identical sets


class FVD(FeatureAccumulator):
    """Accumulating FVD: add reference and generated clips (or cached features), then `compute()`.

    The extractor is injected (``core.metrics.features.load_i3d`` or ``random_r3d``); the result is
    named after it, so a random-network FVD is never reported as I3D FVD.
    """

    measure = "FVD"

    def compute(self) -> DistanceResult:
        reference, generated = self.features("reference"), self.features("generated")
        value = frechet_distance(*mean_cov(reference), *mean_cov(generated))
        return DistanceResult(name=self.name, value=value, n_reference=len(reference), n_generated=len(generated),
                              feature_dim=reference.shape[1], extractor=self.extractor.identity if self.extractor else "",
                              warnings=self._warnings(reference, generated))
