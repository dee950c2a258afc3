"""LTX-Video image-to-video (`LTXImageToVideoPipeline`).

Rules, read from the loaded checkpoint's configs:
- Sides are multiples of the VAE spatial compression x transformer patch size (32 x 1 for the
  published models), and of 32 in any case, which the pipeline's input check demands: 720 becomes 704.
- Frames are k x (VAE temporal compression x transformer temporal patch) + 1, i.e. 8k+1.
- `frame_rate` scales the time axis of the transformer's RoPE (time positions are latent index x
  temporal compression / frame_rate). It is the model's native rate, the one it was trained at (the
  pipeline's own default, 25), not the MP4's fps: passing a dashcam 10 fps would stretch the RoPE time
  axis the model never saw. When the MP4's fps differs, the result says so.
- Checkpoints whose VAE decoder is timestep-conditioned (0.9.1 and later) decode with a little noise:
  decode_timestep 0.05 and decode_noise_scale 0.025, the values the LTX-Video authors recommend.
- CFG is batched inside the pipeline (uncond and cond in one transformer call).
- Published roots name other classes: Lightricks/LTX-Video says `LTXPipeline` (text-to-video) and
  0.9.5 and later say `LTXConditionPipeline`. In diffusers 0.42 all three take the same five components
  (scheduler, vae, text_encoder, tokenizer, transformer) of the same classes, so this family loads
  `LTXImageToVideoPipeline` from any of them. It does not drive `LTXConditionPipeline` itself: that
  call takes `LTXVideoCondition` objects and other arguments for the same first-frame conditioning,
  so one code path (and one set of rules) serves every release.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np
import PIL.Image

from core.families.base import (FamilyConstraints, ModelDefaults, PipelineFamily, ResolvedSettings, StepCallback,
                                to_uint8_frames)

LTX_MAX_SEQUENCE_LENGTH = 128  # T5 tokens the published checkpoints were trained with
DECODE_TIMESTEP = 0.05
DECODE_NOISE_SCALE = 0.025


class LTXI2VFamily(PipelineFamily):
    """Adapter for LTX-Video I2V checkpoints."""

    name = "ltx_i2v"
    pipeline_class_names = ("LTXImageToVideoPipeline",)
    label = "LTX-Video I2V"

    @staticmethod
    def vae_compression(vae: Any) -> tuple[int, int]:
        """(spatial, temporal) compression of the VAE: computed attributes of a loaded one (patch size x
        2^downsamplings); a config alone (the Models page, before loading) carries the same inputs."""
        if hasattr(vae, "spatial_compression_ratio"):
            return int(vae.spatial_compression_ratio), int(vae.temporal_compression_ratio)
        config = vae.config
        scaling = 2 ** sum(bool(flag) for flag in config.spatio_temporal_scaling)
        return (int(getattr(config, "spatial_compression_ratio", None) or config.patch_size * scaling),
                int(getattr(config, "temporal_compression_ratio", None) or config.patch_size_t * scaling))

    def native_frame_rate(self, pipe: Any) -> int:
        """The frame rate the model was trained at: the pipeline call's own default (25 for LTX-Video)."""
        return int(inspect.signature(self.pipeline_class().__call__).parameters["frame_rate"].default)

    def resolve(self, pipe: Any, defaults: ModelDefaults, **kwargs: Any) -> ResolvedSettings:
        """Base rules, plus a note when the MP4's fps is not the model's native frame rate."""
        settings = super().resolve(pipe, defaults, **kwargs)
        native = self.native_frame_rate(pipe)
        if settings.fps != native:
            settings.notes.append(f"LTX-Video is conditioned on its native {native} fps (frame_rate); the MP4 "
                                  f"plays at {settings.fps} fps, so motion plays at {settings.fps / native:.2g}x "
                                  "the generated speed")
        return settings

    def constraints(self, pipe: Any) -> FamilyConstraints:
        spatial, temporal = self.vae_compression(pipe.vae)
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
            frame_rate=self.native_frame_rate(pipe),
            max_sequence_length=min(LTX_MAX_SEQUENCE_LENGTH, tokenizer_limit),
            **decode,
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = LTXI2VFamily()
