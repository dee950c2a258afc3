"""Audit bars (issue 5), written to section "audit" of docs/PERFORMANCE.md.

    python -m bench.audit                      # both bars
    python -m bench.audit --part existing      # audit-existing: 64 clips of 40 frames at 1280x720
    python -m bench.audit --part generate      # generate-and-audit: default model, 8 conditions x 8 clips

Bar 1, generate-and-audit: the embedded default model (assets/default_model), every catalogue condition,
8 clips each, the model's own defaults (25 steps, CFG 4, 16 frames at 256x144), metrics pipelined with
generation. Target: at most 5 minutes on the 2-core machine. When assets/default_model is not there
yet, `--proxy-untrained` (automatic then) builds the same architecture with untrained weights under
runs/bench-audit/: generation time depends on the architecture and step count, not on the weights, so
the generation part is representative; the metric part runs on noise-like clips. `--clips-per-condition`
lower than 8 measures fewer clips and projects the 64-clip time linearly (said so in the report).

Bar 2, audit-existing: 64 procedural clips (8 per condition) of 40 frames at 1280x720 and 10 fps, made
once with core.synth and cached under runs/bench-audit/ (git-ignored), audited with two metric workers.
Target: at most 90 s. The audit folder is fresh each run, so nothing is resumed.

Wall-clock figures depend on what else runs on the machine; the 1-minute load average before and
after each part is written next to it. Run heavy parts with `nice -n 10` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from bench.report import write_section
from core.paths import DEFAULT_MODEL_DIR, PROJECT_ROOT

CACHE = PROJECT_ROOT / "runs" / "bench-audit"
TARGET_GENERATE_S = 300.0
TARGET_EXISTING_S = 90.0


def _load() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else float("nan")


def existing_clips(count_per_condition: int, width: int, height: int, frames: int) -> Path:
    """The cached procedural 720p set: <cache>/existing-<w>x<h>-<frames>f-<n>/<condition>/*.mp4 (+ labels)."""
    from core.catalogue import default_catalogue
    from core.synth import write_reference_set

    conditions = list(default_catalogue().conditions)
    folder = CACHE / f"existing-{width}x{height}-{frames}f-{count_per_condition * len(conditions)}"
    marker = folder / ".complete"
    if not marker.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        write_reference_set(folder, conditions, count_per_condition, base_seed=2026, num_frames=frames, fps=10,
                            width=width, height=height)
        marker.write_text(f"rendered in {time.perf_counter() - start:.0f} s\n", encoding="utf-8")
    return folder


def bench_existing(args: argparse.Namespace) -> dict:
    from core.audit.export import export_reports
    from core.audit.plan import parse_plan
    from core.audit.runner import run_audit

    width, height = (int(v) for v in args.size.split("x"))
    folder = existing_clips(args.existing_per_condition, width, height, args.frames)
    out = CACHE / "audit-existing"
    shutil.rmtree(out, ignore_errors=True)
    data = {"name": "bench-existing", "clips": str(folder)}
    reference = None
    if args.reference_per_condition:
        # A 256x144 procedural reference: FVD features are 112-px crops, so its size barely matters for the cost.
        reference = existing_clips(args.reference_per_condition, 256, 144, args.frames)
        data["reference"] = str(reference)
        for cache in reference.rglob(".scenario-studio-features-*.npz"):
            cache.unlink()  # time the reference encoding too, as a first audit against it would
    plan = parse_plan(data)
    load_before = _load()
    start = time.perf_counter()
    audit = run_audit(plan, out, workers=args.workers)
    audit_s = time.perf_counter() - start
    start = time.perf_counter()
    export_reports(audit)
    report_s = time.perf_counter() - start
    measured = [c for c in audit.clips if c.error is None]
    per_clip = sorted(c.seconds.get("measure", 0.0) for c in measured)
    return {"clips": len(audit.clips), "audit_s": audit_s, "report_s": report_s, "load_before": load_before,
            "load_after": _load(), "per_clip_median_s": per_clip[len(per_clip) // 2] if per_clip else None,
            "workers": args.workers or 2, "verdict": audit.verdict, "size": f"{width}x{height}", "frames": args.frames,
            "reference_clips": sum(1 for _ in reference.rglob("*.mp4")) if reference else 0}


def _proxy_model() -> Path:
    """The default model's architecture with untrained (seed 0) weights, saved once under the cache."""
    import torch

    from core.default_model.factory import ModelSpec, build_pipeline

    folder = CACHE / "untrained-default-architecture"
    if not (folder / "model_index.json").is_file():
        torch.manual_seed(0)
        build_pipeline(ModelSpec()).save_pretrained(folder, safe_serialization=True)
    return folder


def bench_generate(args: argparse.Namespace) -> dict:
    from core.audit.export import export_reports
    from core.audit.plan import parse_plan
    from core.audit.runner import run_audit

    proxy = args.proxy_untrained or (args.model == "embedded-default" and not DEFAULT_MODEL_DIR.is_dir())
    model = str(_proxy_model()) if proxy else args.model
    data = {"name": "bench-generate", "conditions": "all", "clips_per_condition": args.clips_per_condition,
            "base_seed": 0, "model": model}
    if args.steps:
        data["num_inference_steps"] = args.steps
    plan = parse_plan(data)
    out = CACHE / ("audit-generate" + (f"-{args.steps}steps" if args.steps else ""))
    shutil.rmtree(out, ignore_errors=True)
    load_before = _load()
    start = time.perf_counter()
    audit = run_audit(plan, out, workers=1)
    audit_s = time.perf_counter() - start
    export_reports(audit)
    timings = audit.provenance.timings
    clips = len(audit.clips)
    return {"clips": clips, "audit_s": audit_s, "generate_s": timings["generate_s"], "measure_s": timings["measure_s"],
            "load_before": load_before, "load_after": _load(), "proxy": proxy, "model": model,
            "steps": args.steps or "model default (25)", "projected_64_s": audit_s * 64 / clips if clips else None,
            "verdict": audit.verdict, "ranking": [r.group for r in audit.cross.ranking], "notes": audit.cross.notes,
            "summary": [(c.group, c.measures["tcs"].value if c.measures.get("tcs") else None, c.verdict)
                        for c in audit.conditions]}


def _status(seconds: float | None, target: float) -> str:
    return "–" if seconds is None else ("meets" if seconds <= target else "misses")


def render(existing: list[dict], generates: list[dict]) -> str:
    lines = ["## Audits (issue 5 bars)", "",
             "| bar | target | measured | status | notes |", "|---|---|---|---|---|"]
    for g in generates:
        full = g["clips"] >= 64
        measured = f"{g['audit_s']:.0f} s for {g['clips']} clips" + ("" if full else f" → {g['projected_64_s']:.0f} s projected for 64")
        model = ("untrained weights in the default model's architecture (assets/default_model not there yet)"
                 if g["proxy"] else g["model"])
        lines.append(f"| generate-and-audit, 8 conditions × 8 clips | ≤ {TARGET_GENERATE_S:.0f} s | {measured} | "
                     f"{_status(g['projected_64_s'], TARGET_GENERATE_S)} | {model}; steps {g['steps']}, CFG 4; generation "
                     f"{g['generate_s']:.0f} s ({g['generate_s'] / max(1, g['clips']):.1f} s per clip), metrics "
                     f"{g['measure_s']:.1f} s (overlapped with generation); load {g['load_before']} → {g['load_after']} "
                     f"on 2 cores |")
    for e in existing:
        with_reference = (f" with FVD/KVD against {e['reference_clips']} reference clips (256x144, encoded in the run)"
                          if e.get("reference_clips") else "")
        lines.append(f"| audit-existing, {e['clips']} clips × {e['frames']} frames at {e['size']}{with_reference} | "
                     f"≤ {TARGET_EXISTING_S:.0f} s | "
                     f"{e['audit_s']:.1f} s (+ {e['report_s']:.1f} s report) | {_status(e['audit_s'], TARGET_EXISTING_S)} | "
                     f"{e['workers']} metric workers, median {e['per_clip_median_s']:.2f} s per clip per worker; load "
                     f"{e['load_before']} → {e['load_after']} on 2 cores |")
    partial = [g for g in generates if g["proxy"] or g["clips"] < 64]
    if partial:
        lines += ["", "**Still to measure:** the full bar, 64 clips with the trained default model "
                  "(`nice -n 10 python -m bench.audit --part generate` once assets/default_model exists)."]
    budget = TARGET_GENERATE_S / 64
    lines += ["", f"Generate-and-audit time is generation time: metrics for a 16-frame 256×144 clip take a fraction of a "
              f"second and run on a worker thread while the next clip generates. The 5-minute bar leaves {budget:.1f} s "
              "per clip, generation included. Each denoising step with CFG runs the denoiser on a batch of two, so the "
              "time per clip is close to proportional to the step count; the audit plan's `num_inference_steps` "
              "trades time for quality, and the audit itself reports what that costs in TCS, flags and first-frame "
              "fidelity (see the per-condition summaries in the audit folders under runs/bench-audit/)."]
    for g in generates:
        if g.get("summary"):
            rows = "; ".join(f"{c} {'–' if t is None else f'{t:.3f}'} ({v})" for c, t, v in g["summary"])
            lines += ["", f"Per-condition TCS and verdict at {g['steps']} steps: {rows}. Overall verdict: {g['verdict']}."
                      + (f" Ranking, best first: {', '.join(g['ranking'])}." if g.get("ranking") else "")
                      + "".join(f" {n}" for n in g.get("notes") or [])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "existing", "generate", "none"), default="all",
                        help="which bar to measure; 'none' rewrites the section from the last stored figures")
    parser.add_argument("--model", default="embedded-default", help="registry id or pipeline folder (generate part)")
    parser.add_argument("--proxy-untrained", action="store_true",
                        help="time the default model's architecture with untrained weights (automatic without weights)")
    parser.add_argument("--clips-per-condition", type=int, default=8, help="generate part (default 8; lower projects)")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's, 25)")
    parser.add_argument("--existing-per-condition", type=int, default=8, help="existing part: clips per condition")
    parser.add_argument("--size", default="1280x720", help="existing part: WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--frames", type=int, default=40, help="existing part: frames per clip (default 40)")
    parser.add_argument("--workers", type=int, help="existing part: metric workers (default 2)")
    parser.add_argument("--reference-per-condition", type=int, default=0,
                        help="existing part: also compute FVD/KVD against this many 256x144 reference clips per condition")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    # Each part's latest figures are kept, so running the parts separately still writes both rows.
    results_path = CACHE / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else {}
    commands = results.get("commands", {})
    for part, bench in (("existing", bench_existing), ("generate", bench_generate)):
        if args.part in ("all", part):
            key = "existing_reference" if part == "existing" and args.reference_per_condition else part
            if part == "generate" and args.steps:
                key = f"generate_{args.steps}steps"
            results[key] = bench(args)
            commands[key] = "python -m bench.audit " + " ".join(argv if argv is not None else sys.argv[1:])
            print(f"{key}: {results[key]}", flush=True)
    results["commands"] = commands
    CACHE.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    body = render([results[k] for k in ("existing", "existing_reference") if k in results],
                  [results[k] for k in sorted(results) if k.startswith("generate")])
    print(body)
    if not args.no_write:
        write_section("audit", body, command="; ".join(f"`{c}`" for c in commands.values()).strip("`"))


if __name__ == "__main__":
    main()
