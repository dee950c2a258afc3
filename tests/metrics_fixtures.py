"""Helpers shared by the metrics tests: small synthetic clips and their MP4 files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.metrics import synthetic

T, H, W = 24, 72, 128


def clean(num_frames: int = T, seed: int = 0) -> np.ndarray:
    """A smooth, textured, panning 128×72 clip (uint8 T×H×W×3)."""
    return synthetic.clean_clip(num_frames, H, W, seed=seed)


def write_clip(frames: np.ndarray, path: Path, fps: float = 10.0) -> Path:
    """Encode frames to an H.264 MP4 with near-lossless quality (so detector margins survive)."""
    from core.video_io import write_mp4

    return write_mp4(frames, path, fps=fps, crf=10, preset="ultrafast")
