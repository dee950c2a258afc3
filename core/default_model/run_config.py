"""The knobs of one training run of the embedded default model, and the clips it renders.

Shared by every training stage (core.default_model.training and .refine), so each imports it one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.default_model.data import spec_for, synth
from core.default_model.factory import ModelSpec


@dataclass
class TrainConfig:
    """Knobs of one training run. Steps are optimiser steps; sizes are pixels; times are minutes."""

    out_dir: Path
    seed: int = 0
    spec: ModelSpec = field(default_factory=ModelSpec)
    num_frames: int = 16
    width: int = 256
    height: int = 144
    synth_module: str = "core.synth"
    # stage 1: autoencoder
    ae_steps: int = 700
    ae_batch_size: int = 8
    ae_lr: float = 1e-3
    ae_crop_width: int = 128       # crops halve the cost per step; the AE is fully convolutional
    ae_initial_clips: int = 48
    ae_new_clips_every: int = 2    # render one more clip every N steps (fresh data, little overhead)
    # stage 2: denoiser
    steps: int = 2000
    batch_size: int = 4
    lr: float = 4e-4
    warmup_steps: int = 100
    cfg_dropout: float = 0.1       # the case study's p for dropping the condition
    min_snr_gamma: float = 5.0
    ema_decay: float = 0.995
    pool_initial: int = 128
    new_clips_per_step: float = 0.5
    checkpoint_every: int = 250
    time_limit_min: float | None = None
    samples: bool = True
    sample_steps: int = 25
    # stage 3 (optional): decoder refinement with the encoder frozen (the denoiser stays valid)
    decoder_steps: int = 0


def render(config: TrainConfig, index: int, **overrides: Any) -> tuple[Any, np.ndarray]:
    spec = spec_for(config.seed, index, config.num_frames, config.width, config.height, config.synth_module,
                    **overrides)
    return spec, synth(config.synth_module).render_clip(spec)
