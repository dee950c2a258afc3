"""The markdown of bench/generation.py's two sections of docs/PERFORMANCE.md (tiny CPU and full-size GPU)."""

from __future__ import annotations

import os
import statistics

from bench.generation_cases import FULL_CASES, Timing

GPU_COMMAND = "python -m bench.generation --runs 3"
GPU_TEST_COMMAND = "python -m pytest -m gpu tests/test_gpu_families.py"


def _med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else (f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s")


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:+.1f}%"


def _gib(timing: Timing, mode: str) -> str:
    peak = timing.peak_gib.get(mode)
    return "-" if peak is None else f"{peak:.1f} GiB"


def _load_words(load: float) -> str:
    """What the load average means for the figures beside it."""
    if load > (os.cpu_count() or 1):
        return ("other jobs shared this machine and waited for a core, so a column can differ from its "
                "neighbour by tens of percent on identical work: read differences this small as noise")
    return "other jobs may share this machine, so expect some noise"


def _notes(timings: list[Timing]) -> list[str]:
    notes = sorted({note for t in timings for note in t.notes})
    return [""] + [f"- {note}" for note in notes] if notes else []


def _cases_sentence() -> str:
    """The full-size cases in words, from FULL_CASES (one definition of what the GPU run measures)."""
    names = {"cogvideox_i2v": "CogVideoX-5B I2V", "ltx_i2v": "LTX-Video I2V", "wan_i2v": "Wan 2.1 I2V 14B 480p",
             "svd": "SVD-XT"}
    return "; ".join(f"{names.get(c.family, c.family)} ({c.num_frames} frames, {c.width}x{c.height}, {c.steps} "
                     f"steps, CFG {c.guidance:g})" for c in FULL_CASES.values())


def still_to_measure() -> list[str]:
    """What the tiny section says while no GPU run has written section `generation-gpu`."""
    return ["", "**Full-size GPU figures are still to be measured**: no GPU was available where this was run. "
            "Measure them on an 80 GB CUDA GPU (H100 or A100-80GB) with", "", f"    {GPU_COMMAND}", "",
            f"which builds, with random weights, {_cases_sentence()}; saves each to a temp folder (about 46 GB "
            "of disk for Wan: point TMPDIR at a roomy disk), times loading it back, the weights hash, the plain "
            "call, the engine, VAE tiling, model CPU offload and bf16 + torch.compile, with peak GPU memory per "
            "mode, and writes section `generation-gpu` of this file. A one-step run (two for LTX-Video) of each "
            "family at that size through the engine's adapter is checked by", "", f"    {GPU_TEST_COMMAND}"]


