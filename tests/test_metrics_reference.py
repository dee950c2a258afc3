"""Each measure against an independent reference implementation or a closed-form case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
from skimage.metrics import structural_similarity

from core.metrics.coherence import temporal_coherence
from core.metrics.fidelity import first_frame_fidelity, psnr
from core.metrics.flicker import flicker_index, high_frequency_share
from core.metrics.fvd import frechet_distance, mean_cov
from core.metrics.kvd import kernel_distance, mmd2_unbiased
from core.metrics.sharpness import frame_sharpness
from core.metrics.ssim import adjacent_ssim, ssim
from tests.metrics_fixtures import clean


def skimage_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ssim_matches_scikit_image(seed):
    rng = np.random.default_rng(seed)
    a = rng.random((40, 57))
    b = np.clip(a + rng.normal(0, 0.1 * (seed + 1), a.shape), 0, 1)
    assert ssim(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-9)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)


def test_adjacent_ssim_matches_scikit_image_per_pair():
    import cv2

    frames = clean(6)
    result = adjacent_ssim(frames)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) / 255.0 for f in frames]
    expected = [skimage_ssim(gray[t], gray[t + 1]) for t in range(5)]
    assert result.per_frame == pytest.approx(expected, abs=1e-6)
    assert result.value == pytest.approx(np.mean(expected), abs=1e-6)


def scipy_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula with scipy.linalg.sqrtm, as FVD reference code writes it."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root))


@pytest.mark.parametrize("n,d", [(200, 8), (60, 20), (500, 32)])
def test_frechet_matches_scipy_sqrtm(n, d):
    rng = np.random.default_rng(n + d)
    mix = rng.normal(size=(d, d))
    x = rng.normal(size=(n, d)) @ mix
    y = rng.normal(size=(n, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) + 0.5
    ours = frechet_distance(*mean_cov(x), *mean_cov(y))
    assert ours == pytest.approx(scipy_frechet(x, y), rel=1e-6)


def test_frechet_identical_sets_is_zero():
    x = np.random.default_rng(0).normal(size=(100, 16))
    assert frechet_distance(*mean_cov(x), *mean_cov(x)) == pytest.approx(0.0, abs=1e-8)


def test_frechet_shifted_set_is_squared_shift():
    # Same samples shifted by δ: identical covariances, so FD = |δ|² exactly.
    x = np.random.default_rng(1).normal(size=(80, 10))
    delta = np.linspace(-1, 2, 10)
    assert frechet_distance(*mean_cov(x), *mean_cov(x + delta)) == pytest.approx(float(delta @ delta), rel=1e-9)


def test_frechet_closed_form_gaussians():
    # N(μ1, a²I) vs N(μ2, b²I) in D dims: |μ1 − μ2|² + D (a − b)².
    d, a, b = 12, 1.5, 0.5
    mu1, mu2 = np.zeros(d), np.full(d, 0.25)
    expected = d * 0.25 ** 2 + d * (a - b) ** 2
    assert frechet_distance(mu1, a * a * np.eye(d), mu2, b * b * np.eye(d)) == pytest.approx(expected, rel=1e-12)


def test_frechet_handles_rank_deficient_covariance():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 40)), rng.normal(size=(10, 40)) + 0.1  # fewer samples than dimensions
    value = frechet_distance(*mean_cov(x), *mean_cov(y))
    assert np.isfinite(value) and value == pytest.approx(scipy_frechet(x, y), rel=1e-4)


def loop_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Direct O(n²) unbiased MMD² with k(a, b) = (a·b/d + 1)³."""
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


@pytest.mark.parametrize("m,n,shift", [(12, 15, 0.0), (20, 9, 0.7)])
def test_kvd_matches_double_loop(m, n, shift):
    rng = np.random.default_rng(m * n)
    x, y = rng.normal(size=(m, 6)), rng.normal(size=(n, 6)) + shift
    assert mmd2_unbiased(x, y) == pytest.approx(loop_mmd2(x, y), rel=1e-10, abs=1e-12)
    assert kernel_distance(x, y) == pytest.approx(loop_mmd2(x, y), rel=1e-10, abs=1e-12)


