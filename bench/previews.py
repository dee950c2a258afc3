"""Live-preview cost: one preview (core/previews.py) against one denoising step.

For each family with published factors, a realistic step-latent shape (random values: the cost of a
linear map does not depend on them) goes through `family.preview_frame`, exactly as the engine calls it
on a due step (format lookup, LTX unpacking, projection, copy to a uint8 array):

- Wan 2.1 I2V, 832x480, 81 frames:       [1, 16, 21, 60, 104]  (B, C, T, h, w)
- Wan 2.2 TI2V-5B, 1280x704, 121 frames: [1, 48, 31, 44, 80]
- LTX-Video, 1280x704, 41 frames:        [1, 5280, 128] packed (6 x 22 x 40 latent grid)
- SVD-XT, 1024x576, 25 frames:           [1, 25, 4, 72, 128]  (B, T, C, h, w)

A full-size denoising step cannot be timed on a CPU, so the step here is the tiny Wan pipeline's
(tests/tiny_pipelines.py, 64x64, 9 frames), timed through Engine.generate as the gap between progress
reports. The ratio against it says only that a preview is small next to even a toy step; the <=5 %
bar against real step times (seconds for a 5B model on a GPU) must be checked on a GPU.

    python -m bench.previews [--runs 30] [--steps 12] [--threads 1] [--out PATH]   # writes section "previews" of docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from bench import report

CASES: tuple[tuple[str, str, tuple[int, ...], tuple[int, int, int]], ...] = (
    # (label, family, step-latent shape, (width, height, frames))
    ("Wan 2.1 I2V 832x480x81", "wan_i2v", (1, 16, 21, 60, 104), (832, 480, 81)),
    ("Wan 2.2 TI2V-5B 1280x704x121", "wan_i2v", (1, 48, 31, 44, 80), (1280, 704, 121)),
    ("LTX-Video 1280x704x41", "ltx_i2v", (1, 6 * 22 * 40, 128), (1280, 704, 41)),
    ("SVD-XT 1024x576x25", "svd", (1, 25, 4, 72, 128), (1024, 576, 25)),
)


WARMUP_CALLS = 5  # the first calls of a new shape pay one-off costs (allocator, einsum path), tens of ms


def timed(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of `runs` calls after WARMUP_CALLS warm-up calls, and the last result."""
    for _ in range(WARMUP_CALLS):
        result = call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def stand_in_pipe(family: str, channels: int) -> Any:
    """Just what preview_frame reads from a loaded pipeline: the VAE's channels (and LTX's packing)."""
    pipe = SimpleNamespace(vae=SimpleNamespace(config={"latent_channels": channels, "z_dim": channels}))
    if family == "ltx_i2v":
        from diffusers import LTXImageToVideoPipeline

        pipe._unpack_latents = LTXImageToVideoPipeline._unpack_latents  # the pipeline's own unpacking
        pipe.vae_spatial_compression_ratio, pipe.vae_temporal_compression_ratio = 32, 8
        pipe.transformer_spatial_patch_size = pipe.transformer_temporal_patch_size = 1
    return pipe


def preview_cost(runs: int) -> list[tuple[str, tuple[int, ...], tuple[int, ...], float]]:
    """(case, latent shape, preview shape, median seconds per preview) for every case."""
    import torch

    from core.families import get_family
    from core.families.base import ResolvedSettings

    rows = []
    for label, family_name, shape, (width, height, frames) in CASES:
        family = get_family(family_name)
        channels = shape[2] if family_name in ("svd", "ltx_i2v") else shape[1]
        pipe = stand_in_pipe(family_name, channels)
        settings = ResolvedSettings(prompt="", negative_prompt="", width=width, height=height, num_frames=frames,
                                    fps=8, num_inference_steps=50, guidance_scale=5.0)
        latents = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        seconds, frame = timed(lambda: family.preview_frame(pipe, latents, settings), runs)
        if frame is None:
            raise RuntimeError(f"{label}: no preview frame; check configs/latent_previews.yaml")
        rows.append((label, shape, frame.shape, seconds))
    return rows


