"""Generation speed: a plain diffusers call against the engine's call path and its best settings.

Full-size mode (needs a CUDA GPU) builds the published architectures with random weights, in code
(bench/generation_cases.py: CogVideoX-5B I2V, LTX-Video, Wan 2.1 I2V 14B 480p, SVD-XT), since nothing
can be downloaded and speed does not depend on weight values. Each is saved to a temp folder with
safetensors and loaded back, so loading is timed as a user meets it. Per case it times:
1. loading, once: model-card `from_pretrained` + `.to(device)`; `core.model_folder.weights_hash`
   (cold); the engine's load (folder checks, hash before and after, from_pretrained, placement);
2. plain  - `pipe(...)` exactly as a model card calls it, at `--plain-dtype` (bf16 by default);
3. engine - the engine's call path: `family.resolve(...)` then `FAMILY(pipe, image, settings, ...)`,
            same pipe and dtype, so engine overhead = engine / plain - 1;
4. the engine's memory options on the engine path: VAE tiling, then model CPU offload;
5. best   - the engine's best settings: bf16 plus torch.compile of the denoiser (compile time is the
            warm-up, reported apart). speed-up = plain / best.
Modes 2-5 are medians of `--runs` runs (plain/engine after one warm-up), with peak GPU memory per mode
(torch.cuda.max_memory_allocated, reset before each). Batched CFG is native to the CogVideoX, LTX and
SVD pipelines (uncond and cond in one forward); Wan runs two forwards per step.

`--tiny` mode runs every family's tiny random pipeline (tests/tiny_pipelines.py) on CPU, 2 steps,
through the same loading, plain, engine and VAE-tiling code, plus the full Engine.generate (validation,
MP4 encode and manifest included); CPU offload and compile are GPU-only and noted as skipped.

    python -m bench.generation --tiny                 # CPU, writes section "generation"
    python -m bench.generation --runs 3               # CUDA GPU, writes section "generation-gpu"

Both write their section of docs/PERFORMANCE.md (or `--out PATH`) through bench.report.write_section.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench import report
from bench.generation_cases import FULL_BUILDERS, FULL_CASES, FULL_FAMILIES, Case, Timing
from bench.generation_report import render_gpu, render_tiny, summary_line

__all__ = ["FULL_BUILDERS", "FULL_CASES", "FULL_FAMILIES", "Case", "Timing", "main", "render_gpu", "render_tiny"]
PROMPT = "dashcam view of a tire blowout debris field during daytime on a four-lane interstate"


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


def case_defaults(case: Case) -> Any:
    """The case as a model's registry defaults, so the engine resolves exactly the case's request."""
    from core.families.base import ModelDefaults

    return ModelDefaults(num_frames=case.num_frames, fps=case.fps, width=case.width, height=case.height,
                         num_inference_steps=case.steps, guidance_scale=case.guidance)


def engine_call(pipe: Any, case: Case, image: Any, generator: Any) -> np.ndarray:
    """The engine's generation path: resolve the request against the model's rules, then the adapter."""
    from core.families import get_family

    family = get_family(case.family)
    settings = family.resolve(pipe, case_defaults(case), prompt=PROMPT, negative_prompt="", width=None,
                              height=None, num_frames=None, fps=None, num_inference_steps=None, guidance_scale=None)
    assert not settings.adjustments, f"bench case {case} breaks the family rules: {settings.adjustments}"
    return family(pipe, image, settings, generator, lambda step, total, latents: None)


@dataclass(frozen=True)
class Target:
    """Where a case runs: device ("cuda" or "cpu") and dtype name ("bfloat16", "float32")."""

    device: str
    dtype: str

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def sync(self) -> None:
        """Drain queued GPU work, so a wall-clock reading covers it."""
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        """Peak GPU memory allocated since the last reset, GiB; None on CPU."""
        if not self.cuda:
            return None
        import torch

        return torch.cuda.max_memory_allocated() / 2**30

    def free(self) -> None:
        """Return dropped modules' memory (after `del`), so the next mode starts from the same floor."""
        import gc

        gc.collect()
        if self.cuda:
            import torch

            torch.cuda.empty_cache()


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


def measure(timing: Timing, mode: str, target: Target, runs: int, call: Callable[[], Any]) -> list[float]:
    """`runs` timed calls; the mode's peak GPU memory goes into timing.peak_gib[mode]."""
    target.reset_peak()
    seconds = [timed(call, target.sync) for _ in range(runs)]
    if (peak := target.peak_gib()) is not None:
        timing.peak_gib[mode] = peak
    return seconds


