"""Wan 2.x image-to-video (`WanImageToVideoPipeline`).

Rules, read from the loaded checkpoint's configs:
- Frames are 4k+1: the causal VAE keeps the first frame and compresses the rest by
  `vae.config.scale_factor_temporal` (4). The transformer's RoPE table (`rope_max_seq_len` positions
  per axis) bounds the latent frame count, which is far above any practical clip for published models.
- Sides are multiples of the VAE spatial factor x transformer patch (8 x 2 = 16; 32 for Wan 2.2 5B),
  and of 16 in any case, which the pipeline's own input check demands.
- Wan 2.1 I2V conditions on CLIP image features: the checkpoint's `image_processor` must produce the
  `image_size` its `image_encoder` was built for, or the vision patch embedding fails mid-run. A
  mismatched checkpoint is refused up front with a clear message.
- Wan 2.2 TI2V-5B's root names `WanPipeline`. In diffusers 0.42 `WanImageToVideoPipeline` takes the
  same components (image_encoder, image_processor and transformer_2 are optional), honours the
  root's `expand_timesteps` (the first frame's latents replace latent frame 0 and get timestep 0), and
  skips CLIP when `transformer.config.image_dim` is None (Wan 2.2), so this family loads it from that
  folder. Wan 2.2 A14B's `boundary_ratio` and `transformer_2` are read by the same class.
- A text-to-video transformer (Wan 2.1 T2V, whose root says `WanPipeline` like TI2V-5B) cannot take
  the first frame, and is refused by its input channel count before any work.
- Prompt cleaning imports `ftfy` (a package dependency).
- Wan 2.2 A14B (`boundary_ratio` in model_index.json, `transformer_2`) denoises high-noise steps with
  `transformer` and the rest with `transformer_2`, each with its own guidance: `guidance_scale` and
  `guidance_scale_2`. The registry's defaults give both; a scale the user sets drives both experts.
- CFG runs the transformer twice per step (cond, then uncond) inside the pipeline; there is no batched
  CFG path for this family.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import PIL.Image

from core.errors import ValidationError
from core.families.base import (FamilyConstraints, ModelDefaults, PipelineFamily, ResolvedSettings, StepCallback,
                                to_uint8_frames)

# The pipeline pads prompts to this many tokens by default (umT5 context used in training).
WAN_MAX_SEQUENCE_LENGTH = 512


def _size_field(size: Any, *keys: str) -> int | None:
    """First non-empty field of a processor size: a plain int, a dict, or transformers' SizeDict."""
    if isinstance(size, int):
        return size
    for key in keys:
        value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
        if value:
            return int(value)
    return None


def _processor_output_size(processor: Any) -> int | None:
    """Side of the square image a CLIP processor emits: its crop size when it crops, else its resize."""
    crop = getattr(processor, "crop_size", None)
    if getattr(processor, "do_center_crop", True) and crop is not None:
        return _size_field(crop, "height")
    size = getattr(processor, "size", None)
    return None if size is None else _size_field(size, "shortest_edge", "height")


