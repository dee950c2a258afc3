"""CogVideoX image-to-video (`CogVideoXImageToVideoPipeline`).

Rules, read from the loaded checkpoint's configs:
- Size. With `transformer.config.use_learned_positional_embeddings` (the published 5B I2V) the
  transformer only accepts the size it was trained at: (sample_width, sample_height) latents times the
  VAE's spatial factor, i.e. 720x480. Otherwise (RoPE / sin-cos checkpoints such as CogVideoX 1.5) any
  size whose latent splits into whole patches works: multiples of VAE factor x patch_size (16).
- Frames. The causal VAE compresses time by `vae.config.temporal_compression_ratio` (4) after the first
  frame, so the pipeline asks for 4k+1. But the VAE decodes latent frames in pairs
  (`vae.num_latent_frames_batch_size` = 2) and only the first chunk keeps the "+1" frame when it holds
  an odd number of latents; an even latent count comes out 3 frames longer than requested (5 -> 8).
  So counts that come out exactly as asked are (2 x 4)k+1 = 8k+1 (9, 17, ..., 49). With learned
  positional embeddings the trained `sample_frames` (49) is the most the model holds. `patch_size_t`
  (1.5 checkpoints) does not break the count: the pipeline pads the latent frames to a multiple of
  it and trims the padding before decoding (81 frames -> 21 latents, padded to 22, trimmed back). The
  1.5 checkpoints were trained on (8 x patch_size_t)k+1 = 16k+1 frames (their card: 16N+1), so that is
  the rule for them.
- Sides of 1.5 checkpoints (RoPE, `patch_size_t` set): the short side is at least the trained
  `sample_height` and the long side at most the trained `sample_width` (x VAE factor: 768 and 1360).
- 1.5 rotary table. With `patch_size_t` the pipeline slices its RoPE grid out of
  (sample_height, sample_width) / patch_size positions, so the height is at most sample_height and
  the width at most sample_width (x VAE factor: 768 and 1360). A portrait size, which the side bounds
  allow, would fail mid-run in diffusers, so it is refused before any work.
- Prompt length is `transformer.config.max_text_seq_length` (226): the joint positional table is sized
  for exactly that many text tokens, so the tokenizer must pad to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import PIL.Image

from core.errors import ValidationError
from core.families.base import (FamilyConstraints, ModelDefaults, PipelineFamily, ResolvedSettings, StepCallback,
                                to_uint8_frames)


class CogVideoXI2VFamily(PipelineFamily):
    """Adapter for CogVideoX I2V checkpoints (5B I2V and 1.5 I2V)."""

    name = "cogvideox_i2v"
    pipeline_class_names = ("CogVideoXImageToVideoPipeline",)
    label = "CogVideoX I2V"
    # The step callback carries latents as [B, T, C, h, w] (frames before channels).
    preview_layout = "BTCHW"

    @staticmethod
    def spatial_factor(pipe: Any) -> int:
        """Pixels per latent cell: one 2x downsampling between consecutive VAE blocks (8 for 4 blocks)."""
        return 2 ** (len(pipe.vae.config.block_out_channels) - 1)

    def constraints(self, pipe: Any) -> FamilyConstraints:
        tcfg = pipe.transformer.config
        spatial = self.spatial_factor(pipe)
        temporal = int(pipe.vae.config.temporal_compression_ratio)
        # An even decode chunk needs an odd latent count for the output to have exactly the asked frames.
        pairs = 2 if int(getattr(pipe.vae, "num_latent_frames_batch_size", 2)) % 2 == 0 else 1
        modulus = temporal * pairs * int(tcfg.patch_size_t or 1)
        multiple = spatial * int(tcfg.patch_size)
        notes: list[str] = []
        sides: dict[str, int] = {}
        if tcfg.patch_size_t:
            notes.append(f"trained on {modulus}k+1 frames (patch_size_t={tcfg.patch_size_t})")
            sides = {"min_side": int(tcfg.sample_height) * spatial, "max_side": int(tcfg.sample_width) * spatial}
        if tcfg.use_learned_positional_embeddings:
            fixed = (tcfg.sample_width * spatial, tcfg.sample_height * spatial)
            notes.append(f"learned positional embeddings: only {fixed[0]}x{fixed[1]} works, "
                         f"and at most {tcfg.sample_frames} frames")
            return FamilyConstraints(frames_modulus=modulus, frames_remainder=1, size_multiple=multiple,
                                     fixed_size=fixed, min_frames=modulus + 1, max_frames=int(tcfg.sample_frames),
                                     notes=tuple(notes))
        return FamilyConstraints(frames_modulus=modulus, frames_remainder=1, size_multiple=multiple,
                                 min_frames=modulus + 1, notes=tuple(notes), **sides)

    def max_size(self, pipe: Any) -> tuple[int, int] | None:
        """(width, height) in pixels that 1.5-style RoPE can address, or None when any size works.

        With `patch_size_t` the pipeline builds its rotary table by slicing a grid of
        (sample_height // patch, sample_width // patch) positions, so a larger grid fails mid-run.
        """
        tcfg = pipe.transformer.config
        if not tcfg.patch_size_t or not tcfg.use_rotary_positional_embeddings:
            return None
        cell = self.spatial_factor(pipe) * int(tcfg.patch_size)
        patch = int(tcfg.patch_size)
        return (int(tcfg.sample_width) // patch * cell, int(tcfg.sample_height) // patch * cell)

    def resolve(self, pipe: Any, defaults: ModelDefaults, **kwargs: Any) -> ResolvedSettings:
        """Base rules, plus: refuse a size beyond what the 1.5 rotary table addresses."""
        settings = super().resolve(pipe, defaults, **kwargs)
        limit = self.max_size(pipe)
        if limit is not None and (settings.width > limit[0] or settings.height > limit[1]):
            raise ValidationError(f"size {settings.width}x{settings.height} is impossible for this model; "
                                  f"it holds at most {limit[0]}x{limit[1]} pixels (its rotary position table).")
        return settings

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Denoise and decode; returns uint8 frames T×H×W×3 with T = settings.num_frames.

        CFG is batched inside the pipeline (uncond and cond in one transformer call) when guidance > 1.
        """
        output = pipe(
            **self.request_kwargs(image, settings),
            max_sequence_length=int(pipe.transformer.config.max_text_seq_length),
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = CogVideoXI2VFamily()