def test_kvd_unbiased_near_zero_for_same_distribution():
    rng = np.random.default_rng(5)
    values = [mmd2_unbiased(rng.normal(size=(30, 4)), rng.normal(size=(30, 4))) for _ in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))


def test_kvd_subsets_for_large_sets_approximate_full_value():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) + 0.5
    full = mmd2_unbiased(x, y)
    assert kernel_distance(x, y, max_full=100, subset_size=100, subsets=50) == pytest.approx(full, rel=0.15)


def test_coherence_matches_direct_cosine():
    frames = clean(5)
    flat = frames.reshape(5, -1).astype(np.float64) / 255.0
    expected = [flat[t] @ flat[t + 1] / np.linalg.norm(flat[t]) / np.linalg.norm(flat[t + 1]) for t in range(4)]
    result = temporal_coherence(frames)
    assert result.per_frame == pytest.approx(expected, abs=1e-6)
    assert result.value == pytest.approx(np.mean(expected), abs=1e-9)
    assert temporal_coherence(np.repeat(frames[:1], 3, axis=0)).value == pytest.approx(1.0)


def test_psnr_matches_direct_formula_and_fidelity_resizes_image():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-10, 11, a.shape), 0, 255).astype(np.uint8)
    mse = np.mean((a / 255.0 - b / 255.0) ** 2)
    assert psnr(a, b) == pytest.approx(10 * np.log10(1 / mse), rel=1e-9)
    frames = clean(4)
    same = first_frame_fidelity(frames, frames[0])
    assert same.value == 100.0 and same.ssim == pytest.approx(1.0)
    import cv2

    bigger = cv2.resize(frames[0], (256, 144), interpolation=cv2.INTER_CUBIC)
    result = first_frame_fidelity(frames, bigger)
    assert result.resized_from == (256, 144) and 25 < result.value < 100 and result.ssim > 0.8


def test_flicker_index_closed_form_sinusoids():
    fps, num = 10.0, 40
    t = np.arange(num)
    slow = 0.5 + 0.1 * np.sin(2 * np.pi * 1.0 * t / fps)  # 1 Hz: below the 2.5 Hz cut-off
    fast = 0.5 + 0.1 * np.sin(2 * np.pi * 4.0 * t / fps)  # 4 Hz: above it
    assert high_frequency_share(slow[:, None], fps, 0.5)[0] < 0.01
    assert high_frequency_share(fast[:, None], fps, 0.5)[0] > 0.99
    alternating = np.where(t % 2 == 0, 0.4, 0.6)[:, None]  # 5 Hz, Nyquist
    assert high_frequency_share(alternating, fps, 0.5) == (pytest.approx(1.0, abs=1e-3), 2.5)  # Hann leakage
    ramp = np.linspace(0.2, 0.8, num)[:, None]  # steady change is not flicker
    assert high_frequency_share(ramp, fps, 0.5)[0] == pytest.approx(0.0, abs=1e-9)


def test_flicker_index_on_clips():
    frames = clean()
    flickering = frames.copy()
    flickering[::2] = np.clip(flickering[::2].astype(int) + 60, 0, 255).astype(np.uint8)
    assert flicker_index(frames).value < 0.02
    assert flicker_index(flickering).value > 0.9
    assert flicker_index(np.repeat(frames[:1], 5, axis=0)).value == 0.0


def test_sharpness_matches_numpy_sobel():
    rng = np.random.default_rng(2)
    gray = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    img = np.pad(gray / 255.0, 1, mode="reflect")  # cv2's default border, BORDER_REFLECT_101
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    gx = sum(kx[i, j] * img[i:i + 30, j:j + 40] for i in range(3) for j in range(3))
    gy = sum(kx.T[i, j] * img[i:i + 30, j:j + 40] for i in range(3) for j in range(3))
    assert frame_sharpness(gray) == pytest.approx(float(np.sqrt(gx ** 2 + gy ** 2).mean()), rel=1e-5)
