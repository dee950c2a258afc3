"""Bundled sample first frames: `python -m core.synth.samples [OUT_DIR]` rewrites assets/sample_frames/.

Each PNG is frame 0 of a procedural clip at 640×360, named `<conditions>_<road>.png`, and index.json
lists every file with its slots, seed and prompt, so the studio can offer them as ready-made uploads.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image

from core.atomic import atomic_path, write_json_atomic
from core.paths import SAMPLE_FRAMES_DIR
from core.synth.render import render_first_frame
from core.synth.spec import ClipSpec, clip_labels

SAMPLE_WIDTH, SAMPLE_HEIGHT = 640, 360
# (conditions, road, event, seed): every condition at least once, every road at least twice, clear day
# (what users usually start from) on every road.
SAMPLES: tuple[tuple[str, str, str, int], ...] = (
    ("clear_day", "four_lane_interstate", "normal_traffic", 11),
    ("clear_day", "two_lane_highway", "truck_overtaking", 12),
    ("clear_day", "rural_road", "road_obstacle", 13),
    ("clear_day", "urban_arterial", "pedestrian_on_shoulder", 14),
    ("clear_day", "mountain_pass", "normal_traffic", 15),
    ("clear_day", "desert_highway", "tire_debris", 16),
    ("heavy_rain", "four_lane_interstate", "truck_overtaking", 21),
    ("heavy_rain", "urban_arterial", "erratic_cut_in", 22),
    ("dust_storm", "desert_highway", "tire_debris", 31),
    ("dust_storm", "two_lane_highway", "normal_traffic", 32),
    ("night", "four_lane_interstate", "construction_zone", 41),
    ("night", "urban_arterial", "emergency_vehicle", 42),
    ("fog", "two_lane_highway", "stalled_vehicle", 51),
    ("snow", "mountain_pass", "normal_traffic", 61),
    ("low_sun_glare", "four_lane_interstate", "sudden_braking", 71),
    ("dusk", "rural_road", "animal_crossing", 81),
)
MAX_PNG_BYTES = 100_000


def _png_bytes(frame: np.ndarray) -> bytes:
    """Lossless PNG; a busy frame (rain, snow) that would exceed 100 KB gets a 256/128/64-colour palette."""
    image = Image.fromarray(frame)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    for colours in (256, 128, 64):
        if buffer.tell() <= MAX_PNG_BYTES:
            break
        buffer = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_sample_frames(out_dir: Path = SAMPLE_FRAMES_DIR) -> list[Path]:
    """Render every sample's first frame to out_dir as PNG and write out_dir/index.json; return the PNGs."""
    out_dir = Path(out_dir)
    entries, paths = [], []
    for conditions, road, event, seed in SAMPLES:
        spec = ClipSpec(event=event, conditions=conditions, road=road, seed=seed, num_frames=1,
                        width=SAMPLE_WIDTH, height=SAMPLE_HEIGHT)
        path = out_dir / f"{conditions}_{road}.png"
        with atomic_path(path) as tmp:
            tmp.write_bytes(_png_bytes(render_first_frame(spec)))
        labels = clip_labels(spec)
        entries.append({"file": path.name, "event": event, "conditions": conditions, "road": road, "seed": seed,
                        "width": SAMPLE_WIDTH, "height": SAMPLE_HEIGHT, "prompt": labels["prompt"],
                        "synthetic": True, "generator": labels["generator"],
                        "note": "frame 0 of the procedural clip for this spec (core.synth.render_first_frame)"})
        paths.append(path)
    write_json_atomic(out_dir / "index.json", {"samples": entries})
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the bundled sample first frames.")
    parser.add_argument("out_dir", nargs="?", type=Path, default=SAMPLE_FRAMES_DIR)
    args = parser.parse_args(argv)
    for path in write_sample_frames(args.out_dir):
        print(f"{path}  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
