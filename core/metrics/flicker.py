"""Temporal flicker index: the share of temporal-spectrum energy above a cut-off frequency, lower is better.

On the grayscale 320-px analysis copy (intensities in [0, 1]):

1. average each 8×8 block, giving one intensity signal per block over the T frames; blocks
   suppress the high temporal frequencies that moving fine texture would otherwise create;
2. remove each signal's least-squares line (steady change such as a slow exposure drift is not
   flicker) and apply a Hann window (limits spectral leakage of the finite clip);
3. take the real DFT over time and the energy |X_k|² of every bin k ≥ 1 (DC excluded), at
   frequencies f_k = k · fps / T;
4. index = Σ_blocks Σ_{f_k > f_c} |X_k|² / Σ_blocks Σ_{k ≥ 1} |X_k|².

The cut-off f_c = 0.5 × Nyquist = fps / 4 (2.5 Hz at the case study's 10 fps; the usual "> 6 Hz"
flicker band needs at least 12 fps to be observable at all). Range [0, 1]; smooth content sits near 0,
white temporal noise near the share of bins above f_c (about 0.5), alternating-frame flicker near 1.
A clip with no temporal change at all scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.metrics.clip import ClipSource, prepare_clip
from core.metrics.measures import result_fields
from core.metrics.result import MeasureResult

BLOCK = 8  # analysis pixels per block side (32 px of a 720p frame)
DEFAULT_CUTOFF_FRACTION = 0.5  # of the Nyquist frequency


@dataclass
class FlickerResult(MeasureResult):
    """Flicker index plus the cut-off it used, in Hz."""

    cutoff_hz: float = 0.0


def block_signals(frames: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """T×h×w uint8 → T×N float64 block means in [0, 1] (partial edge blocks are dropped)."""
    import cv2

    num, height, width = frames.shape
    bh, bw = height // block, width // block  # ≥ 2 each: clips are at least 16 px on a side
    # Area interpolation by an integer factor is exactly the block mean.
    blocks = np.stack([cv2.resize(frame[: bh * block, : bw * block].astype(np.float32), (bw, bh),
                                  interpolation=cv2.INTER_AREA) for frame in frames]).astype(np.float64)
    return blocks.reshape(num, -1) / 255.0


def high_frequency_share(signals: np.ndarray, fps: float, cutoff_fraction: float) -> tuple[float, float]:
    """(share of energy above the cut-off, cut-off in Hz) for T×N signals sampled at `fps`."""
    num = signals.shape[0]
    centred_t = np.arange(num, dtype=np.float64) - (num - 1) / 2.0
    # Least-squares line per signal in closed form (the time axis is centred, so mean and slope decouple).
    slope = centred_t @ (signals - signals.mean(axis=0)) / (centred_t @ centred_t)
    detrended = (signals - signals.mean(axis=0) - np.outer(centred_t, slope)) * np.hanning(num)[:, None]
    energy = np.abs(np.fft.rfft(detrended, axis=0)) ** 2
    freqs = np.fft.rfftfreq(num, d=1.0 / fps)
    cutoff = cutoff_fraction * fps / 2.0
    total = energy[1:].sum()
    if total <= 1e-12 * signals.shape[1]:
        return 0.0, cutoff
    return float(energy[freqs > cutoff].sum() / total), cutoff


def flicker_index(clip: ClipSource, cutoff_fraction: float = DEFAULT_CUTOFF_FRACTION) -> FlickerResult:
    """Temporal flicker index of a clip; no per-frame values (it is a spectrum over the whole clip)."""
    prepared = prepare_clip(clip)
    share, cutoff = high_frequency_share(block_signals(prepared.analysis_gray), prepared.fps, cutoff_fraction)
    return FlickerResult(
        **result_fields("flicker_index"), value=share, low=0.0, high=1.0,
        note=f"energy above {cutoff:.2f} Hz ({cutoff_fraction:g} × Nyquist at {prepared.fps:g} fps), "
             f"{BLOCK}×{BLOCK} blocks of the {prepared.analysis_gray.shape[2]}-px analysis copy",
        cutoff_hz=cutoff)
