"""What hashing a model's weights costs a load, before and after the persistent hash cache (issue 12, section 1).

Builds, in a temporary folder deleted afterwards, a diffusers-shaped pipeline folder: model_index.json,
a scheduler, and a transformer of about `--gib` GiB saved by diffusers' own `save_pretrained` as sharded
safetensors with its index (an LTX-Video transformer with random weights, its depth chosen to reach the
size). Then, for each of `--runs` runs, it times the two hashes a load does (before and after
`from_pretrained`), as a fresh process would:

- BEFORE: `old_weights_hash`, the body of `core.model_folder.weights_hash` on branch `main` before this
  change, copied below as the baseline. Its cache was a dict inside the process, emptied here at the start
  of each run because each studio start is a new process: the first call reads every `.safetensors`
  byte, the second finds the dict filled.
- AFTER, empty cache: today's `weights_hash` with no cache file (a model's first load ever).
- AFTER, warm cache: today's `weights_hash` with the cache file the previous step filled (every later
  start): a stat and one SQLite query per file.
- full load: `from_pretrained` of the transformer alone, for scale, with `disable_mmap=True` so that it
  reads every weight byte (memory-mapped, it would return before reading, and the first use would pay).

Each is measured twice: with the files in the page cache (read once beforehand), and with them evicted
from this machine's page cache by `posix_fadvise(POSIX_FADV_DONTNEED)` before each timed step (a
virtual machine's host may still hold them, so "cold" reads can be faster than a bare disk).

    python -m bench.hashing --runs 5 --gib 2.0     # writes section "hashing" of docs/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench import report
from core.hash_cache import RACY_WINDOW_NS
from core.model_folder import folder_files, loaded_files, weights_hash

STEPS = ("before", "after_empty", "after_warm", "load")


# ----- the pre-change baseline: core.model_folder.weights_hash as on `main` before the hash cache -----

_old_hash_cache: dict[tuple[str, int, int], str] = {}


def _old_file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _old_hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _old_hash_cache[key] = digest.hexdigest()
    return _old_hash_cache[key]


def old_weights_hash(folder: Path) -> str:
    """BASELINE (pre-change, copied from `main`): SHA-256 over every `.safetensors` file in `folder`."""
    digest = hashlib.sha256()
    for entry in folder_files(folder):
        if entry.relative.suffix == ".safetensors":
            digest.update(entry.relative.as_posix().encode())
            digest.update(_old_file_sha256(entry.resolved).encode())
    return digest.hexdigest()


# ----- the folder -----

def _transformer_config(num_layers: int) -> dict:
    """LTX-Video 0.9 transformer shape (2048 wide), with `num_layers` blocks."""
    return dict(in_channels=128, out_channels=128, num_attention_heads=32, attention_head_dim=64,
                cross_attention_dim=2048, num_layers=num_layers, caption_channels=4096)


def _layers_for(gib: float) -> int:
    """Blocks needed for about `gib` GiB of fp32 weights, counted on the meta device (nothing allocated)."""
    import torch
    from diffusers import LTXVideoTransformer3DModel

    def size(layers: int) -> int:
        with torch.device("meta"):
            model = LTXVideoTransformer3DModel(**_transformer_config(layers))
        return sum(p.numel() * p.element_size() for p in model.parameters())

    base, per_block = size(1), size(2) - size(1)
    return max(1, round((gib * 2**30 - base) / per_block) + 1)


def build_folder(folder: Path, gib: float) -> Path:
    """model_index.json + scheduler + a sharded ~`gib` GiB transformer, as diffusers saves them."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    torch.manual_seed(0)
    model = LTXVideoTransformer3DModel(**_transformer_config(_layers_for(gib)))
    model.save_pretrained(folder / "transformer", safe_serialization=True, max_shard_size="512MB")
    del model
    FlowMatchEulerDiscreteScheduler().save_pretrained(folder / "scheduler")
    (folder / "model_index.json").write_text(json.dumps({
        "_class_name": "LTXImageToVideoPipeline", "_diffusers_version": "0.42.1",
        "transformer": ["diffusers", "LTXVideoTransformer3DModel"],
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"]}, indent=2))
    for entry in folder_files(folder):  # flushed to disk, so that their pages are clean and can be evicted
        with open(entry.resolved, "rb") as handle:
            os.fsync(handle.fileno())
    return folder


def evict(folder: Path) -> None:
    """Drop the folder's files from this machine's page cache (clean pages only; they were fsynced)."""
    for entry in folder_files(folder):
        fd = os.open(entry.resolved, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_all(folder: Path) -> None:
    """Bring every file into the page cache."""
    for entry in folder_files(folder):
        with open(entry.resolved, "rb") as handle:
            while handle.read(1 << 24):
                pass


# ----- timing -----

@dataclass
class Runs:
    """Seconds per run of each step (see STEPS), for one page-cache state."""

    page_cache: str
    seconds: dict[str, list[float]] = field(default_factory=lambda: {step: [] for step in STEPS})


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _two_hashes(hash_folder: Callable[[], str]) -> None:
    """The two hashes `core.loading._load` does, which must agree."""
    if hash_folder() != hash_folder():
        raise RuntimeError("the two hashes of an unchanged folder differ")


def one_run(folder: Path, cache_file: Path, cold: bool, runs: Runs, old_first: bool) -> None:
    """One start of each kind; `cold` evicts the files before each step. `old_first` says whether BEFORE
    runs ahead of the two AFTER steps or behind them: alternated between runs, so drift in the machine's
    load does not favour either."""
    from diffusers import LTXVideoTransformer3DModel

    def prepare() -> None:
        evict(folder) if cold else read_all(folder)

    def before() -> None:
        prepare()
        _old_hash_cache.clear()  # a new process
        runs.seconds["before"].append(_timed(lambda: _two_hashes(lambda: old_weights_hash(folder))))

    if old_first:
        before()
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{cache_file}{suffix}").unlink(missing_ok=True)
    prepare()
    runs.seconds["after_empty"].append(_timed(lambda: _two_hashes(lambda: weights_hash(folder))))
    prepare()
    runs.seconds["after_warm"].append(_timed(lambda: _two_hashes(lambda: weights_hash(folder))))
    if not old_first:
        before()
    prepare()
    runs.seconds["load"].append(_timed(lambda: LTXVideoTransformer3DModel.from_pretrained(
        str(folder), subfolder="transformer", use_safetensors=True, disable_mmap=True)))


# ----- report -----

def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(results: list[Runs], folder: Path, n_runs: int, loads: tuple[float, float]) -> str:
    total = sum(entry.resolved.stat().st_size for entry in folder_files(folder))
    hashed = loaded_files(folder)
    lines = ["## Hashing a model's weights at load (issue 12, section 1)", "",
             f"A diffusers pipeline folder of {total / 2**30:.2f} GiB ({len(folder_files(folder))} files: "
             "model_index.json, a scheduler, and an LTX-Video transformer with random weights saved by "
             "`save_pretrained` as sharded safetensors with its index), in a temporary folder on the local disk. "
             "Each cell is the median of "
             f"{n_runs} runs (BEFORE goes first in odd runs and last in even ones) of the two hashes a load "
             "does (before and after `from_pretrained`). *BEFORE* is the "
             "pre-change `weights_hash` of `main` (copied into the bench as `old_weights_hash`), as a fresh "
             "process runs it: its first call reads every `.safetensors` byte, its second is served by the "
             "dict it kept inside the process, so it pays one full read at every start. *AFTER, empty cache* "
             "is a model's first load ever (it reads and stores each file's digest in "
             "`<data dir>/file-hashes.sqlite`); *AFTER, warm cache* is every later start, in any process: "
             f"a stat and one SQLite query per file ({len(hashed)} files hashed here). The last column loads "
             "the transformer alone with diffusers, for scale: `from_pretrained(..., disable_mmap=True)`, which "
             "reads every weight byte (memory-mapped, it returns before reading and the first use pays).", "",
             "| page cache | BEFORE (main, 2 hashes) | AFTER, empty cache | AFTER, warm cache | diffusers load |",
             "|---|---|---|---|---|"]
    labels = {"warm": "files in the page cache (read just before)",
              "cold": "files evicted (`posix_fadvise DONTNEED`) before each step"}
    for runs in results:
        cells = [_fmt(statistics.median(runs.seconds[step])) for step in STEPS]
        lines.append(f"| {labels[runs.page_cache]} | " + " | ".join(cells) + " |")
    warm = {step: statistics.median(results[0].seconds[step]) for step in STEPS}
    lines += ["", f"So a model's first load ever costs what every start cost before (one read of every weight "
              f"byte, {_fmt(warm['after_empty'])} against {_fmt(warm['before'])} here with the files in the page "
              f"cache), and every later start, in any process, pays {_fmt(warm['after_warm'])} instead of "
              f"{_fmt(warm['before'])}."]
    lines += ["", "The cold rows evict the files from this virtual machine's page cache only; the host may "
              "still hold them, so a bare disk would read slower, which makes the warm-cache saving larger. "
              "Files changed within the last 2 s are never cached (racy, as in git), so the bench waits that "
              "long after writing the folder. Files that the load does not open (other variants, a "
              "single-file checkpoint beside the folders, pickled copies) are not hashed at all now, where "
              "BEFORE read every `.safetensors` in the folder; this folder has none, so the table does not "
              "show that saving.", "",
              f"1-minute load average: {loads[0]:.2f} at the start, {loads[1]:.2f} at the end, on "
              f"{os.cpu_count()} cores (other jobs share this machine)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hashing", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per step; the median is reported")
    parser.add_argument("--gib", type=float, default=2.0, help="approximate size of the weights, GiB")
    parser.add_argument("--tmp", type=Path, default=None, help="where the temporary folder goes (default: $TMPDIR)")
    parser.add_argument("--out", type=Path, help="markdown file to write (default docs/PERFORMANCE.md)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.gib <= 0:
        parser.error("--runs must be at least 1 and --gib positive")
    command = "python -m bench.hashing " + " ".join(argv if argv is not None else sys.argv[1:])
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.disable_progress_bar()  # one line per run is printed instead
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-hashing-", dir=args.tmp) as tmp:
        os.environ["SCENARIO_STUDIO_DATA"] = str(Path(tmp) / "data")  # the cache file under test
        cache_file = Path(tmp) / "data" / "file-hashes.sqlite"
        folder = build_folder(Path(tmp) / "model", args.gib)
        time.sleep(RACY_WINDOW_NS / 1e9 + 0.5)  # past the racy window, as a downloaded model would be
        results = []
        for page_cache in ("warm", "cold"):
            runs = Runs(page_cache)
            for number in range(args.runs):
                one_run(folder, cache_file, page_cache == "cold", runs, old_first=number % 2 == 0)
                print(f"{page_cache} run {number + 1}: " + ", ".join(
                    f"{step} {_fmt(runs.seconds[step][-1])}" for step in STEPS), flush=True)
            results.append(runs)
        body = render(results, folder, args.runs, (load_start, os.getloadavg()[0]))
    report.write_section("hashing", body, command.strip(), path=args.out or report.PERFORMANCE_MD)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
