"""What every pipeline-family adapter provides, and the shared rules they are built from.

An adapter maps the engine's one set of argument names (image, prompt, num_frames,
num_inference_steps, guidance_scale, seed) onto its diffusers pipeline's own call, and enforces the
family's rules. Rules are read from the loaded pipeline's config wherever it carries them, because
a tiny or fine-tuned checkpoint may differ from the published one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import PIL.Image

from core.catalogue import ScenarioSlots
from core.errors import ValidationError
from core.previews import LatentPreviewSpec, project_frame, select_spec
from core.request import Adjustment


@dataclass(frozen=True)
class ModelDefaults:
    """Registry defaults for a model: frames, fps, size in pixels, steps, guidance."""

    num_frames: int
    fps: int
    width: int
    height: int
    num_inference_steps: int
    guidance_scale: float
    # Wan 2.2 A14B's low-noise expert has its own scale; None elsewhere (and there it takes guidance_scale).
    guidance_scale_2: float | None = None

    def describe(self) -> str:
        """One line for the Models and Generate pages: '832×480, 81 frames at 16 fps, 40 steps, guidance 5'."""
        guidance = f"guidance {self.guidance_scale:g}"
        if self.guidance_scale_2 is not None:
            guidance += f" (low-noise expert {self.guidance_scale_2:g})"
        return (f"{self.width}×{self.height}, {self.num_frames} frames at {self.fps} fps, "
                f"{self.num_inference_steps} steps, {guidance}")


@dataclass(frozen=True)
class FamilyConstraints:
    """The rules a request must meet for one loaded pipeline.

    frames_modulus/frames_remainder: valid frame counts are k*modulus + remainder (Wan: 4k+1).
    size_multiple: width and height must be multiples of it (LTX: 32).
    fixed_size: (width, height) when only one size works (CogVideoX learned positional embeddings).
    max_frames: frames the model can hold at most (None when unbounded).
    min_side/max_side: bounds in pixels on the short and the long side (CogVideoX 1.5: 768 and 1360).
    uses_prompt: False for image-only families (SVD).
    """

    frames_modulus: int = 1
    frames_remainder: int = 0
    size_multiple: int = 8
    fixed_size: tuple[int, int] | None = None
    min_frames: int = 1
    max_frames: int | None = None
    min_side: int | None = None
    max_side: int | None = None
    uses_prompt: bool = True
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The rules in one line, as the Models and Generate pages show them (same object the engine enforces)."""
        if self.frames_modulus > 1:
            frames = f"frames = {self.frames_modulus}k+{self.frames_remainder}"
        else:
            frames = "any frame count"
        frames += f", {self.min_frames} to {self.max_frames}" if self.max_frames else f", at least {self.min_frames}"
        if self.fixed_size is not None:
            size = f"{self.fixed_size[0]}x{self.fixed_size[1]} only"
        else:
            size = f"sides multiples of {self.size_multiple}"
            if self.min_side:
                size += f", short side at least {self.min_side}"
            if self.max_side:
                size += f", long side at most {self.max_side}"
        parts = [size, frames] + ([] if self.uses_prompt else ["image only (no text prompt)"])
        return "; ".join(parts)