def tiny_step_and_preview(runs: int, steps: int) -> tuple[float, float]:
    """(median seconds per denoising step, median seconds per preview) of the tiny Wan pipeline on CPU."""
    import torch
    from PIL import Image

    from core.engine import Engine
    from core.families import get_family
    from core.loading import PipelineCache
    from core.request import GenerationRequest
    from tests.tiny_pipelines import TINY_DEFAULTS, build_tiny_pipeline

    width, height, frames = TINY_DEFAULTS["wan_i2v"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_pipeline("wan_i2v", Path(tmp) / "tiny-wan")
        image = Path(tmp) / "first.png"
        Image.new("RGB", (width, height), (90, 120, 150)).save(image)
        stamps: list[float] = []
        request = GenerationRequest(image=str(image), scenario="dust_storm_debris", model=str(folder),
                                    num_inference_steps=steps, num_frames=frames, width=width, height=height,
                                    fps=8, seed=7)
        engine = Engine(output_dir=Path(tmp) / "clips", cache=PipelineCache())
        engine.generate(request, on_progress=lambda p: stamps.append(p.elapsed_s))
        step = statistics.median(b - a for a, b in zip(stamps, stamps[1:]))
        latents = torch.randn(1, 16, (frames - 1) // 4 + 1, height // 8, width // 8)
        preview, _ = timed(lambda: get_family("wan_i2v").preview_frame(stand_in_pipe("wan_i2v", 16), latents), runs)
    return step, preview


def body(rows, step: float, tiny_preview: float, runs: int, steps: int, load: str, threads: int) -> str:
    lines = [
        "## Live previews (cost of one preview)",
        "",
        f"Median of {runs} calls after {WARMUP_CALLS} warm-up calls, CPU, torch threads = {threads}."
        f" Load average at start: {load}.",
        "",
        "| Case | Step latents | Preview (h×w×3) | Preview time | vs tiny Wan step |",
        "|---|---|---|---|---|",
    ]
    for label, shape, frame_shape, seconds in rows:
        lines.append(f"| {label} | {'×'.join(map(str, shape))} | {frame_shape[0]}×{frame_shape[1]} | "
                     f"{seconds * 1e3:.2f} ms | {100 * seconds / step:.1f} % |")
    lines += [
        f"| tiny Wan (64×64, 9 frames) | 1×16×3×8×8 | 8×8 | {tiny_preview * 1e3:.3f} ms | "
        f"{100 * tiny_preview / step:.2f} % |",
        "",
        f"Tiny Wan denoising step on this CPU: {step * 1e3:.1f} ms (median gap between the progress reports of "
        f"one {steps}-step Engine.generate run). A preview is computed on every 5th step and the last, so the per-step average is "
        "about a fifth of the figures above.",
        "",
        "**Not yet checked against real steps.** A full-size step cannot run on this CPU, and this machine has "
        "no GPU. A 5B-14B video model's step on a GPU is expected to take seconds (not measured here); there "
        "the projection runs on the GPU and copies one small frame back, which this bench does not time. The "
        "≤5 % bar has to be measured on a GPU, against the step times of `python -m bench.generation`. "
        "The tiny step's time moves with the shared CPU's load, so its ratio column is rough.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed preview calls per case")
    parser.add_argument("--steps", type=int, default=12, help="denoising steps of the tiny Wan run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared, loaded CPU more threads mostly wait on each other)")
    parser.add_argument("--out", type=Path, default=None, help="file to write (default docs/PERFORMANCE.md)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    rows = preview_cost(args.runs)
    step, tiny_preview = tiny_step_and_preview(args.runs, args.steps)
    text = body(rows, step, tiny_preview, args.runs, args.steps, load, args.threads)
    print(text)
    report.write_section("previews", text, command=f"python -m bench.previews --runs {args.runs} --steps {args.steps} --threads {args.threads}", path=args.out)


if __name__ == "__main__":
    main()