def _empty_hash_cache() -> None:
    """Point this process's data folder, and so the file-hash cache (core.hash_cache), at a new empty
    scratch folder: the next hash reads every byte, and the user's own cache is never touched."""
    os.environ["SCENARIO_STUDIO_DATA"] = tempfile.mkdtemp(prefix="bench-hash-cache-")


def bench_loading(timing: Timing, folder: Path, target: Target) -> Any:
    """Time loading the saved pipeline: model-card from_pretrained, weights hash, engine load. Returns the pipe.

    Each is timed once (a second load would read the page cache a first one filled); the folder was just
    written, so the OS may serve it from memory either way, which the report says.
    """
    from core.families import get_family
    from core.loading import LoadOptions, PipelineCache
    from core.model_folder import weights_hash
    from core.registry import ResolvedModel

    import torch

    family, name = get_family(timing.case.family), timing.case.family
    target.reset_peak()
    start = time.perf_counter()
    pipe = family.pipeline_class().from_pretrained(str(folder), use_safetensors=True,
                                                   dtype=getattr(torch, target.dtype)).to(target.device)
    target.sync()
    timing.load_s = time.perf_counter() - start
    if (peak := target.peak_gib()) is not None:
        timing.peak_gib["load"] = peak
    del pipe
    target.free()
    _empty_hash_cache()  # the hash caches per file; empty it so this times reading every byte
    timing.hash_s = timed(lambda: weights_hash(folder), lambda: None)
    _empty_hash_cache()  # and the engine load below hashes cold too, as a first load does
    model = ResolvedModel(str(folder), name, folder, case_defaults(timing.case), "path")
    start = time.perf_counter()
    loaded = PipelineCache().get(model, LoadOptions(device=target.device, dtype=target.dtype))
    target.sync()
    timing.engine_load_s = time.perf_counter() - start
    timing.notes.extend(loaded.notes)
    return loaded.pipe


def bench_plain_and_engine(pipe: Any, timing: Timing, runs: int, target: Target) -> None:
    """One warm-up, then `runs` alternating plain/engine calls (alternating cancels slow drifts in load)."""
    case, image = timing.case, first_frame(timing.case.width, timing.case.height)
    plain_call(pipe, case, image, _generator())  # warm-up: allocator, kernel selection, lazy imports
    target.reset_peak()
    for _ in range(runs):
        timing.plain.append(timed(lambda: plain_call(pipe, case, image, _generator()), target.sync))
        timing.engine.append(timed(lambda: engine_call(pipe, case, image, _generator()), target.sync))
    if (peak := target.peak_gib()) is not None:
        timing.peak_gib["engine"] = peak


