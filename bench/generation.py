"""Generation speed: a plain diffusers call against the engine's call path and its best settings.

Full-size mode (needs a CUDA GPU) builds the published architectures with random weights, in code, since
nothing can be downloaded and speed does not depend on weight values:

- CogVideoX-5B I2V: 49 frames at 720x480, 50 steps, CFG 6 (batched inside the pipeline);
- LTX-Video (0.9.0) I2V: 41 frames at 1280x704, 50 steps, CFG 3 (batched inside the pipeline).

For each it times, as the median of `--runs` runs after one warm-up run:
1. plain  - `pipe(...)` exactly as a model card calls it, at `--plain-dtype` (bf16 by default);
2. engine - the engine's call path: `family.resolve(...)` then `FAMILY(pipe, image, settings, ...)`,
            same pipe and dtype, so engine overhead = engine / plain - 1;
3. best   - the engine's best settings: bf16 plus torch.compile of the denoiser (compile time is the
            warm-up, reported apart). speed-up = plain / best.
Batched CFG is native to both families' pipelines (uncond and cond in one forward), so it is on in all
three; Wan is the family without it (two forwards per step).

`--tiny` mode runs every family's tiny random pipeline (tests/tiny_pipelines.py) on CPU, 2 steps:
plain, engine, and the full Engine.generate (validation, MP4 encode and manifest included).

    python -m bench.generation --tiny                 # CPU, writes section "generation"
    python -m bench.generation --runs 3               # CUDA GPU, writes section "generation-gpu"

Both write their section of docs/PERFORMANCE.md (or `--out PATH`) through bench.report.write_section.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench import report

FULL_FAMILIES = ("cogvideox_i2v", "ltx_i2v")
PROMPT = "dashcam view of a tire blowout debris field during daytime on a four-lane interstate"


@dataclass(frozen=True)
class Case:
    """One timed generation: size in pixels, frame count, denoising steps, CFG scale, fps."""

    family: str
    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    fps: int


FULL_CASES = {
    "cogvideox_i2v": Case("cogvideox_i2v", 720, 480, 49, 50, 6.0, 8),
    "ltx_i2v": Case("ltx_i2v", 1280, 704, 41, 50, 3.0, 25),
}


@dataclass
class Timing:
    """Seconds per run for each mode of one case; `best` is None where it cannot run (CPU)."""

    case: Case
    plain: list[float]
    engine: list[float]
    best: list[float] | None = None
    compile_warmup_s: float | None = None
    end_to_end: list[float] | None = None
    peak_gib: float | None = None
    notes: list[str] = field(default_factory=list)


# ----- full-size architectures (numbers copied from the published configs; see the report) -----

def t5_v1_1_xxl_config() -> Any:
    """google/t5-v1_1-xxl encoder (CogVideoX and LTX-Video text encoder): 24 layers, 4096 wide, 64 heads."""
    from transformers import T5Config

    return T5Config(vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                    relative_attention_num_buckets=32, relative_attention_max_distance=128,
                    feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.1,
                    tie_word_embeddings=False, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)


def _on_device(factory: Callable[[], Any], device: str, dtype: Any) -> Any:
    """Build a module directly on `device` (no host copy of billions of weights), then cast it."""
    import torch

    with torch.device(device):
        module = factory()
    return module.to(dtype=dtype).eval()


def build_full_cogvideox(device: str, dtype: Any) -> Any:
    """THUDM/CogVideoX-5b-I2V: 42 blocks, 48 heads x 64, learned pos. emb. for 90x60 latents x 49 frames."""
    from diffusers import (AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXImageToVideoPipeline,
                           CogVideoXTransformer3DModel)
    from transformers import T5EncoderModel

    from tests.tiny_pipelines import _tokenizer

    transformer = _on_device(lambda: CogVideoXTransformer3DModel(
        num_attention_heads=48, attention_head_dim=64, in_channels=32, out_channels=16, time_embed_dim=512,
        text_embed_dim=4096, num_layers=42, sample_width=90, sample_height=60, sample_frames=49, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226, spatial_interpolation_scale=1.875,
        temporal_interpolation_scale=1.0, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True), device, dtype)
    vae = _on_device(lambda: AutoencoderKLCogVideoX(
        block_out_channels=(128, 256, 256, 512), latent_channels=16, layers_per_block=3, norm_num_groups=32,
        temporal_compression_ratio=4, sample_height=480, sample_width=720, scaling_factor=0.7), device, dtype)
    text_encoder = _on_device(lambda: T5EncoderModel(t5_v1_1_xxl_config()), device, dtype)
    scheduler = CogVideoXDDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       clip_sample=False, prediction_type="v_prediction", rescale_betas_zero_snr=True,
                                       set_alpha_to_one=True, snr_shift_scale=1.0, timestep_spacing="trailing")
    # Token ids do not change the speed: a word-level tokenizer padding to the same 226 tokens stands in.
    return CogVideoXImageToVideoPipeline(tokenizer=_tokenizer(226), text_encoder=text_encoder, vae=vae,
                                         transformer=transformer, scheduler=scheduler)


def build_full_ltx(device: str, dtype: Any) -> Any:
    """Lightricks/LTX-Video 0.9.0: 28 blocks, 32 heads x 64, 128-channel latents at 32x spatial, 8x temporal."""
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)
    from transformers import T5EncoderModel

    from tests.tiny_pipelines import _tokenizer

    transformer = _on_device(lambda: LTXVideoTransformer3DModel(
        in_channels=128, out_channels=128, patch_size=1, patch_size_t=1, num_attention_heads=32,
        attention_head_dim=64, cross_attention_dim=2048, num_layers=28, caption_channels=4096,
        qk_norm="rms_norm_across_heads", norm_elementwise_affine=False, norm_eps=1e-6), device, dtype)
    vae = _on_device(lambda: AutoencoderKLLTXVideo(
        latent_channels=128, block_out_channels=(128, 256, 512, 512),
        decoder_block_out_channels=(128, 256, 512, 512), layers_per_block=(4, 3, 3, 3, 4),
        decoder_layers_per_block=(4, 3, 3, 3, 4), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True, False),
        decoder_inject_noise=(False, False, False, False, False), upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1), patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0,
        encoder_causal=True, decoder_causal=False, timestep_conditioning=False), device, dtype)
    text_encoder = _on_device(lambda: T5EncoderModel(t5_v1_1_xxl_config()), device, dtype)
    scheduler = FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                base_image_seq_len=1024, max_image_seq_len=4096, shift_terminal=0.1)
    return LTXImageToVideoPipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                                   tokenizer=_tokenizer(128), transformer=transformer)


FULL_BUILDERS: dict[str, Callable[[str, Any], Any]] = {"cogvideox_i2v": build_full_cogvideox,
                                                        "ltx_i2v": build_full_ltx}


# ----- the three ways of calling -----

def first_frame(width: int, height: int) -> Any:
    """A smooth synthetic RGB first frame of the case's size."""
    import PIL.Image

    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return PIL.Image.fromarray(rgb.astype(np.uint8))


