"""The "procedural reference" set: per-condition folders of synthetic clips that audits use as real clips.

Each clip stays in its condition from frame 0 (no transition), with event and road drawn per clip, so a
folder is a fair sample of that condition across the catalogue.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.atomic import write_json_atomic
from core.catalogue import default_catalogue
from core.synth.render import render_clip
from core.synth.spec import ClipSpec, clip_labels, stable_rng, validate_spec
from core.video_io import write_mp4


def reference_specs(conditions: list[str], clips_per_condition: int, base_seed: int, num_frames: int = 40,
                    fps: int = 10, width: int = 256, height: int = 144) -> list[ClipSpec]:
    """The specs write_reference_set renders, in order: condition by condition, clip by clip."""
    catalogue = default_catalogue()
    events, roads = sorted(catalogue.events), sorted(catalogue.roads)
    specs = []
    for condition in conditions:
        catalogue.condition(condition)
        for index in range(clips_per_condition):
            rng = stable_rng("reference", base_seed, condition, index)
            specs.append(validate_spec(ClipSpec(
                event=events[int(rng.integers(len(events)))], conditions=condition,
                road=roads[int(rng.integers(len(roads)))], seed=int(rng.integers(0, 2**31 - 1)),
                start_conditions=None, num_frames=num_frames, fps=fps, width=width, height=height)))
    return specs


def write_reference_set(out_dir: Path, conditions: list[str], clips_per_condition: int, base_seed: int,
                        num_frames: int = 40, fps: int = 10, width: int = 256, height: int = 144) -> list[Path]:
    """Render and write `clips_per_condition` clips per condition under out_dir/<condition id>/.

    Each clip is `<condition>_<index>_<event>_<road>_s<seed>.mp4` (H.264 via core.video_io.write_mp4)
    with a same-named `.json` holding clip_labels(spec). Defaults are the field's 4 s at 10 fps, at the
    embedded model's 256×144; pass width=1280, height=720 for full dashcam size. Returns the MP4 paths.
    """
    out_dir = Path(out_dir)
    paths: list[Path] = []
    for spec in reference_specs(conditions, clips_per_condition, base_seed, num_frames, fps, width, height):
        folder = out_dir / spec.conditions
        index = sum(1 for p in paths if p.parent == folder)
        stem = f"{spec.conditions}_{index:03d}_{spec.event}_{spec.road}_s{spec.seed}"
        frames: np.ndarray = render_clip(spec)
        mp4 = write_mp4(frames, folder / f"{stem}.mp4", fps=spec.fps)
        write_json_atomic(folder / f"{stem}.json", clip_labels(spec))
        paths.append(mp4)
    return paths