def _measure_option(timing: Timing, mode: str, target: Target, runs: int, call: Callable[[], Any]) -> None:
    """Time one option; a pipeline the option breaks gets a note (the failure is a finding, not a crash
    that would lose every figure measured so far)."""
    try:
        setattr(timing, mode, measure(timing, mode, target, runs, call))
    except (RuntimeError, ValueError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        timing.notes.append(f"{timing.case.family}: the engine path failed with {mode.replace('_', ' ')} on "
                            f"({type(exc).__name__}: {first_line})")


def bench_options(pipe: Any, timing: Timing, runs: int, target: Target) -> None:
    """The engine's memory options, one at a time on the engine path: VAE tiling, then model CPU offload.

    Each option is undone afterwards, so the next mode (and the compiled best run) sees the plain pipe.
    """
    from core.families import get_family

    case, family = timing.case, get_family(timing.case.family)
    image = first_frame(case.width, case.height)

    def call() -> Any:
        return engine_call(pipe, case, image, _generator())

    if (note := family.enable_vae_tiling(pipe)) is not None:
        timing.notes.append(note)
    else:
        try:
            _measure_option(timing, "vae_tiling", target, runs, call)
        finally:
            pipe.vae.disable_tiling()
    if (note := family.enable_cpu_offload(pipe, target.device)) is not None:
        timing.notes.append(note)
    else:
        try:
            _measure_option(timing, "cpu_offload", target, runs, call)
        finally:
            pipe.remove_all_hooks()  # back to every module resident on the GPU
            pipe.to(target.device)
            target.free()


def bench_best(pipe: Any, timing: Timing, runs: int, target: Target) -> None:
    """Compile the denoiser in place (the pipe's last use), time the compiling warm-up, then `runs` calls."""
    from core.families import get_family

    case, image = timing.case, first_frame(timing.case.width, timing.case.height)
    note = get_family(case.family).compile_denoiser(pipe, target.device)
    if note:
        timing.notes.append(note)
    timing.compile_warmup_s = timed(lambda: engine_call(pipe, case, image, _generator()), target.sync)
    timing.best = measure(timing, "best", target, runs, lambda: engine_call(pipe, case, image, _generator()))


# ----- modes -----

def _save(pipe: Any, folder: Path) -> Path:
    """Save a pipeline exactly as a published checkpoint is laid out (safetensors, one folder per part)."""
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def run_full(families: list[str], runs: int, steps: int | None, plain_dtype: str) -> list[Timing]:
    """Full-size architectures on CUDA, one family in memory (and on disk) at a time.

    Build on the GPU, save to a temp folder (Wan 2.1 14B takes about 46 GB of disk in bf16: set TMPDIR
    to a roomy disk), drop it, then load it back the two ways and run every mode on the loaded pipe.
    """
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("full-size mode needs a CUDA GPU; use --tiny on CPU.")
    target = Target("cuda", plain_dtype)
    timings = []
    for name in families:
        case = FULL_CASES[name]
        if steps:
            case = Case(**{**case.__dict__, "steps": steps})
        with tempfile.TemporaryDirectory(prefix=f"bench-generation-{name}-") as tmp:
            built = FULL_BUILDERS[name]("cuda", getattr(torch, plain_dtype))
            folder = _save(built, Path(tmp) / name)
            del built
            target.free()
            timing = Timing(case, plain=[], engine=[])
            pipe = bench_loading(timing, folder, target)  # fully on the GPU: the folder can go
        bench_plain_and_engine(pipe, timing, runs, target)
        bench_options(pipe, timing, runs, target)
        if plain_dtype != "bfloat16":
            pipe.to(dtype=torch.bfloat16)  # "best" is always bf16
        bench_best(pipe, timing, runs, target)
        timings.append(timing)
        del pipe
        target.free()
    return timings


def run_tiny(families: list[str], runs: int) -> list[Timing]:
    """Tiny random pipelines on CPU, fp32, 2 steps: every mode that runs on CPU, plus Engine.generate."""
    from core.engine import Engine
    from core.request import GenerationRequest
    from tests.tiny_pipelines import TINY_DEFAULTS, build_tiny_pipeline

    import torch

    # One intra-op thread: on a small shared CPU, more threads mostly measure contention.
    torch.set_num_threads(1)
    target = Target("cpu", "float32")
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-generation-") as tmp:
        for name in families:
            width, height, frames = TINY_DEFAULTS[name]
            timing = Timing(Case(name, width, height, frames, 2, 4.0, 8), plain=[], engine=[])
            pipe = bench_loading(timing, build_tiny_pipeline(name, Path(tmp) / name), target)
            bench_plain_and_engine(pipe, timing, runs, target)
            bench_options(pipe, timing, runs, target)
            timing.notes.append("no best-settings row: bf16 and torch.compile are GPU-only in the engine")
            engine = Engine(output_dir=Path(tmp) / "clips")
            request = GenerationRequest(image=np.asarray(first_frame(320, 180)), prompt=PROMPT,
                                        model=str(Path(tmp) / name), num_inference_steps=2, num_frames=frames,
                                        width=width, height=height, fps=8, seed=0, guidance_scale=4.0)
            engine.generate(request)  # loads the model into the engine's cache
            timing.end_to_end = [timed(lambda: engine.generate(request), target.sync) for _ in range(runs)]
            timings.append(timing)
    return timings


def main(argv: list[str] | None = None) -> int:
    from tests.tiny_pipelines import TINY_FAMILIES

    parser = argparse.ArgumentParser(prog="python -m bench.generation", description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random pipelines on CPU instead of full size on GPU")
    parser.add_argument("--families", nargs="+", help="families to time (default: all tiny ones, or the full cases)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per mode; the median is reported")
    parser.add_argument("--steps", type=int, help="full-size mode: override each case's denoising steps")
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
        report.write_section("generation", render_tiny(timings, args.runs, gpu_exists), command.strip(), path=out)
    else:
        timings = run_full(families, args.runs, args.steps, args.plain_dtype)
        report.write_section("generation-gpu", render_gpu(timings, args.runs), command.strip(), path=out)
    for t in timings:
        print(summary_line(t))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
