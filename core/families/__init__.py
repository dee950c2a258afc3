"""Pipeline families, one file each. Found by name; modules import lazily (diffusers is heavy)."""

from __future__ import annotations

import importlib

from core.errors import ValidationError
from core.families.base import PipelineFamily

# family name -> (module, model_index.json `_class_name` values that belong to it). Published roots name
# other pipeline classes than the image-to-video one a family drives (the LTX-Video root says LTXPipeline,
# LTX 0.9.5+ LTXConditionPipeline, Wan 2.2 TI2V-5B WanPipeline); their components are the same, so the
# family loads its own class (`PipelineFamily.pipeline_class`) from them.
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "cogvideox_i2v": ("core.families.cogvideox", ("CogVideoXImageToVideoPipeline",)),
    "wan_i2v": ("core.families.wan", ("WanImageToVideoPipeline", "WanPipeline")),
    "ltx_i2v": ("core.families.ltx", ("LTXImageToVideoPipeline", "LTXPipeline", "LTXConditionPipeline")),
    "svd": ("core.families.svd", ("StableVideoDiffusionPipeline",)),
    "embedded_default": ("core.families.embedded", ("EmbeddedI2VPipeline",)),
}


def get_family(name: str) -> PipelineFamily:
    """The adapter instance for a family name; each module exposes it as `FAMILY`."""
    if name not in FAMILIES:
        raise ValidationError(f"unknown pipeline family '{name}'; allowed values: {', '.join(sorted(FAMILIES))}.")
    return importlib.import_module(FAMILIES[name][0]).FAMILY


def family_for_class_name(class_name: str) -> str:
    """Map a model_index.json `_class_name` to a family name, or refuse it."""
    for family, (_, class_names) in FAMILIES.items():
        if class_name in class_names:
            return family
    supported = ", ".join(sorted(c for _, names in FAMILIES.values() for c in names))
    raise ValidationError(f"pipeline class '{class_name}' is not supported; supported classes: {supported}.")