@dataclass
class ResolvedSettings:
    """The settings a pipeline call actually gets, after defaults and family rules."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_frames: int
    fps: int
    num_inference_steps: int
    guidance_scale: float
    adjustments: list[Adjustment] = field(default_factory=list)
    # Facts about this call the user should read in the result (e.g. LTX's native frame rate).
    notes: list[str] = field(default_factory=list)
    guidance_scale_2: float | None = None  # Wan 2.2 A14B low-noise expert
    # The slot ids (event, conditions, road) for families conditioned on slots rather than on text
    # (the embedded model); the engine sets it from `conditioning_slots` and records exactly these.
    slots: ScenarioSlots | None = None


# Called after each denoising step with (step_index, total_steps, latents); may raise to cancel.
StepCallback = Callable[[int, int, Any], None]


def snap_frames(requested: int, constraints: FamilyConstraints) -> tuple[int, Adjustment | None]:
    """Snap a frame count to the nearest valid k*modulus+remainder; refuse counts that cannot work."""
    if requested < constraints.min_frames:
        raise ValidationError(
            f"num_frames {requested} is impossible for this model; it needs at least {constraints.min_frames}.")
    if constraints.max_frames is not None and requested > constraints.max_frames:
        raise ValidationError(
            f"num_frames {requested} is impossible for this model; it holds at most {constraints.max_frames}.")
    modulus, remainder = constraints.frames_modulus, constraints.frames_remainder
    if modulus <= 1:
        return requested, None
    k = max(round((requested - remainder) / modulus), (constraints.min_frames - remainder + modulus - 1) // modulus)
    snapped = k * modulus + remainder
    if constraints.max_frames is not None and snapped > constraints.max_frames:
        snapped -= modulus
    if snapped == requested:
        return requested, None
    return snapped, Adjustment("num_frames", requested, snapped,
                               f"this family needs {modulus}k+{remainder} frames")


def snap_size(width: int, height: int, constraints: FamilyConstraints) -> tuple[int, int, list[Adjustment]]:
    """Apply the fixed size or round each side to the nearest multiple; record every change."""
    if width <= 0 or height <= 0:
        raise ValidationError(f"width and height must be positive, got {width}x{height}.")
    if constraints.fixed_size is not None:
        fixed_w, fixed_h = constraints.fixed_size
        if (width, height) == (fixed_w, fixed_h):
            return width, height, []
        return fixed_w, fixed_h, [Adjustment("size", f"{width}x{height}", f"{fixed_w}x{fixed_h}",
                                             "this checkpoint accepts only one size (learned positional embeddings)")]
    multiple = constraints.size_multiple
    scaled_w, scaled_h, reason = _within_side_bounds(width, height, constraints)
    new_w = max(multiple, round(scaled_w / multiple) * multiple)
    new_h = max(multiple, round(scaled_h / multiple) * multiple)
    if constraints.max_side:  # rounding up must not step past the bound
        new_w, new_h = (min(side, constraints.max_side // multiple * multiple) for side in (new_w, new_h))
    if (new_w, new_h) == (width, height):
        return width, height, []
    return new_w, new_h, [Adjustment("size", f"{width}x{height}", f"{new_w}x{new_h}",
                                     reason or f"sides must be multiples of {multiple}")]


def _within_side_bounds(width: int, height: int, constraints: FamilyConstraints) -> tuple[float, float, str]:
    """Scale (keeping the aspect) so the short side reaches min_side, then cap the long side at max_side."""
    scale, reason = 1.0, ""
    low, high = constraints.min_side, constraints.max_side
    if low and min(width, height) < low:
        scale, reason = low / min(width, height), f"the short side must be at least {low}"
    if high and max(width, height) * scale > high:
        width, height = (high if side == max(width, height) else side * scale for side in (width, height))
        return width, height, reason or f"the long side must be at most {high}"
    return width * scale, height * scale, reason


def to_uint8_frames(video: Any) -> np.ndarray:
    """Convert a pipeline's `output_type='np'` frames (float in [0,1], 1×T×H×W×3 or T×H×W×3) to uint8."""
    array = np.asarray(video)
    if array.ndim == 5:
        array = array[0]
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return array