def render_tiny(timings: list[Timing], runs: int, gpu_section_exists: bool) -> str:
    """Markdown of section `generation`: tiny random pipelines on CPU, one row per family."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["## Generation speed (tiny random pipelines, CPU)", "",
             "Tiny random-weight pipelines from `tests/tiny_pipelines.py`, fp32 on CPU (1 thread), 2 denoising "
             f"steps, CFG 4, median of {runs} runs after one warm-up; 1-minute load average at the end of the "
             f"run: {load:.1f} on {os.cpu_count()} cores ({_load_words(load)}). "
             "*plain* is `pipe(...)`; *engine* is the engine's call path (`family.resolve` + the family adapter); "
             "*VAE tiling* is the engine path with the engine's VAE tiling on (the LTX and Wan VAEs tile from 512 and "
             "256 px, so at 64x64 only CogVideoX's, whose tiles are half its sample size, splits: the column "
             "proves the path runs, not what tiling saves); *end to end* is `Engine.generate` "
             "with first-frame validation, MP4 encode and JSON manifest. Loading is timed once from the saved "
             "folder: *from_pretrained* is the model-card load, *engine load* adds the folder checks and the "
             "weights hash before and after; *weights hash* is `core.model_folder.weights_hash` alone.", "",
             "| family | size | frames | plain | engine | engine overhead | VAE tiling | end to end | from_pretrained "
             "| engine load | weights hash |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in timings:
        p, e = _med(t.plain), _med(t.engine)
        lines.append(f"| {t.case.family} | {t.case.width}x{t.case.height} | {t.case.num_frames} | {_fmt(p)} | "
                     f"{_fmt(e)} | {_pct(e / p - 1)} | {_fmt(_med(t.vae_tiling))} | {_fmt(_med(t.end_to_end))} | "
                     f"{_fmt(t.load_s)} | {_fmt(t.engine_load_s)} | {_fmt(t.hash_s)} |")
    lines += ["", "These figures time the code paths, not the models: tiny widths make every step cheap."]
    if any(note.startswith("cogvideox_i2v: the engine path failed with vae tiling") for t in timings
           for note in t.notes):
        lines += ["", "The CogVideoX tiling failure is the tiny VAE's: its tiles are 4 latent pixels and the tiled "
                  "encode of a 64x64 frame comes out one latent too wide. At the published 720x480 geometry the "
                  "tiled encode keeps the 90x60 latents (`tests/test_bench_generation.py`), and the GPU run "
                  "times tiling there."]
    lines += _notes(timings)
    if gpu_section_exists:
        return "\n".join(lines + ["", "Full-size GPU figures are in the section *Generation speed (full-size, GPU)*."])
    return "\n".join(lines + still_to_measure())


def render_gpu(timings: list[Timing], runs: int) -> str:
    """Markdown of section `generation-gpu`: speed table, then loading and memory-option table."""
    lines = ["## Generation speed (full-size, GPU)", "",
             "Published architectures built with random weights (speed does not depend on weight values), "
             f"median of {runs} runs after one warm-up. *plain*: model-card `pipe(...)` call; *engine*: the "
             "engine's call path on the same pipe; *best*: bf16 + torch.compile of the denoiser (compile time is "
             "the warm-up column). CFG is batched inside the CogVideoX, LTX-Video and SVD pipelines; Wan runs "
             "the transformer twice per step. Peak memory is `torch.cuda.max_memory_allocated`, reset per mode.",
             "", "| family | size | frames | steps | plain | engine | engine overhead | best | speed-up "
             "| compile warm-up | peak GPU memory |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in timings:
        p, e, b = _med(t.plain), _med(t.engine), _med(t.best)
        speedup = "-" if b is None else f"{p / b:.2f}x"
        lines.append(f"| {t.case.family} | {t.case.width}x{t.case.height} | {t.case.num_frames} | {t.case.steps} | "
                     f"{_fmt(p)} | {_fmt(e)} | {_pct(e / p - 1)} | {_fmt(b)} | {speedup} | "
                     f"{_fmt(t.compile_warmup_s)} | {_gib(t, 'engine')} |")
    lines += ["", "Loading (timed once, from the folder the random pipeline was just saved to, so the OS may serve "
              "it from its page cache) and the engine's memory options (median of runs, engine path, no warm-up "
              "of their own):", "",
              "| family | from_pretrained + to(cuda) | engine load | weights hash | peak, load | VAE tiling "
              "| peak, VAE tiling | CPU offload | peak, CPU offload | peak, best |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for t in timings:
        lines.append(f"| {t.case.family} | {_fmt(t.load_s)} | {_fmt(t.engine_load_s)} | {_fmt(t.hash_s)} | "
                     f"{_gib(t, 'load')} | {_fmt(_med(t.vae_tiling))} | {_gib(t, 'vae_tiling')} | "
                     f"{_fmt(_med(t.cpu_offload))} | {_gib(t, 'cpu_offload')} | {_gib(t, 'best')} |")
    return "\n".join(lines + _notes(timings))


def summary_line(t: Timing) -> str:
    """One line per case for the terminal."""
    return (f"{t.case.family}: plain {_fmt(_med(t.plain))}, engine {_fmt(_med(t.engine))}, best {_fmt(_med(t.best))}, "
            f"end to end {_fmt(_med(t.end_to_end))}, load {_fmt(t.load_s)}, hash {_fmt(t.hash_s)}")