def plain_call(pipe: Any, case: Case, image: Any, generator: Any) -> Any:
    """The model-card call. Prompt lengths match what the adapter passes, so both encode the same tokens."""
    common = dict(image=image, height=case.height, width=case.width, num_frames=case.num_frames,
                  num_inference_steps=case.steps, generator=generator, output_type="np")
    if case.family == "svd":
        return pipe(min_guidance_scale=1.0, max_guidance_scale=case.guidance, fps=case.fps, **common).frames
    limit = int(getattr(pipe.tokenizer, "model_max_length", 512))
    if case.family == "cogvideox_i2v":
        extra: dict[str, Any] = {"max_sequence_length": int(pipe.transformer.config.max_text_seq_length)}
    elif case.family == "wan_i2v":
        extra = {"max_sequence_length": min(512, limit)}
    else:
        extra = {"max_sequence_length": min(128, limit), "frame_rate": case.fps}
    return pipe(prompt=PROMPT, negative_prompt="", guidance_scale=case.guidance, **extra, **common).frames


def engine_call(pipe: Any, case: Case, image: Any, generator: Any) -> np.ndarray:
    """The engine's generation path: resolve the request against the model's rules, then the adapter."""
    from core.families import get_family
    from core.families.base import ModelDefaults

    family = get_family(case.family)
    defaults = ModelDefaults(num_frames=case.num_frames, fps=case.fps, width=case.width, height=case.height,
                             num_inference_steps=case.steps, guidance_scale=case.guidance)
    settings = family.resolve(pipe, defaults, prompt=PROMPT, negative_prompt="", width=None, height=None,
                              num_frames=None, fps=None, num_inference_steps=None, guidance_scale=None)
    assert not settings.adjustments, f"bench case {case} breaks the family rules: {settings.adjustments}"
    return family(pipe, image, settings, generator, lambda step, total, latents: None)


def timed(run: Callable[[], Any], sync: Callable[[], None]) -> float:
    """Wall seconds of one call, with the device drained before and after."""
    sync()
    start = time.perf_counter()
    run()
    sync()
    return time.perf_counter() - start


def _generator() -> Any:
    import torch

    return torch.Generator(device="cpu").manual_seed(0)  # the engine seeds a CPU generator too


