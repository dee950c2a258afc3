"""Kernel Video Distance: unbiased MMD² with the cubic polynomial kernel (as KID does for images).

    k(x, y) = (x·y / D + 1)³
    KVD = 1/(m(m−1)) Σ_{i≠j} k(r_i, r_j) + 1/(n(n−1)) Σ_{i≠j} k(g_i, g_j) − 2/(mn) Σ_{i,j} k(r_i, g_j)

for m reference and n generated feature vectors of dimension D. The estimator is unbiased, so unlike
FVD its expectation does not depend on the sample size: it is the number to trust for small sets. It
can be slightly negative when the two distributions are equal. Lower is better. Sets larger than
`max_full` are scored as the mean over `subsets` random subsets of `subset_size` (fixed seed).
"""

from __future__ import annotations

import numpy as np

from core.errors import ValidationError
from core.metrics.distribution import DistanceResult, FeatureAccumulator


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x_i, y_j) for all pairs: (N×D, M×D) → N×M."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(reference: np.ndarray, generated: np.ndarray) -> float:
    """Unbiased MMD² with the cubic polynomial kernel between two N×D feature sets (each N ≥ 2)."""
    reference = np.asarray(reference, dtype=np.float64)
    generated = np.asarray(generated, dtype=np.float64)
    m, n = len(reference), len(generated)
    if m < 2 or n < 2:
        raise ValidationError(f"KVD needs at least 2 clips in each set, got {m} and {n}.")
    k_rr = polynomial_kernel(reference, reference)
    k_gg = polynomial_kernel(generated, generated)
    k_rg = polynomial_kernel(reference, generated)
    term_r = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
    term_g = (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1))
    return float(term_r + term_g - 2.0 * k_rg.mean())


def kernel_distance(reference: np.ndarray, generated: np.ndarray, max_full: int = 2000, subset_size: int = 1000,
                    subsets: int = 50, seed: int = 0) -> float:
    """KVD of two feature sets; exact up to `max_full` clips per set, subset-averaged above."""
    if max(len(reference), len(generated)) <= max_full:
        return mmd2_unbiased(reference, generated)
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(reference), len(generated))
    values = [mmd2_unbiased(reference[rng.choice(len(reference), size, replace=False)],
                            generated[rng.choice(len(generated), size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values))


class KVD(FeatureAccumulator):
    """Accumulating KVD on the same features as FVD (same injected extractor, same caches)."""

    measure = "KVD"

    def __init__(self, extractor=None, name: str | None = None) -> None:
        super().__init__(extractor, name or (extractor.name.replace("FVD", "KVD", 1) if extractor else "KVD"))

    def compute(self) -> DistanceResult:
        reference, generated = self.features("reference"), self.features("generated")
        return DistanceResult(name=self.name, value=kernel_distance(reference, generated),
                              n_reference=len(reference), n_generated=len(generated),
                              feature_dim=reference.shape[1], extractor=self.extractor.identity if self.extractor else "",
                              warnings=[w.replace("FVD is biased upward at this size; KVD is the number to trust.",
                                                  "KVD stays unbiased, but its variance is high at this size.")
                                        for w in self._warnings(reference, generated)])
