"""Copy a trained pipeline folder into assets/ as the shipped embedded default model.

Only what loading needs is copied (model_index.json, each component's config and safetensors
weights, the scheduler config), the 40 MB budget is enforced, and the folder is checked to load.

    python -m core.default_model.shipping runs/default_model/pipeline_step_000250
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from core.errors import ValidationError
from core.paths import DEFAULT_MODEL_DIR

MAX_BYTES = 40 * 1024 * 1024  # issue 6: at most 40 MB of weights in the repository
KEEP_SUFFIXES = (".json", ".safetensors")


def ship(source: Path, dest: Path = DEFAULT_MODEL_DIR, provenance: dict | None = None) -> dict:
    """Replace the weights in `dest` with those of pipeline folder `source` (MODEL_CARD.md is kept).

    Returns {"bytes": total weight bytes, "files": [...]} and writes dest/provenance.json."""
    source, dest = Path(source), Path(dest)
    if not (source / "model_index.json").exists():
        raise ValidationError(f"'{source}' is not a diffusers pipeline folder (no model_index.json).")
    files = [p for p in source.rglob("*") if p.is_file() and p.suffix in KEEP_SUFFIXES]
    weights = sum(p.stat().st_size for p in files if p.suffix == ".safetensors")
    if weights > MAX_BYTES:
        raise ValidationError(f"weights are {weights / 2**20:.1f} MiB; the shipped model may hold at most 40 MiB.")
    if any(p.suffix in (".bin", ".pt", ".ckpt", ".pth") for p in source.rglob("*")):
        raise ValidationError(f"'{source}' holds pickle weights; only safetensors are shipped.")
    for component in ("vae", "denoiser", "scheduler"):
        shutil.rmtree(dest / component, ignore_errors=True)
    for path in files:
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    info = {"source": str(source), "weight_bytes": weights, **(provenance or {})}
    (dest / "provenance.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    from core.default_model.pipeline import EmbeddedI2VPipeline

    EmbeddedI2VPipeline.from_pretrained(dest, use_safetensors=True)  # refuse to leave a folder that cannot load
    return {"bytes": weights, "files": sorted(str(p.relative_to(source)) for p in files)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ship a trained pipeline folder into assets/default_model")
    parser.add_argument("source", type=Path)
    parser.add_argument("--dest", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--note", default="", help="free-text provenance note (e.g. the step and loss)")
    args = parser.parse_args(argv)
    print(json.dumps(ship(args.source, args.dest, {"note": args.note} if args.note else None), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