def bench_plain_and_engine(pipe: Any, case: Case, runs: int, sync: Callable[[], None]) -> Timing:
    """One warm-up, then `runs` alternating plain/engine calls (alternating cancels slow drifts in load)."""
    image = first_frame(case.width, case.height)
    plain_call(pipe, case, image, _generator())  # warm-up: allocator, kernel selection, lazy imports
    timing = Timing(case, plain=[], engine=[])
    for _ in range(runs):
        timing.plain.append(timed(lambda: plain_call(pipe, case, image, _generator()), sync))
        timing.engine.append(timed(lambda: engine_call(pipe, case, image, _generator()), sync))
    return timing


def bench_best(pipe: Any, timing: Timing, runs: int, device: str, sync: Callable[[], None]) -> None:
    """Compile the denoiser in place (the pipe's last use), time the compiling warm-up, then `runs` calls."""
    from core.families import get_family

    case, image = timing.case, first_frame(timing.case.width, timing.case.height)
    note = get_family(case.family).compile_denoiser(pipe, device)
    if note:
        timing.notes.append(note)
    timing.compile_warmup_s = timed(lambda: engine_call(pipe, case, image, _generator()), sync)
    timing.best = [timed(lambda: engine_call(pipe, case, image, _generator()), sync) for _ in range(runs)]


# ----- modes -----

def run_full(families: list[str], runs: int, steps: int | None, plain_dtype: str) -> list[Timing]:
    """Full-size architectures on CUDA; bf16 best settings; one family in memory at a time."""
    import gc

    import torch

    if not torch.cuda.is_available():
        raise SystemExit("full-size mode needs a CUDA GPU; use --tiny on CPU.")
    dtype = getattr(torch, plain_dtype)
    timings = []
    for name in families:
        case = FULL_CASES[name]
        if steps:
            case = Case(**{**case.__dict__, "steps": steps})
        pipe = FULL_BUILDERS[name]("cuda", dtype)
        pipe.set_progress_bar_config(disable=True)
        torch.cuda.reset_peak_memory_stats()
        timing = bench_plain_and_engine(pipe, case, runs, torch.cuda.synchronize)
        if dtype != torch.bfloat16:
            pipe.to(dtype=torch.bfloat16)  # "best" is always bf16
        bench_best(pipe, timing, runs, "cuda", torch.cuda.synchronize)
        timing.peak_gib = torch.cuda.max_memory_allocated() / 2**30
        timings.append(timing)
        del pipe
        gc.collect()
        torch.cuda.empty_cache()
    return timings


def run_tiny(families: list[str], runs: int) -> list[Timing]:
    """Tiny random pipelines on CPU, fp32, 2 steps; adds the full Engine.generate (MP4 + manifest)."""
    from core.engine import Engine
    from core.families import get_family
    from core.request import GenerationRequest
    from tests.tiny_pipelines import TINY_DEFAULTS, build_tiny_pipeline

    import torch

    # One intra-op thread: on a small shared CPU, more threads mostly measure contention.
    torch.set_num_threads(1)
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp:
        for name in families:
            width, height, frames = TINY_DEFAULTS[name]
            case = Case(name, width, height, frames, 2, 4.0, 8)
            folder = build_tiny_pipeline(name, Path(tmp) / name)
            pipe = get_family(name).pipeline_class().from_pretrained(str(folder), use_safetensors=True)
            pipe.set_progress_bar_config(disable=True)
            timing = bench_plain_and_engine(pipe, case, runs, lambda: None)
            timing.notes.append("no best-settings row: bf16 and torch.compile are GPU-only in the engine")
            engine = Engine(output_dir=Path(tmp) / "clips")
            request = GenerationRequest(image=np.asarray(first_frame(320, 180)), prompt=PROMPT, model=str(folder),
                                        num_inference_steps=2, num_frames=frames, width=width, height=height,
                                        fps=8, seed=0, guidance_scale=4.0)
            engine.generate(request)  # loads the model into the engine's cache
            timing.end_to_end = [timed(lambda: engine.generate(request), lambda: None) for _ in range(runs)]
            timings.append(timing)
    return timings


# ----- report -----

def _med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def _fmt(seconds: float | None) -> str:
    return "-" if seconds is None else (f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s")


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:+.1f}%"


