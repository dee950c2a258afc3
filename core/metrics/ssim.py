"""SSIM (Wang et al. 2004) and adjacent-frame SSIM.

SSIM uses an 11×11 Gaussian window with σ = 1.5, C1 = (0.01·L)², C2 = (0.03·L)², population
(co)variances, reflected borders, and averages the SSIM map after cropping the 5-px border the window
cannot fill. This is the configuration scikit-image uses with ``gaussian_weights=True,
use_sample_covariance=False`` (Wang et al.'s own setting), against which it is tested.

Adjacent-frame SSIM averages SSIM(f_t, f_{t+1}) over the pairs of a clip, on the grayscale 320-px
analysis copy with L = 1. Range [−1, 1] (in practice [0, 1]); higher is better. High values (> 0.95)
mean smooth video; dips mark scene changes, flicker or artefacts.
"""

from __future__ import annotations

import numpy as np

from core.errors import ValidationError
from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult, as_list

SIGMA = 1.5
RADIUS = 5  # int(3.5 · σ + 0.5): scikit-image's truncation, giving an 11×11 window
K1, K2 = 0.01, 0.03


def _blur(image: np.ndarray) -> np.ndarray:
    import cv2

    size = 2 * RADIUS + 1
    return cv2.GaussianBlur(image, (size, size), SIGMA, sigmaY=SIGMA, borderType=cv2.BORDER_REFLECT)


def _moments(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local mean and local variance (population) of one float64 image."""
    mu = _blur(image)
    return mu, _blur(image * image) - mu * mu


def _combine(a: np.ndarray, b: np.ndarray, moments_a: tuple[np.ndarray, np.ndarray],
             moments_b: tuple[np.ndarray, np.ndarray], data_range: float) -> np.ndarray:
    (mu_a, var_a), (mu_b, var_b) = moments_a, moments_b
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cov = _blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 2:
        raise ValidationError(f"SSIM needs two 2-D images of the same shape, got {a.shape} and {b.shape}.")
    if min(a.shape) < 2 * RADIUS + 1:
        raise ValidationError(f"SSIM needs images of at least {2 * RADIUS + 1}×{2 * RADIUS + 1} pixels, got {a.shape}.")


def ssim_map(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Per-pixel SSIM of two equal-shape 2-D images (float64 H×W), before border cropping."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _check_pair(a, b)
    return _combine(a, b, _moments(a), _moments(b), data_range)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM of two 2-D images (or H×W×C images: the mean over channels)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 3 and b.ndim == 3 and a.shape == b.shape:
        return float(np.mean([ssim(a[..., c], b[..., c], data_range) for c in range(a.shape[2])]))
    full = ssim_map(a, b, data_range)
    return float(full[RADIUS:-RADIUS, RADIUS:-RADIUS].mean())


def adjacent_ssim(clip: ClipSource) -> MeasureResult:
    """Mean SSIM of consecutive frames (grayscale, analysis size); per-pair values for t = 0..T-2."""
    prepared = prepare_clip(clip)
    frames = prepared.analysis_gray
    _check_pair(frames[0], frames[0])
    # Each frame's local mean and variance are computed once and shared by its two pairs; only the
    # previous frame's are kept, so memory does not grow with the clip length.
    values = np.empty(len(frames) - 1)
    prev = frames[0] / 255.0
    prev_moments = _moments(prev)
    for t in range(1, len(frames)):
        image = frames[t] / 255.0
        moments = _moments(image)
        values[t - 1] = _combine(prev, image, prev_moments, moments, 1.0)[RADIUS:-RADIUS, RADIUS:-RADIUS].mean()
        prev, prev_moments = image, moments
    return MeasureResult(
        **result_fields("adjacent_ssim"), value=float(values.mean()), low=-1.0, high=1.0,
        per_frame=as_list(values), per_frame_index="pair t → t+1 for t = 0..T-2",
        note=f"grayscale at {frames.shape[2]}×{frames.shape[1]}")
