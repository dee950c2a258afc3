"""Live previews: a cheap look at the clip while it denoises, from published linear latent-to-RGB factors.

No VAE decode: each latent cell is mapped to one RGB pixel by a C×3 matrix (plus a 3-vector bias), the
method of ComfyUI's Latent2RGBPreviewer (factors and their source in configs/latent_previews.yaml). The
frame is at latent resolution (e.g. 104×60 for Wan at 832×480); the page scales it up for display.

The latents are the pipeline's step latents (x_t after the scheduler step), not the predicted clean
sample ComfyUI previews, so early previews look noisier than ComfyUI's; the last step's is nearly clean.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from core.errors import ValidationError

PREVIEWS_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "latent_previews.yaml"
DEFAULT_EVERY = 5  # steps between previews; the last step always gets one

#: Axis orders of the step latents a family hands to `project_frame`.
LAYOUTS = ("BCTHW", "BTCHW", "BCHW")


@dataclass(frozen=True)
class LatentPreviewSpec:
    """One published latent format: `factors` is C×3 (rows: latent channels; columns: R, G, B)."""

    format: str
    channels: int
    factors: tuple[tuple[float, float, float], ...]
    bias: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class FamilyPreviews:
    """What a family offers: the formats it may use, or why it has none (`none` is that sentence)."""

    family: str
    formats: tuple[LatentPreviewSpec, ...] = ()
    none: str | None = None


def _spec(family: str, entry: dict) -> LatentPreviewSpec:
    channels = int(entry["channels"])
    factors = tuple(tuple(float(v) for v in row) for row in entry["factors"])
    bias = None if entry.get("bias") is None else tuple(float(v) for v in entry["bias"])
    if len(factors) != channels or any(len(row) != 3 for row in factors) or (bias is not None and len(bias) != 3):
        raise ValidationError(f"{PREVIEWS_CONFIG.name}: {family}/{entry.get('format')} must have {channels} rows "
                              "of 3 factors and a bias of 3 values.")
    return LatentPreviewSpec(format=str(entry["format"]), channels=channels, factors=factors, bias=bias)


@lru_cache(maxsize=4)
def load_previews(path: Path = PREVIEWS_CONFIG) -> dict[str, FamilyPreviews]:
    """Every family's preview formats, read once from the YAML file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    result: dict[str, FamilyPreviews] = {}
    for family, entry in (data.get("families") or {}).items():
        formats = tuple(_spec(family, f) for f in entry.get("formats") or ())
        none = entry.get("none")
        if not formats and not none:
            raise ValidationError(f"{Path(path).name}: {family} needs `formats` or a `none` reason.")
        result[family] = FamilyPreviews(family=family, formats=formats, none=none)
    return result


def select_spec(family: str, channels: int | None, label: str = "") -> tuple[LatentPreviewSpec | None, str | None]:
    """The format whose channel count matches the loaded VAE's, else None and one sentence saying why."""
    previews = load_previews().get(family)
    name = label or family
    if previews is None:
        return None, f"no live preview: no latent-to-RGB factors are configured for the {name} family"
    if previews.none:
        return None, f"no live preview: {previews.none}"
    for spec in previews.formats:
        if channels == spec.channels:
            return spec, None
    wanted = " or ".join(f"{s.channels} ({s.format})" for s in previews.formats)
    return None, (f"no live preview: this {name} checkpoint's latents have {channels} channels, but the published "
                  f"latent-to-RGB factors need {wanted}")


def check_cadence(every: int) -> int:
    """The preview cadence in steps, refused below 1."""
    if int(every) < 1:
        raise ValidationError(f"preview cadence must be at least 1 step, got {every}.")
    return int(every)


def preview_due(step: int, total: int, every: int = DEFAULT_EVERY) -> bool:
    """True on steps every, 2·every, … and on the last step (steps count from 1)."""
    return step == total or step % check_cadence(every) == 0


def _frame_chw(latents: Any, layout: str) -> Any:
    """Batch 0's middle latent frame as a C×H×W tensor (the middle: frame 0 is the given first frame)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown latent layout '{layout}'; allowed values: {', '.join(LAYOUTS)}.")
    if latents.ndim != len(layout):
        raise ValueError(f"latents of shape {tuple(latents.shape)} do not match layout {layout}.")
    sample = latents[0]
    if layout == "BCTHW":
        return sample[:, sample.shape[1] // 2]
    if layout == "BTCHW":
        return sample[sample.shape[0] // 2]
    return sample


def project_frame(latents: Any, spec: LatentPreviewSpec, layout: str) -> np.ndarray | None:
    """One preview frame, uint8 h×w×3 at latent resolution, or None when the channels do not match.

    latents: a torch tensor in `layout` (B, C, T, h, w / B, T, C, h, w / B, C, h, w), any device/dtype.
    rgb = factorsᵀ·latent + bias, then clamp((rgb + 1) / 2, 0, 1) · 255, as ComfyUI's preview does.
    """
    import torch

    frame = _frame_chw(latents, layout).detach()
    if frame.shape[0] != spec.channels:
        return None  # callers report it through select_spec's sentence; never a wrong-coloured frame
    factors = torch.tensor(spec.factors, dtype=torch.float32, device=frame.device)
    rgb = torch.einsum("chw,cr->hwr", frame.float(), factors)
    if spec.bias is not None:
        rgb = rgb + torch.tensor(spec.bias, dtype=torch.float32, device=frame.device)
    # Truncation to uint8, as ComfyUI does (so a figure here matches one there).
    return ((rgb + 1.0) / 2.0).clamp(0.0, 1.0).mul(255.0).to(torch.uint8).cpu().numpy()
