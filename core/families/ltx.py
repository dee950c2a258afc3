"""LTX-Video image-to-video (`LTXImageToVideoPipeline`).

Rules, read from the loaded checkpoint's configs:
- Sides are multiples of the VAE spatial compression x transformer patch size (32 x 1 for the
  published models), and of 32 in any case, which the pipeline's input check demands: 720 becomes 704.
- Frames are k x (VAE temporal compression x transformer temporal patch) + 1, i.e. 8k+1.
- `frame_rate` is a conditioning input of the transformer's RoPE (time positions scale with
  temporal compression / fps), so the request's fps is passed through.
- Checkpoints whose VAE decoder is timestep-conditioned (0.9.1 and later) decode with a little noise:
  decode_timestep 0.05 and decode_noise_scale 0.025, the values the LTX-Video authors recommend.
- CFG is batched inside the pipeline (uncond and cond in one transformer call).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import PIL.Image

from core.families.base import FamilyConstraints, PipelineFamily, ResolvedSettings, StepCallback, to_uint8_frames

LTX_MAX_SEQUENCE_LENGTH = 128  # T5 tokens the published checkpoints were trained with
DECODE_TIMESTEP = 0.05
DECODE_NOISE_SCALE = 0.025


class LTXI2VFamily(PipelineFamily):
    """Adapter for LTX-Video I2V checkpoints."""

    name = "ltx_i2v"
    pipeline_class_names = ("LTXImageToVideoPipeline",)
    label = "LTX-Video I2V"

    def constraints(self, pipe: Any) -> FamilyConstraints:
        # spatial/temporal_compression_ratio are computed VAE attributes (patch size x 2^downsamplings).
        spatial = int(pipe.vae.spatial_compression_ratio)
        temporal = int(pipe.vae.temporal_compression_ratio)
        tcfg = pipe.transformer.config
        multiple = math.lcm(32, spatial * int(tcfg.patch_size))
        modulus = temporal * int(tcfg.patch_size_t)
        return FamilyConstraints(frames_modulus=modulus, frames_remainder=1, size_multiple=multiple,
                                 min_frames=modulus + 1,
                                 notes=(f"frames are {modulus}k+1; sides are multiples of {multiple}",))

    def preview_latents(self, pipe: Any, latents: Any, settings: ResolvedSettings | None) -> Any:
        """Packed [B, seq, C·pt·p·p] step latents -> [B, C, F, h, w], with the pipeline's own `_unpack_latents`.

        The latent grid is computed as the pipeline computes it (frames (n-1)/temporal+1, sides / spatial).
        """
        if settings is None:
            return None
        frames = (settings.num_frames - 1) // int(pipe.vae_temporal_compression_ratio) + 1
        spatial = int(pipe.vae_spatial_compression_ratio)
        return pipe._unpack_latents(latents, frames, settings.height // spatial, settings.width // spatial,
                                    pipe.transformer_spatial_patch_size, pipe.transformer_temporal_patch_size)

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Denoise and decode; returns uint8 frames T×H×W×3 with T = settings.num_frames."""
        decode: dict[str, float] = {}
        if pipe.vae.config.timestep_conditioning:
            decode = {"decode_timestep": DECODE_TIMESTEP, "decode_noise_scale": DECODE_NOISE_SCALE}
        tokenizer_limit = int(getattr(pipe.tokenizer, "model_max_length", LTX_MAX_SEQUENCE_LENGTH))
        output = pipe(
            **self.request_kwargs(image, settings),
            frame_rate=settings.fps,
            max_sequence_length=min(LTX_MAX_SEQUENCE_LENGTH, tokenizer_limit),
            **decode,
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = LTXI2VFamily()
