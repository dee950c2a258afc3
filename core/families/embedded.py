"""The embedded default model (`EmbeddedI2VPipeline`, trained in this repository).

Rules, read from the loaded checkpoint's denoiser config:
- One native size: `sample_size` (latent h, w) x 8 pixels, 256x144 for the shipped model. The denoiser
  is convolutional and would run at other sizes, but it was only trained at this one, so other sizes
  snap to it (with an Adjustment) rather than produce untested output.
- Frames between `min_frames` and `max_frames` (2 and 16 shipped): temporal attention was trained on
  16-frame clips; longer clips are refused rather than extrapolated.
- The prompt is read slot by slot (event, conditions, road) from catalogue phrases; a prompt with no
  known phrase for a slot is refused by the pipeline with the allowed phrases.
- CFG is batched inside the pipeline (uncond and cond in one denoiser call); guidance 1 skips it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import PIL.Image

from core.catalogue import ScenarioSlots
from core.default_model.prompts import vocabularies
from core.families.base import FamilyConstraints, PipelineFamily, ResolvedSettings, StepCallback, to_uint8_frames

SPATIAL_FACTOR = 8  # FrameAutoencoder: latents are 1/8 of the pixel size per side


class EmbeddedI2VFamily(PipelineFamily):
    """Adapter for the studio's own EmbeddedI2VPipeline."""

    name = "embedded_default"
    pipeline_class_names = ("EmbeddedI2VPipeline",)
    label = "Embedded default (CPU, trained here)"

    def pipeline_class(self) -> type:
        from core.default_model.pipeline import EmbeddedI2VPipeline

        return EmbeddedI2VPipeline

    def constraints(self, pipe: Any) -> FamilyConstraints:
        cfg = pipe.denoiser.config
        latent_h, latent_w = cfg.sample_size
        size = (int(latent_w) * SPATIAL_FACTOR, int(latent_h) * SPATIAL_FACTOR)
        return FamilyConstraints(size_multiple=2 * SPATIAL_FACTOR, fixed_size=size,
                                 min_frames=int(cfg.min_frames), max_frames=int(cfg.max_frames), uses_prompt=True,
                                 notes=(f"native size {size[0]}x{size[1]} only; "
                                        f"{cfg.min_frames}-{cfg.max_frames} frames",))

    def denoiser(self, pipe: Any) -> Any:
        return pipe.denoiser

    def denoisers(self, pipe: Any) -> list[Any]:
        return [pipe.denoiser]

    def conditioning_slots(self, pipe: Any, prompt: str, slots: ScenarioSlots | None) -> ScenarioSlots:
        """The slots the denoiser's embeddings get: the request's own, else those read from the prompt.

        Passed to the pipeline explicitly, so the clip's recorded labels are exactly its conditioning even
        when a typed prompt names other phrases. Raises ValidationError for ids or a prompt the model lacks.
        """
        if slots is not None:
            pipe.slots(event=slots.event, conditions=slots.conditions, road=slots.road)  # ids the model knows
            return slots
        rows = pipe.slots(prompt)
        vocab = vocabularies(pipe.denoiser.config)
        return ScenarioSlots(*(vocab[k][getattr(rows, k) - 1] for k in ("event", "conditions", "road")))

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Denoise and decode; returns uint8 frames T×H×W×3 with T = settings.num_frames."""
        output = pipe(
            image=image,
            prompt=settings.prompt,
            # Explicit ids win over the prompt's phrases inside the pipeline (see conditioning_slots).
            event=settings.slots.event if settings.slots else None,
            conditions=settings.slots.conditions if settings.slots else None,
            road=settings.slots.road if settings.slots else None,
            negative_prompt=settings.negative_prompt or None,
            height=settings.height,
            width=settings.width,
            num_frames=settings.num_frames,
            guidance_scale=settings.guidance_scale,
            **self.call_kwargs(pipe, settings, generator, on_step),
        )
        return to_uint8_frames(output.frames)


FAMILY = EmbeddedI2VFamily()
