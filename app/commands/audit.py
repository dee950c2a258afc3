"""`scenario-studio audit`: per-condition quality audit of generated or existing clips, with a report.

    scenario-studio audit --plan PLAN.yaml [--reference DIR] [--out DIR] [--compare OTHER_AUDIT]
    scenario-studio audit --clips DIR [--labels CSV] [--reference DIR] [--out DIR] [--compare OTHER_AUDIT]
    scenario-studio audit --make-reference DIR [--conditions all] [--clips-per-condition 8] [--size 256x144]

Prints a per-condition summary table and writes report.html, clips.csv, conditions.csv and
audit-report.json into the audit folder. Rerunning the same command resumes an interrupted audit.
Exit status: 0 every gate passed; 1 a gate failed (usable as a CI gate for a model release);
2 bad input (plan, option, or a clip that could not be read).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.errors import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="per-condition quality audit with gates, intervals and an offline report",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--plan", metavar="PLAN", help="audit plan (YAML or JSON): generate the clips, then audit them")
    source.add_argument("--clips", metavar="DIR", help="audit existing MP4s (condition from each clip's manifest)")
    source.add_argument("--make-reference", metavar="DIR",
                        help="write procedural reference clips, one folder per condition id, and exit")
    parser.add_argument("--labels", metavar="CSV", help="with --clips: CSV with columns clip,condition (or clip,category)")
    parser.add_argument("--reference", metavar="DIR", help="reference clips, one subfolder per condition id (FVD/KVD)")
    parser.add_argument("--out", metavar="DIR", help="audit folder (default: <data dir>/audits/<name>); rerun to resume")
    parser.add_argument("--compare", metavar="OTHER_AUDIT", help="a finished audit (folder or audit.json) to compare against")
    parser.add_argument("--name", help="audit name (default: the plan's name, or the clips folder's name)")
    parser.add_argument("--conditions", help="comma-separated condition ids, or 'all' (filters --clips; for --make-reference)")
    parser.add_argument("--group-by", choices=("conditions", "categories"), default="conditions",
                        help="with --clips: audit per condition (default) or per scenario category")
    parser.add_argument("--i3d", metavar="PATH", help="I3D TorchScript file for standard FVD (default: random 3D CNN)")
    parser.add_argument("--gates", metavar="YAML", help="gates file (default configs/gates.yaml)")
    parser.add_argument("--workers", type=int, help="metric worker threads (default 1 when generating, 2 for --clips)")
    parser.add_argument("--quiet", action="store_true", help="no per-clip progress lines on stderr")
    ref = parser.add_argument_group("--make-reference options")
    ref.add_argument("--clips-per-condition", type=int, default=8, help="clips per condition (default 8)")
    ref.add_argument("--size", default="256x144", help="WIDTHxHEIGHT (default 256x144; 1280x720 for dashcam size)")
    ref.add_argument("--frames", type=int, default=40, help="frames per clip (default 40: 4 s at 10 fps)")
    ref.add_argument("--fps", type=int, default=10, help="frame rate (default 10)")
    ref.add_argument("--seed", type=int, default=0, help="base seed of the reference set (default 0)")
    parser.set_defaults(handler=run)


def _conditions(text: str | None) -> list[str] | str | None:
    if text is None:
        return None
    return "all" if text.strip() == "all" else [c.strip() for c in text.split(",") if c.strip()]


def _make_reference(args: argparse.Namespace) -> int:
    from core.catalogue import default_catalogue
    from core.synth import write_reference_set

    catalogue = default_catalogue()
    conditions = _conditions(args.conditions) or "all"
    conditions = list(catalogue.conditions) if conditions == "all" else conditions
    for condition in conditions:
        catalogue.condition(condition)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ValidationError(f"--size must be WIDTHxHEIGHT such as 256x144, got '{args.size}'.") from None
    if args.clips_per_condition < 1:
        raise ValidationError(f"--clips-per-condition must be at least 1, got {args.clips_per_condition}.")
    paths = write_reference_set(Path(args.make_reference).expanduser(), conditions, args.clips_per_condition,
                                args.seed, num_frames=args.frames, fps=args.fps, width=width, height=height)
    print(f"wrote {len(paths)} procedural reference clips ({len(conditions)} conditions × {args.clips_per_condition}, "
          f"{width}x{height}, {args.frames} frames at {args.fps} fps) under {args.make_reference}")
    return 0


def _plan(args: argparse.Namespace) -> Any:
    from core.audit.plan import load_plan, parse_plan

    if args.plan:
        if args.labels:
            raise ValidationError("--labels goes with --clips, not with --plan.")
        plan = load_plan(args.plan)
        if args.name:
            plan.name = args.name
    else:
        data: dict[str, Any] = {"name": args.name or Path(args.clips).expanduser().resolve().name,
                                "clips": str(Path(args.clips).expanduser().resolve())}
        if args.labels:
            data["labels"] = str(Path(args.labels).expanduser().resolve())
        key = "categories" if args.group_by == "categories" else "conditions"
        if args.conditions or args.group_by == "categories":
            data[key] = _conditions(args.conditions) or "all"
        plan = parse_plan(data)
    if args.reference:
        plan.reference = str(Path(args.reference).expanduser().resolve())
    if args.i3d:
        plan.i3d = str(Path(args.i3d).expanduser().resolve())
    if args.gates:
        plan.gates = str(Path(args.gates).expanduser().resolve())
    return plan


def _progress(progress: Any) -> None:
    if progress.stage == "generating" and progress.step not in (1, progress.steps):
        return  # one line at the start and end of each generation is enough on a terminal
    eta = f"  ETA {progress.eta_s:.0f} s" if progress.eta_s is not None else ""
    step = f" step {progress.step}/{progress.steps}" if progress.stage == "generating" else ""
    print(f"[{progress.done}/{progress.total}] {progress.condition}  {progress.clip_id}  {progress.stage}{step}{eta}",
          file=sys.stderr, flush=True)


def _fmt(interval: Any, digits: int = 3) -> str:
    return "-" if interval is None else f"{interval.value:.{digits}f} [{interval.low:.{digits}f},{interval.high:.{digits}f}]"


def summary_table(audit: Any) -> str:
    """The per-condition table the command prints (plain text, fixed-width columns)."""
    header = (f"{'condition':<24} {'clips':>5}  {'verdict':<8} {'TCS [95% CI]':<22} {'coherence [95% CI]':<25} "
              f"{'sharpness [95% CI]':<22} {'rejected':>8}  {'FVD':>9}")
    lines = [header, "-" * len(header)]
    for c in audit.conditions:
        fvd = c.distances.get("fvd")
        rejected = "-" if c.rejection is None else f"{c.rejection.value:.0%}"
        lines.append(f"{c.group:<24} {c.n_clips:>5}  {c.verdict.upper():<8} {_fmt(c.measures.get('tcs')):<22} "
                     f"{_fmt(c.measures.get('temporal_coherence'), 4):<25} {_fmt(c.measures.get('sharpness')):<22} "
                     f"{rejected:>8}  {('-' if fvd is None else f'{fvd.value:.2f}'):>9}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.make_reference:
        return _make_reference(args)
    from core.audit.compare import compare_audits
    from core.audit.export import export_reports
    from core.audit.runner import run_audit
    from core.audit.store import default_audits_dir, load_audit, safe_name

    if args.workers is not None and args.workers < 1:
        raise ValidationError(f"--workers must be at least 1, got {args.workers}.")
    plan = _plan(args)
    other = load_audit(args.compare) if args.compare else None  # refuse a bad --compare before the long run
    out = Path(args.out).expanduser() if args.out else default_audits_dir() / safe_name(plan.name)
    audit = run_audit(plan, out, on_progress=None if args.quiet else _progress, workers=args.workers)
    comparison = compare_audits(other, audit) if other is not None else None
    files = export_reports(audit, comparison=comparison)
    print(summary_table(audit))
    if audit.cross.ranking:
        print("\nranking (best first): " + ", ".join(r.group for r in audit.cross.ranking))
    for extremes in audit.cross.extremes:
        if extremes.measure in ("tcs", "temporal_coherence", "sharpness", "rejection_rate") and extremes.gap is not None:
            gap = extremes.gap
            print(f"{extremes.measure}: worst {extremes.worst} ({extremes.worst_value:.4g}), best {extremes.best} "
                  f"({extremes.best_value:.4g}), gap {gap.value:.4g} [{gap.low:.4g}, {gap.high:.4g}]")
    for note in audit.cross.notes:
        print(f"note: {note}")
    errors = [c for c in audit.clips if c.error]
    for clip in errors:
        print(f"error: {clip.clip_id}: {clip.error}", file=sys.stderr)
    # Skipped clips are reported but do not fail the run: the gates judge the clips that were audited.
    for skipped in audit.skipped:
        print(f"skipped: {skipped.clip_id}: {skipped.reason}", file=sys.stderr)
    if comparison is not None:
        print(f"\ncomparison against {comparison.name_a} ({comparison.path_a}):")
        for line in comparison.summary or ["no difference whose interval excludes zero."]:
            print(f"  {line}")
    print(f"\nverdict: {audit.verdict.upper()}" + (f" ({len(audit.failing)} gate failures)" if audit.failing else ""))
    for line in audit.failing:
        print(f"  {line}")
    print(f"report: {files.html}\ncsv: {files.clips_csv}, {files.conditions_csv}\njson: {files.json}")
    if errors:
        return 2
    return 1 if audit.verdict == "fail" else 0
