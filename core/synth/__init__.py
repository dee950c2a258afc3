"""Procedural dashcam clip synthesiser (issue 6 §1).

Renders forward-facing 16:9 dashcam clips of every catalogue event, condition and road, deterministically
from a seed: training data for the embedded default model, bundled sample first frames, and the
per-condition "procedural reference" clips that audits use.

    from core.synth import ClipSpec, render_clip
    frames = render_clip(ClipSpec("tire_debris", "dust_storm", "desert_highway", seed=7,
                                  start_conditions="clear_day"))   # uint8, 16×144×256×3

The spec helpers import only numpy and the catalogue; the renderer (cv2) loads on first use, so code
that only builds specs or labels (pages, manifests) never pulls in OpenCV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.synth.spec import ClipSpec, clip_labels, random_spec

if TYPE_CHECKING:
    from core.synth.reference import write_reference_set
    from core.synth.render import render_clip, render_first_frame

_LAZY = {"render_clip": "core.synth.render", "render_first_frame": "core.synth.render",
         "write_reference_set": "core.synth.reference"}

__all__ = ["ClipSpec", "render_clip", "render_first_frame", "random_spec", "clip_labels", "write_reference_set"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.synth' has no attribute '{name}'")