def render(timings: list[Timing], tiny: bool, runs: int, gpu_section_exists: bool = False) -> str:
    """Markdown body of the section: one row per case, medians of `runs` runs."""
    lines = ["## Generation speed" + (" (tiny random pipelines, CPU)" if tiny else " (full-size, GPU)"), ""]
    if tiny:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        lines += ["Tiny random-weight pipelines from `tests/tiny_pipelines.py`, fp32 on CPU (1 thread), 2 denoising "
                  f"steps, CFG 4, median of {runs} runs after one warm-up; 1-minute load average at the end of the "
                  f"run: {load:.1f} on {os.cpu_count()} cores (other jobs share this machine, so expect noise). "
                  "*plain* is `pipe(...)`; *engine* is the engine's call "
                  "path (`family.resolve` + the family adapter); *end to end* is `Engine.generate` with first-frame "
                  "validation, MP4 encode and JSON manifest.", "",
                  "| family | size | frames | plain | engine | engine overhead | end to end |",
                  "|---|---|---|---|---|---|---|"]
        for t in timings:
            p, e = _med(t.plain), _med(t.engine)
            lines.append(f"| {t.case.family} | {t.case.width}x{t.case.height} | {t.case.num_frames} | {_fmt(p)} | "
                         f"{_fmt(e)} | {_pct(e / p - 1)} | {_fmt(_med(t.end_to_end))} |")
        lines += ["", "These figures time the code paths, not the models: tiny widths make every step cheap."]
        if gpu_section_exists:
            lines += ["", "Full-size GPU figures are in the section *Generation speed (full-size, GPU)*."]
        else:
            lines += ["", "**Full-size GPU figures are still to be measured**: no GPU was available where this was "
                      "run. Measure them on an 80 GB CUDA GPU (H100 or A100-80GB) with",
                      "", "    python -m bench.generation --runs 3", "",
                      "which builds CogVideoX-5B I2V (49 frames, 720x480, 50 steps, CFG 6) and LTX-Video I2V "
                      "(41 frames, 1280x704, 50 steps, CFG 3) with random weights and writes section "
                      "`generation-gpu` of this file."]
        return "\n".join(lines)
    lines += ["Published architectures built with random weights (speed does not depend on weight values), "
              f"median of {runs} runs after one warm-up. *plain*: model-card `pipe(...)` call; *engine*: the "
              "engine's call path on the same pipe; *best*: bf16 + torch.compile of the denoiser (compile time is "
              "the warm-up column). CFG is batched inside both pipelines in every row.", "",
              "| family | size | frames | steps | plain | engine | engine overhead | best | speed-up "
              "| compile warm-up | peak GPU memory |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for t in timings:
        p, e, b = _med(t.plain), _med(t.engine), _med(t.best)
        speedup = "-" if b is None else f"{p / b:.2f}x"
        peak = "-" if t.peak_gib is None else f"{t.peak_gib:.1f} GiB"
        lines.append(f"| {t.case.family} | {t.case.width}x{t.case.height} | {t.case.num_frames} | {t.case.steps} | "
                     f"{_fmt(p)} | {_fmt(e)} | {_pct(e / p - 1)} | {_fmt(b)} | {speedup} | "
                     f"{_fmt(t.compile_warmup_s)} | {peak} |")
    notes = sorted({note for t in timings for note in t.notes})
    return "\n".join(lines + ([""] + [f"- {note}" for note in notes] if notes else []))


def main(argv: list[str] | None = None) -> int:
    from tests.tiny_pipelines import TINY_FAMILIES

    parser = argparse.ArgumentParser(prog="python -m bench.generation", description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random pipelines on CPU instead of full size on GPU")
    parser.add_argument("--families", nargs="+", help="families to time (default: all tiny ones, or the full cases)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per mode; the median is reported")
    parser.add_argument("--steps", type=int, help="full-size mode: override the 50 denoising steps")
    parser.add_argument("--plain-dtype", default="bfloat16", choices=("bfloat16", "float16", "float32"),
                        help="full-size mode: dtype of the plain and engine rows (best is always bf16)")
    parser.add_argument("--out", type=Path, help="markdown file to write (default docs/PERFORMANCE.md)")
    args = parser.parse_args(argv)
    allowed = TINY_FAMILIES if args.tiny else FULL_FAMILIES
    families = args.families or list(allowed)
    unknown = [f for f in families if f not in allowed]
    if unknown:
        parser.error(f"unknown families {unknown}; allowed: {', '.join(allowed)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    command = "python -m bench.generation " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    out = args.out or report.PERFORMANCE_MD
    if args.tiny:
        timings = run_tiny(families, args.runs)
        gpu_exists = out.exists() and "<!-- bench:generation-gpu:start -->" in out.read_text(encoding="utf-8")
        report.write_section("generation", render(timings, True, args.runs, gpu_exists), command.strip(), path=out)
    else:
        timings = run_full(families, args.runs, args.steps, args.plain_dtype)
        report.write_section("generation-gpu", render(timings, False, args.runs), command.strip(), path=out)
    for t in timings:
        print(f"{t.case.family}: plain {_fmt(_med(t.plain))}, engine {_fmt(_med(t.engine))}, "
              f"best {_fmt(_med(t.best))}, end to end {_fmt(_med(t.end_to_end))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
