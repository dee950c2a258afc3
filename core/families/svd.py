"""Stable Video Diffusion (`StableVideoDiffusionPipeline`): image-only, no text prompt.

Rules, read from the loaded checkpoint's configs:
- No prompt: SVD conditions on CLIP image features of the first frame only. `uses_prompt=False`, and
  the engine records "prompt ignored" in the result's notes. The negative prompt is ignored as well.
- Guidance: SVD ramps guidance linearly across frames, from `min_guidance_scale` on the first frame to
  `max_guidance_scale` on the last. The studio's single `guidance_scale` becomes the maximum and the
  minimum is fixed at 1.0 (no guidance on the conditioning frame, the published default). A scale
  below 1.0 is raised to 1.0 (plain conditional sampling) and recorded as an adjustment.
- fps is a micro-conditioning input (the pipeline passes fps-1, as SVD was trained), so the request's
  fps reaches the model as well as the MP4.
- Frames: at least 2, at most the UNet's trained clip length `unet.config.num_frames` (14 for SVD,
  25 for SVD-XT); the temporal layers were never trained on longer clips.
- Sides are multiples of 8 (the pipeline's input check) and of the VAE's spatial factor.
- The temporal-decoder VAE decodes `decode_chunk_size` frames at a time: 8 by default, as the model
  card calls it. It has no tiling or slicing; "VAE slicing" lowers the chunk to 2 frames, which is how
  this pipeline bounds decoder memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import PIL.Image

from core.families.base import (FamilyConstraints, ModelDefaults, PipelineFamily, ResolvedSettings, StepCallback,
                                to_uint8_frames)
from core.request import Adjustment

MIN_GUIDANCE_SCALE = 1.0
DECODE_CHUNK_SIZE = 8  # frames decoded at once, as the SVD model card calls the pipeline
DECODE_CHUNK_WHEN_SLICING = 2  # frames decoded at once when VAE slicing is requested
_SLICING_ATTR = "_studio_decode_chunk_size"  # set on the pipe object, so the singleton adapter stays stateless


class SVDFamily(PipelineFamily):
    """Adapter for Stable Video Diffusion (SVD, SVD-XT) checkpoints."""

    name = "svd"
    pipeline_class_names = ("StableVideoDiffusionPipeline",)
    label = "Stable Video Diffusion"
    # The step callback carries latents as [B, T, C, h, w] (frames before channels).
    preview_layout = "BTCHW"

    def constraints(self, pipe: Any) -> FamilyConstraints:
        vae_factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
        trained_frames = getattr(pipe.unet.config, "num_frames", None)
        return FamilyConstraints(
            size_multiple=math.lcm(8, vae_factor), min_frames=2,
            max_frames=int(trained_frames) if trained_frames else None, uses_prompt=False,
            notes=("prompt ignored: SVD is image-only",
                   f"guidance_scale is used as max_guidance_scale; min_guidance_scale is {MIN_GUIDANCE_SCALE}"))

    def resolve(self, pipe: Any, defaults: ModelDefaults, **kwargs: Any) -> ResolvedSettings:
        """Base rules, plus: guidance below the fixed minimum is raised to it (with an Adjustment)."""
        settings = super().resolve(pipe, defaults, **kwargs)
        if settings.guidance_scale < MIN_GUIDANCE_SCALE:
            settings.adjustments.append(Adjustment(
                "guidance_scale", settings.guidance_scale, MIN_GUIDANCE_SCALE,
                f"SVD ramps guidance from min {MIN_GUIDANCE_SCALE} to max guidance_scale; max cannot be lower"))
            settings.guidance_scale = MIN_GUIDANCE_SCALE
        return settings

    def enable_vae_slicing(self, pipe: Any) -> str | None:
        setattr(pipe, _SLICING_ATTR, DECODE_CHUNK_WHEN_SLICING)
        return None

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Denoise and decode; returns uint8 frames T×H×W×3 with T = settings.num_frames.

        CFG is batched inside the pipeline (uncond and cond in one UNet call) when max guidance > 1.
        """
        output = pipe(
            **self.request_kwargs(image, settings, with_prompt=False),
            min_guidance_scale=MIN_GUIDANCE_SCALE,
            max_guidance_scale=settings.guidance_scale,
            fps=settings.fps,
            decode_chunk_size=getattr(pipe, _SLICING_ATTR, DECODE_CHUNK_SIZE),
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = SVDFamily()
