"""Statistics of an audit: means with percentile-bootstrap intervals, Wilson intervals for shares, gaps.

Method (documented in docs/AUDIT.md):

* **Mean of a measure** over the n clips of a condition, with a *percentile bootstrap* interval:
  draw B = 2000 resamples of n clips with replacement (index matrix ``rng.integers(0, n, (B, n))``),
  take each resample's mean, and report the 2.5 % and 97.5 % quantiles (numpy's default linear
  interpolation) of those B means. The generator is ``np.random.default_rng(seed)`` with a seed
  derived from the plan's base seed and the condition and measure names (`derive_seed`), so the same
  plan gives the same interval, and adding a condition does not move another condition's interval.
* **A difference of two means** (the quality gap, a comparison of two audits): the two samples are
  independent, so each is resampled on its own from one generator (first `a`, then `b`) and the
  interval is the percentile interval of the B differences mean(b*) − mean(a*).
* **A share of clips** (rejection rate, clips flagged by a detector): the Wilson score interval,
  which, unlike a bootstrap, does not collapse to [0, 0] when no clip in a small sample was flagged.

With n = 1 the interval is the single value (and `Interval.n` says so); with n = 0 there is no estimate.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


@dataclass
class Interval:
    """A point estimate with its confidence interval.

    Attributes:
        value: the estimate (a mean, a share, or a difference), in the measure's unit.
        low, high: the interval bounds, same unit (equal to `value` when n = 1).
        n: the sample size behind it (for a difference, the smaller of the two samples).
        method: "bootstrap-percentile", "wilson" or "single value".
    """

    value: float
    low: float
    high: float
    n: int
    method: str

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero (a difference that is 'real')."""
        return self.low > 0.0 or self.high < 0.0

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from a BLAKE2b digest of `parts` (stable across processes, unlike hash())."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _clean(values: Sequence[float | None]) -> np.ndarray:
    """float64 array of the finite values (None, NaN and inf are dropped: a measure that could not be computed)."""
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    return array[np.isfinite(array)]


def _quantiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def bootstrap_mean(values: Sequence[float | None], seed: int, resamples: int = DEFAULT_RESAMPLES,
                   confidence: float = DEFAULT_CONFIDENCE) -> Interval | None:
    """Mean of `values` with its percentile-bootstrap interval; None when there is no finite value."""
    x = _clean(values)
    if x.size == 0:
        return None
    mean = float(x.mean())
    if x.size == 1:
        return Interval(mean, mean, mean, 1, "single value")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = _quantiles(means, confidence)
    return Interval(mean, low, high, int(x.size), "bootstrap-percentile")


def bootstrap_difference(a: Sequence[float | None], b: Sequence[float | None], seed: int,
                         resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE) -> Interval | None:
    """mean(b) − mean(a) with a percentile-bootstrap interval over independent resamples of a and b."""
    xa, xb = _clean(a), _clean(b)
    if xa.size == 0 or xb.size == 0:
        return None
    diff = float(xb.mean() - xa.mean())
    if xa.size == 1 and xb.size == 1:
        return Interval(diff, diff, diff, 1, "single value")
    rng = np.random.default_rng(seed)
    means_a = xa[rng.integers(0, xa.size, size=(resamples, xa.size))].mean(axis=1)
    means_b = xb[rng.integers(0, xb.size, size=(resamples, xb.size))].mean(axis=1)
    low, high = _quantiles(means_b - means_a, confidence)
    return Interval(diff, low, high, int(min(xa.size, xb.size)), "bootstrap-percentile")


def wilson(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval | None:
    """Share successes/n with the Wilson score interval; None when n = 0."""
    if n <= 0:
        return None
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, "wilson")
