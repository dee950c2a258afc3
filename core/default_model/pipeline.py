"""EmbeddedI2VPipeline: the studio's own small latent image-to-video diffusion pipeline.

Components (model_index.json names them with their full module path, e.g.
["core.default_model.denoiser", "SpaceTimeDenoiser"], which diffusers imports on load):
  vae       FrameAutoencoder: frames <-> latents, spatial factor 8
  denoiser  SpaceTimeDenoiser: factorized space-time denoiser conditioned on frame 0 and the prompt slots
  scheduler any diffusers scheduler with the same config (DDIM and DPM-Solver++ tested)

Sampling keeps frame 0's latent pinned to the encoded conditioning frame after every step
(replacement), so frame 0 is the user's frame up to the autoencoder's reconstruction error.
A residual denoiser (config `residual`) diffuses the change from frame 0; frame 0's change is pinned
to zero and the frame-0 latent is added back before decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from core.default_model.autoencoder import FrameAutoencoder
from core.default_model.denoiser import SpaceTimeDenoiser
from core.default_model.prompts import SlotIndices, resolve_slots


@dataclass
class EmbeddedI2VPipelineOutput(BaseOutput):
    """frames: np (B, T, H, W, 3) float in [0, 1] for "np"; torch (B, T, 3, H, W) for "pt";
    list of lists of PIL images for "pil"; latents (B, C, T, h, w) for "latent"."""

    frames: Any


def image_to_tensor(image: Any, width: int, height: int) -> torch.Tensor:
    """PIL image, uint8 H×W×3 array, or float tensor (3, H, W) in [0, 1] -> (1, 3, height, width) in [-1, 1].

    Other sizes are resized with bicubic filtering (the model works at its native size)."""
    if isinstance(image, torch.Tensor):
        array = image.detach().float().cpu()
        if array.ndim == 4:
            array = array[0]
        image = PIL.Image.fromarray((array.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    elif isinstance(image, np.ndarray):
        if image.dtype != np.uint8:
            image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        image = PIL.Image.fromarray(image)
    if not isinstance(image, PIL.Image.Image):
        raise TypeError(f"image must be a PIL image, a uint8 array or a tensor, got {type(image).__name__}.")
    image = image.convert("RGB")
    if image.size != (width, height):
        image = image.resize((width, height), PIL.Image.BICUBIC)
    array = torch.from_numpy(np.asarray(image, dtype=np.float32) / 127.5 - 1.0)
    return array.permute(2, 0, 1)[None]


class EmbeddedI2VPipeline(DiffusionPipeline):
    """Image-to-video: a first frame plus a structured prompt -> a short dashcam clip."""

    model_cpu_offload_seq = "denoiser->vae"
    _callback_tensor_inputs = ["latents"]

    def __init__(self, vae: FrameAutoencoder, denoiser: SpaceTimeDenoiser, scheduler: Any) -> None:
        super().__init__()
        self.register_modules(vae=vae, denoiser=denoiser, scheduler=scheduler)

    # -- properties read by the family adapter ---------------------------------------------------------
    @property
    def native_size(self) -> tuple[int, int]:
        """(width, height) in pixels the denoiser was trained at."""
        h, w = self.denoiser.config.sample_size
        return w * FrameAutoencoder.spatial_factor, h * FrameAutoencoder.spatial_factor

    def slots(self, prompt: str | None = None, event: str | None = None, conditions: str | None = None,
              road: str | None = None, allow_partial: bool = False) -> SlotIndices:
        """Embedding rows for a prompt/slots (raises ValidationError for a prompt the model cannot read)."""
        return resolve_slots(self.denoiser.config, prompt, event, conditions, road, allow_partial)

    @torch.no_grad()
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> normalised latents (N, C, H/8, W/8)."""
        return self.vae.encode(frames.to(self.device, self.vae.dtype))

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, C, T, h, w) -> (B, T, 3, H, W) in [0, 1], one clip at a time (bounded memory)."""
        clips = []
        for clip in latents:
            frames = self.vae.decode(clip.permute(1, 0, 2, 3).to(self.vae.dtype))
            clips.append((frames.float() + 1.0) / 2.0)
        return torch.stack(clips).clamp(0.0, 1.0)

    def predict(self, latents: torch.Tensor, t: torch.Tensor, first: torch.Tensor, rows: list[SlotIndices],
                ) -> torch.Tensor:
        """One batched denoiser call: each row of `rows` gets its own copy of `latents` (B=1 each)."""
        n = len(rows)
        index = {k: torch.tensor([getattr(r, k) for r in rows], device=latents.device) for k in
                 ("event", "conditions", "road")}
        model_in = self.scheduler.scale_model_input(latents.repeat(n, 1, 1, 1, 1), t)
        timestep = torch.as_tensor(t, device=latents.device, dtype=torch.float32).expand(n * latents.shape[0])
        out = self.denoiser(model_in, timestep, first.repeat(n, 1, 1, 1), index["event"].repeat_interleave(
            latents.shape[0]), index["conditions"].repeat_interleave(latents.shape[0]),
            index["road"].repeat_interleave(latents.shape[0]))
        return out.chunk(n)

    @torch.no_grad()
    def __call__(self, image: Any, prompt: str | None = None, event: str | None = None,
                 conditions: str | None = None, road: str | None = None, negative_prompt: str | None = None,
                 guidance_scale: float = 4.0, num_inference_steps: int = 25, num_frames: int = 16,
                 height: int = 144, width: int = 256, generator: torch.Generator | None = None,
                 latents: torch.Tensor | None = None, output_type: str = "np", return_dict: bool = True,
                 callback_on_step_end: Callable | None = None,
                 callback_on_step_end_tensor_inputs: list[str] | None = None) -> Any:
        """Generate one clip.

        image: the first frame (PIL, uint8 H×W×3, or tensor 3×H×W in [0, 1]); resized to width×height.
        prompt / event / conditions / road: the scenario; explicit slot ids override the prompt's.
        negative_prompt: slots to steer away from (unnamed slots use the null embedding).
        guidance_scale: w in uncond + w·(cond − uncond); 1 = conditional only, 0 = unconditional only.
        height/width: pixels, multiples of 16. num_frames: frames in the clip, frame 0 is `image`.
        Returns EmbeddedI2VPipelineOutput (or a tuple) with `frames`, see its docstring.
        """
        callback_on_step_end_tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        for name in callback_on_step_end_tensor_inputs:
            if name not in self._callback_tensor_inputs:
                raise ValueError(f"callback tensor input '{name}' is not one of {self._callback_tensor_inputs}.")
        if height % 16 or width % 16:
            raise ValueError(f"height and width must be multiples of 16, got {width}x{height}.")
        if num_frames < 2:
            raise ValueError(f"num_frames must be at least 2, got {num_frames}.")
        cond = self.slots(prompt, event, conditions, road)
        uncond = self.slots(negative_prompt, allow_partial=True) if negative_prompt else SlotIndices.null()
        if guidance_scale == 1.0:
            rows = [cond]
        elif guidance_scale == 0.0:
            rows = [uncond]
        else:
            rows = [uncond, cond]  # batched pair: one denoiser call per step

        device, dtype = self.device, self.denoiser.dtype
        first = self.encode_frames(image_to_tensor(image, width, height)).to(dtype)  # (1, C, h, w)
        c, h, w = first.shape[1:]
        shape = (1, c, num_frames, h, w)
        if latents is None:
            latents = torch.randn(shape, generator=generator, device=generator.device if generator else "cpu",
                                  dtype=torch.float32).to(device, dtype)
        latents = latents * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        residual = bool(getattr(self.denoiser.config, "residual", False))
        # The diffused variable: the change from frame 0 (residual models) or the latents themselves.
        known = torch.zeros_like(first) if residual else first
        latents[:, :, 0] = known
        with self.progress_bar(total=len(timesteps)) as progress:
            for i, t in enumerate(timesteps):
                preds = self.predict(latents, t, first, rows)
                pred = preds[0] if len(preds) == 1 else preds[0] + guidance_scale * (preds[1] - preds[0])
                latents = self.scheduler.step(pred, t, latents, return_dict=False)[0]
                latents[:, :, 0] = known  # replacement: frame 0 stays the conditioning frame
                if callback_on_step_end is not None:
                    tensors = {"latents": latents}
                    kwargs = {name: tensors[name] for name in callback_on_step_end_tensor_inputs}
                    result = callback_on_step_end(self, i, t, kwargs) or {}
                    latents = result.get("latents", latents)
                progress.update()

        if residual:
            latents = latents + first[:, :, None]
        if output_type == "latent":
            frames: Any = latents
        else:
            video = self.decode_latents(latents)  # (1, T, 3, H, W) in [0, 1]
            if output_type == "pt":
                frames = video
            elif output_type == "np":
                frames = video.permute(0, 1, 3, 4, 2).cpu().float().numpy()
            elif output_type == "pil":
                frames = [[PIL.Image.fromarray((f * 255 + 0.5).astype(np.uint8)) for f in clip]
                          for clip in video.permute(0, 1, 3, 4, 2).cpu().float().numpy()]
            else:
                raise ValueError(f"output_type must be 'np', 'pt', 'pil' or 'latent', got '{output_type}'.")
        self.maybe_free_model_hooks()
        if not return_dict:
            return (frames,)
        return EmbeddedI2VPipelineOutput(frames=frames)