class WanI2VFamily(PipelineFamily):
    """Adapter for Wan 2.1 / 2.2 I2V checkpoints."""

    name = "wan_i2v"
    pipeline_class_names = ("WanImageToVideoPipeline",)
    label = "Wan I2V"

    @staticmethod
    def _main_transformer(pipe: Any) -> Any:
        # Wan 2.2 A14B may ship only transformer_2 for the low-noise stage in some exports.
        return pipe.transformer if getattr(pipe, "transformer", None) is not None else pipe.transformer_2

    def check_image_conditioning(self, pipe: Any) -> None:
        """Refuse a checkpoint whose CLIP processor and CLIP encoder disagree on the image size."""
        encoder, processor = getattr(pipe, "image_encoder", None), getattr(pipe, "image_processor", None)
        if encoder is None or processor is None:
            return
        expected = int(encoder.config.image_size)
        produced = _processor_output_size(processor)
        if produced is not None and produced != expected:
            raise ValidationError(
                f"this Wan checkpoint is inconsistent: its image_processor makes {produced}x{produced} images "
                f"but its image_encoder expects {expected}x{expected}; fix preprocessor_config.json.")

    def check_image_to_video(self, pipe: Any) -> None:
        """Refuse a text-to-video Wan checkpoint (a `WanPipeline` without expand_timesteps) up front.

        The I2V transformer reads noise + first-frame latents + 4 mask channels (2*z_dim+4); TI2V-5B
        (expand_timesteps) writes the first frame into latent 0 and reads z_dim. A T2V transformer reads
        z_dim without expand_timesteps and has no way to take the image.
        """
        z_dim = int(pipe.vae.config.z_dim)
        expand = bool(getattr(pipe.config, "expand_timesteps", False))
        needed = z_dim if expand else 2 * z_dim + 4
        got = int(self._main_transformer(pipe).config.in_channels)
        if got != needed:
            raise ValidationError(
                f"this Wan checkpoint cannot condition on an image: its transformer reads {got} latent channels "
                f"but image-to-video needs {needed}; use a Wan I2V or TI2V release.")

    def constraints(self, pipe: Any) -> FamilyConstraints:
        self.check_image_conditioning(pipe)
        self.check_image_to_video(pipe)
        transformer = self._main_transformer(pipe)
        patch_t, patch_h, patch_w = transformer.config.patch_size
        spatial = int(pipe.vae.config.scale_factor_spatial)
        temporal = int(pipe.vae.config.scale_factor_temporal)
        multiple = math.lcm(16, spatial * patch_h, spatial * patch_w)
        max_latent_frames = int(transformer.config.rope_max_seq_len) * patch_t
        return FamilyConstraints(frames_modulus=temporal, frames_remainder=1, size_multiple=multiple,
                                 min_frames=temporal + 1, max_frames=(max_latent_frames - 1) * temporal + 1,
                                 notes=(f"frames are {temporal}k+1; sides are multiples of {multiple}",))

    def resolve(self, pipe: Any, defaults: ModelDefaults, **kwargs: Any) -> ResolvedSettings:
        """Base rules, plus: refuse sides beyond the transformer's RoPE table (no such clip is sensible)."""
        settings = super().resolve(pipe, defaults, **kwargs)
        transformer = self._main_transformer(pipe)
        _, patch_h, patch_w = transformer.config.patch_size
        spatial = int(pipe.vae.config.scale_factor_spatial)
        limit = int(transformer.config.rope_max_seq_len) * spatial * min(patch_h, patch_w)
        if max(settings.width, settings.height) > limit:
            raise ValidationError(f"size {settings.width}x{settings.height} is impossible for this model; "
                                  f"each side can be at most {limit} pixels.")
        if self.has_two_experts(pipe):
            user_set = kwargs.get("guidance_scale") is not None
            settings.guidance_scale_2 = settings.guidance_scale if user_set or defaults.guidance_scale_2 is None \
                else float(defaults.guidance_scale_2)
        return settings

    @staticmethod
    def has_two_experts(pipe: Any) -> bool:
        """Wan 2.2 A14B: a boundary ratio splits the steps between transformer and transformer_2."""
        return getattr(pipe.config, "boundary_ratio", None) is not None

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Denoise and decode; returns uint8 frames T×H×W×3 with T = settings.num_frames."""
        tokenizer_limit = int(getattr(pipe.tokenizer, "model_max_length", WAN_MAX_SEQUENCE_LENGTH))
        output = pipe(
            **self.request_kwargs(image, settings),
            # A tokenizer with a shorter context (tiny test checkpoints) would otherwise be asked for 512.
            max_sequence_length=min(WAN_MAX_SEQUENCE_LENGTH, tokenizer_limit),
            **({"guidance_scale_2": settings.guidance_scale_2} if self.has_two_experts(pipe) else {}),
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = WanI2VFamily()
