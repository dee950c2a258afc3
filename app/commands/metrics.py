"""`scenario-studio metrics`: quality cards for many clips in one process, plus FVD/KVD against a reference.

Output is a table, or with --json one JSON object per line: one per clip, then one summary object
(batch rejection rate, and FVD/KVD when --reference is given). Exit status: 0 all gates passed,
1 a gate failed, 2 bad input (a clip, image or option was refused).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("metrics", help="measure clip quality: TCS, flicker, detectors, FVD/KVD, CLIP",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", metavar="CLIP", help="video files (any H.264 MP4)")
    parser.add_argument("--image", metavar="FRAME", help="conditioning image: adds first-frame PSNR/SSIM")
    parser.add_argument("--reference", metavar="DIR",
                        help="folder of real clips (or a features .npz) for FVD/KVD; features are cached in the folder")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("--flow", choices=("dis", "farneback", "tvl1"), default="dis",
                        help="optical flow for TCS, warping error and motion (default dis; tvl1 is slow)")
    parser.add_argument("--dis-preset", choices=("ultrafast", "fast", "medium"), default="fast",
                        help="DIS preset (default fast)")
    parser.add_argument("--prompt", help="text prompt for the CLIP score (same for every clip)")
    parser.add_argument("--clip-model", metavar="DIR", help="local CLIP folder (default: local Hugging Face cache)")
    parser.add_argument("--i3d", metavar="PATH", help="I3D TorchScript file for standard FVD (default: random 3D CNN)")
    parser.add_argument("--gates", metavar="YAML", help="gates file (default configs/gates.yaml)")
    parser.set_defaults(handler=run)


def _distribution(args: argparse.Namespace, clips: list[Path], gates: Any) -> dict[str, Any]:
    from core.metrics.distribution import set_distances
    from core.metrics.features import extract_features, load_i3d, random_r3d, reference_features
    from core.metrics.gates import fvd_gate, fvd_judged
    from core.metrics.result import to_jsonable

    extractor = load_i3d(args.i3d) if args.i3d else random_r3d()
    reference = reference_features(Path(args.reference).expanduser(), extractor)
    results = set_distances(reference, extract_features(clips, extractor), extractor)
    passed, why_not = fvd_gate(results["fvd"].value, fvd_judged(extractor, gates), gates)
    verdict = {"name": "fvd", "threshold": gates.gates.fvd_max, "value": results["fvd"].value, "passed": passed,
               "note": f"not judged: {why_not}" if why_not else ""}
    return {"fvd": to_jsonable(results["fvd"]), "kvd": to_jsonable(results["kvd"]), "fvd_gate": verdict}


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _table_row(card: Any) -> str:
    m = card.measures
    extra = ""
    if "first_frame_fidelity" in m:
        extra += f" psnr={_fmt(m['first_frame_fidelity'].value, 1)}dB ssim0={_fmt(m['first_frame_fidelity'].ssim)}"
    if "clip_score" in m:
        clip = m["clip_score"]
        extra += f" clip={_fmt(clip.value)}" if clip.value is not None else f" clip=({clip.note})"
    flags = " ".join(f"{f.name}{f.ranges}" for f in card.fired) or "none"
    verdict = "PASS" if card.passed else "FAIL"
    return (f"{verdict}  {card.clip}\n      tcs={_fmt(m['tcs'].value)} coherence={_fmt(m['temporal_coherence'].value, 4)} "
            f"ssim={_fmt(m['adjacent_ssim'].value)} warp={_fmt(m['warping_error'].value, 4)} "
            f"flicker={_fmt(m['flicker_index'].value)} sharp={_fmt(m['sharpness'].value)} "
            f"motion={_fmt(m['motion'].value, 2)}px{extra}\n      flags: {flags}   "
            f"({card.timings['total']:.2f} s)")


def run(args: argparse.Namespace) -> int:
    from core.metrics.card import iter_cards
    from core.metrics.clip_score import load_clip
    from core.metrics.fidelity import load_image
    from core.metrics.flow import FlowConfig
    from core.metrics.gates import load_gates

    gates = load_gates(args.gates)
    flow = FlowConfig(args.flow, args.dis_preset)
    clips = [Path(c).expanduser() for c in args.clips]
    for clip in clips:
        if not clip.is_file():
            raise ValidationError(f"video '{clip}' does not exist or is not a file.")
    image = load_image(args.image) if args.image else None
    clip_model = load_clip(args.clip_model) if args.prompt else None
    emit = (lambda obj: print(json.dumps(obj, ensure_ascii=False), flush=True)) if args.json else None
    passed = failed = errors = 0
    good_clips: list[Path] = []
    for outcome in iter_cards(clips, image=image, prompt=args.prompt, clip_model=clip_model, flow=flow, gates=gates):
        if outcome.error is not None:
            errors += 1
            if emit:
                emit({"clip": str(outcome.source), "error": outcome.error})
            print(f"error: {outcome.error}", file=sys.stderr)
            continue
        card = outcome.card
        good_clips.append(Path(outcome.source))
        passed, failed = passed + card.passed, failed + (not card.passed)
        if emit:
            emit(card.to_dict())
        else:
            print(_table_row(card), flush=True)
    judged = passed + failed
    rate = failed / judged if judged else 0.0
    summary: dict[str, Any] = {"summary": True, "clips": len(clips), "measured": judged, "passed": passed,
                               "rejected": failed, "errors": errors, "rejection_rate": rate,
                               "rejection_alert": rate > gates.gates.rejection_rate_alert,
                               "rejection_alert_threshold": gates.gates.rejection_rate_alert}
    distribution_failed = False
    if args.reference:
        if len(good_clips) < 2:
            raise ValidationError("FVD/KVD need at least 2 clips that could be measured.")
        summary.update(_distribution(args, good_clips, gates))
        distribution_failed = summary["fvd_gate"]["passed"] is False
    if emit:
        emit(summary)
    else:
        print(f"\n{passed}/{judged} clips passed; rejection rate {rate:.1%}"
              f"{'  ALERT: above ' + format(gates.gates.rejection_rate_alert, '.0%') if summary['rejection_alert'] else ''}"
              + (f"; {errors} clip(s) could not be read" if errors else ""))
        if args.reference:
            fvd, kvd, gate = summary["fvd"], summary["kvd"], summary["fvd_gate"]
            print(f"{fvd['name']}: {fvd['value']:.2f}   {kvd['name']}: {kvd['value']:.4f}   "
                  f"(reference n={fvd['n_reference']}, generated n={fvd['n_generated']}, dim={fvd['feature_dim']})")
            status = {True: "PASS", False: "FAIL", None: "not judged"}[gate["passed"]]
            print(f"FVD gate < {gate['threshold']:g}: {status} {gate['note']}".rstrip())
            for warning in fvd["warnings"]:
                print(f"warning: {warning}")
    if errors:
        return 2
    return 1 if failed or distribution_failed else 0
