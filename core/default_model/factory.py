"""Model and scheduler configurations for the embedded default model, in one place.

`DEFAULT_*` are what the shipped model is trained with; tests build `TINY_*` versions in code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AutoencoderSpec:
    """FrameAutoencoder config: latent channels and per-level widths/blocks (levels at /2, /4, /8).

    16 latent channels (12x compression): with 8 the autoencoder stalled near 21 dB on procedural
    frames after 150 CPU steps, and frame-0 fidelity (>= 25 dB) is bounded by this reconstruction.
    """

    latent_channels: int = 16
    channels: tuple[int, int, int] = (48, 64, 96)
    blocks: tuple[int, int, int] = (1, 1, 2)


@dataclass(frozen=True)
class DenoiserSpec:
    """SpaceTimeDenoiser config. sample_size is the latent (h, w): 18x32 latents = 144x256 pixels."""

    channels: tuple[int, int] = (64, 192)
    mid_blocks: int = 2
    attention_head_dim: int = 32
    emb_dim: int = 256
    sample_size: tuple[int, int] = (18, 32)
    min_frames: int = 2
    max_frames: int = 16
    frame_rate: int = 8
    residual: bool = True  # diffuse z_t - z_0 (the change from frame 0) rather than z_t


# The scheduler the model is trained and shipped with. The cosine schedule reaches (near) zero
# terminal SNR, so sampling starts from pure noise; "trailing" spacing makes the first sampling step
# t=999 for any step count. DPM-Solver++ and others load from the same config.
# x0 ("sample") prediction of the residual to frame 0: with a CPU-sized training budget an
# under-trained v-prediction model leaves the sampling noise in place (its v is ~0 at mid noise
# levels, and DDIM with v=0 returns ~0.95x the initial noise), whereas an under-trained x0 model
# returns the conditional mean: frame 0 plus the average change for the prompt.
SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "sample",
    "timestep_spacing": "trailing",
    "clip_sample": False,
    "set_alpha_to_one": True,
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a fresh (untrained) pipeline."""

    autoencoder: AutoencoderSpec = field(default_factory=AutoencoderSpec)
    denoiser: DenoiserSpec = field(default_factory=DenoiserSpec)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


TINY_SPEC = ModelSpec(AutoencoderSpec(latent_channels=4, channels=(8, 8, 16), blocks=(0, 0, 1)),
                      DenoiserSpec(channels=(16, 32), mid_blocks=1, attention_head_dim=16, emb_dim=32,
                                   sample_size=(4, 6), max_frames=8))


def catalogue_vocab() -> dict[str, tuple[str, ...]]:
    """Catalogue ids per slot, in catalogue order (the embedding rows follow this order)."""
    from core.catalogue import default_catalogue

    cat = default_catalogue()
    return {"event_ids": tuple(cat.events), "condition_ids": tuple(cat.conditions), "road_ids": tuple(cat.roads)}


def build_autoencoder(spec: AutoencoderSpec):
    from core.default_model.autoencoder import FrameAutoencoder

    return FrameAutoencoder(latent_channels=spec.latent_channels, channels=spec.channels, blocks=spec.blocks)


def build_denoiser(spec: DenoiserSpec, latent_channels: int, vocab: dict[str, tuple[str, ...]] | None = None):
    from core.default_model.denoiser import SpaceTimeDenoiser

    vocab = vocab or catalogue_vocab()
    return SpaceTimeDenoiser(latent_channels=latent_channels, channels=spec.channels, mid_blocks=spec.mid_blocks,
                             attention_head_dim=spec.attention_head_dim, emb_dim=spec.emb_dim,
                             sample_size=spec.sample_size, min_frames=spec.min_frames, max_frames=spec.max_frames,
                             frame_rate=spec.frame_rate, residual=spec.residual, **vocab)


def build_scheduler():
    from diffusers import DDIMScheduler

    return DDIMScheduler(**SCHEDULER_CONFIG)


def build_pipeline(spec: ModelSpec = ModelSpec(), vae=None, denoiser=None):
    """A pipeline from `spec`; pass trained `vae`/`denoiser` modules to reuse them."""
    from core.default_model.pipeline import EmbeddedI2VPipeline

    vae = vae if vae is not None else build_autoencoder(spec.autoencoder)
    denoiser = denoiser if denoiser is not None else build_denoiser(spec.denoiser, vae.config.latent_channels)
    return EmbeddedI2VPipeline(vae=vae, denoiser=denoiser, scheduler=build_scheduler())