class PipelineFamily:
    """Base class for one family adapter; subclasses live one per file in `core/families/`."""

    #: Registry name, e.g. "cogvideox_i2v".
    name: str = ""
    #: The diffusers image-to-video class this family drives first. Every model_index.json `_class_name`
    #: the family accepts is listed once, in `core.families.FAMILIES`.
    pipeline_class_names: tuple[str, ...] = ()
    #: Human label for the Models page.
    label: str = ""

    def pipeline_class(self) -> type:
        """The diffusers pipeline class to load with, imported lazily (nothing heavy at import time).

        It is the image-to-video class even when model_index.json names another class of the same
        components (LTXPipeline, WanPipeline): diffusers' `from_pretrained` on a class builds that class.
        """
        import diffusers

        return getattr(diffusers, self.pipeline_class_names[0])

    def constraints(self, pipe: Any) -> FamilyConstraints:
        """Read this family's rules from the loaded pipeline's own configs."""
        raise NotImplementedError

    def resolve(self, pipe: Any, defaults: ModelDefaults, *, prompt: str, negative_prompt: str,
                width: int | None, height: int | None, num_frames: int | None, fps: int | None,
                num_inference_steps: int | None, guidance_scale: float | None) -> ResolvedSettings:
        """Fill defaults, then enforce the rules: snap (with an Adjustment) or refuse."""
        constraints = self.constraints(pipe)
        adjustments: list[Adjustment] = []

        def pick(value: Any, default: Any) -> Any:
            # `is None`, not `or`: an explicit 0 must be refused, not silently replaced by the default.
            return default if value is None else value

        frames, frame_adj = snap_frames(pick(num_frames, defaults.num_frames), constraints)
        if frame_adj:
            adjustments.append(frame_adj)
        w, h, size_adj = snap_size(pick(width, defaults.width), pick(height, defaults.height), constraints)
        adjustments.extend(size_adj)
        steps = pick(num_inference_steps, defaults.num_inference_steps)
        # A scheduler cannot take more steps than the timesteps it was trained with.
        max_steps = int(getattr(getattr(pipe, "scheduler", None), "config", {}).get("num_train_timesteps", 1000))
        if not 1 <= steps <= max_steps:
            raise ValidationError(f"num_inference_steps must be between 1 and {max_steps}, got {steps}.")
        guidance = float(pick(guidance_scale, defaults.guidance_scale))
        fps_used = pick(fps, defaults.fps)
        if fps_used < 1:
            raise ValidationError(f"fps must be at least 1, got {fps_used}.")
        if guidance < 0:
            raise ValidationError(f"guidance_scale must be 0 or more, got {guidance}.")
        return ResolvedSettings(prompt=prompt, negative_prompt=negative_prompt, width=w, height=h,
                                num_frames=frames, fps=fps_used, num_inference_steps=steps,
                                guidance_scale=guidance, adjustments=adjustments)

    def denoiser(self, pipe: Any) -> Any:
        """The module that LoRA adapters attach to (transformer or unet)."""
        return getattr(pipe, "transformer", None) or getattr(pipe, "unet")

    def denoisers(self, pipe: Any) -> list[Any]:
        """Every denoising network the pipeline steps through (Wan 2.2 A14B has two transformers)."""
        names = ("transformer", "transformer_2", "unet")
        return [module for name in names if (module := getattr(pipe, name, None)) is not None]

    def conditioning_slots(self, pipe: Any, prompt: str, slots: ScenarioSlots | None) -> ScenarioSlots | None:
        """The slots this pipeline is conditioned on directly, or None when it reads only text (or nothing).

        Text-conditioned families return None: their prompt conditions them, and the slots are labels.
        """
        return None

    # ----- optional speed/memory features; each says whether it applied, so nothing is silent -----

    def enable_cpu_offload(self, pipe: Any, device: str) -> str | None:
        """Move each component to the GPU only while it runs. Returns why not, or None when applied."""
        if not str(device).startswith("cuda"):
            return "model CPU offload needs a CUDA GPU; ignored"
        pipe.enable_model_cpu_offload(device=device)
        return None

    def enable_vae_tiling(self, pipe: Any) -> str | None:
        """Decode in overlapping spatial tiles (less memory at large sizes). Returns why not, or None."""
        vae = getattr(pipe, "vae", None)
        # AutoencoderMixin.enable_tiling() exists on every VAE but raises unless the VAE implements it.
        if vae is None or not hasattr(vae, "use_tiling"):
            return f"VAE tiling is not supported by {type(vae).__name__}; ignored"
        vae.enable_tiling()
        return None

    def enable_vae_slicing(self, pipe: Any) -> str | None:
        """Decode one batch element at a time. Returns why not, or None when applied."""
        vae = getattr(pipe, "vae", None)
        if vae is None or not hasattr(vae, "use_slicing"):
            return f"VAE slicing is not supported by {type(vae).__name__}; ignored"
        vae.enable_slicing()
        return None

    def compile_denoiser(self, pipe: Any, device: str) -> str | None:
        """torch.compile the denoiser(s) in place, on a CUDA GPU only (CPU compile costs more than it saves)."""
        if not str(device).startswith("cuda"):
            return "torch.compile is only used on a CUDA GPU; ignored"
        for module in self.denoisers(pipe):
            module.compile()  # in place: keeps the class, config and LoRA hooks reachable
        return None

    def apply_runtime_options(self, pipe: Any, device: str, *, cpu_offload: bool = False, vae_tiling: bool = False,
                              vae_slicing: bool = False, compile: bool = False) -> list[str]:
        """Apply the requested options where this family and device support them.

        Call after `from_pretrained` and instead of `pipe.to(device)` (offload places modules itself).
        Returns one note per option that was skipped, for the result's notes.
        """
        notes: list[str] = []
        offload_note = self.enable_cpu_offload(pipe, device) if cpu_offload else None
        if offload_note is not None:
            notes.append(offload_note)
        if not cpu_offload or offload_note is not None:
            pipe.to(device)
        for wanted, enable in ((vae_tiling, self.enable_vae_tiling), (vae_slicing, self.enable_vae_slicing)):
            if wanted and (note := enable(pipe)) is not None:
                notes.append(note)
        if compile and (note := self.compile_denoiser(pipe, device)) is not None:
            notes.append(note)
        return notes

    # ----- live previews (core/previews.py; factors in configs/latent_previews.yaml) -----

    #: Axis order of the latents the step callback carries (after `preview_latents`).
    preview_layout: str = "BCTHW"

    def latent_channels(self, pipe: Any) -> int | None:
        """Latent channels of the loaded VAE (`latent_channels`, or `z_dim` for Wan), None when unknown."""
        config = getattr(getattr(pipe, "vae", None), "config", None) or {}
        value = config.get("latent_channels", config.get("z_dim"))
        return None if value is None else int(value)

    def preview_spec(self, pipe: Any) -> tuple[LatentPreviewSpec | None, str | None]:
        """The published latent-to-RGB format for this checkpoint, or None and the sentence saying why."""
        return select_spec(self.name, self.latent_channels(pipe), self.label)

    def preview_latents(self, pipe: Any, latents: Any, settings: ResolvedSettings | None) -> Any:
        """The step latents in `preview_layout`; families whose callback packs them (LTX) unpack here."""
        return latents

    def preview_frame(self, pipe: Any, latents: Any, settings: ResolvedSettings | None = None) -> np.ndarray | None:
        """A cheap look at the clip mid-run: uint8 h×w×3 at latent resolution, or None without factors.

        A linear map of the middle latent frame (no VAE decode), so it costs far less than a step.
        """
        spec, _ = self.preview_spec(pipe)
        if spec is None or latents is None:
            return None
        unpacked = self.preview_latents(pipe, latents, settings)
        return None if unpacked is None else project_frame(unpacked, spec, self.preview_layout)

    @staticmethod
    def request_kwargs(image: PIL.Image.Image, settings: ResolvedSettings, *, with_prompt: bool = True) -> dict:
        """The request-side arguments every image-to-video pipeline names the same way."""
        kwargs = {"image": image, "height": settings.height, "width": settings.width,
                  "num_frames": settings.num_frames}
        if with_prompt:
            kwargs.update(prompt=settings.prompt, negative_prompt=settings.negative_prompt,
                          guidance_scale=settings.guidance_scale)
        return kwargs

    def call_kwargs(self, pipe: Any, settings: ResolvedSettings, generator: Any, on_step: StepCallback) -> dict:
        """Arguments every family's pipeline call shares: steps, seed, numpy output and the step callback."""
        pipe.set_progress_bar_config(disable=True)  # the engine reports progress through on_step
        return {
            "num_inference_steps": settings.num_inference_steps,
            "generator": generator,
            "output_type": "np",
            "callback_on_step_end": self.step_callback(on_step, settings.num_inference_steps),
            "callback_on_step_end_tensor_inputs": ["latents"],
        }

    def __call__(self, pipe: Any, image: PIL.Image.Image, settings: ResolvedSettings, generator: Any,
                 on_step: StepCallback) -> np.ndarray:
        """Run the pipeline; return uint8 frames T×H×W×3. `on_step` is wired to callback_on_step_end."""
        raise NotImplementedError

    @staticmethod
    def step_callback(on_step: StepCallback, total_steps: int) -> Callable:
        """Adapt `on_step` to diffusers' callback_on_step_end(pipe, step, timestep, kwargs) -> kwargs."""

        def callback(pipe: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
            on_step(step + 1, total_steps, callback_kwargs.get("latents"))
            return callback_kwargs

        return callback
