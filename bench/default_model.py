"""Measure the embedded default model against issue 6's bars 1-7 and write the figures.

    python bench/default_model.py --model assets/default_model --clips 64 --fvd-clips 256

Evaluation protocol (all clips are held out from training: their seeds come from a stream the
training run never draws):
  * spec i asks for condition i mod 8 with a random event and road; its first frame is rendered in
    another condition: clear day with p=0.8, any other condition otherwise (clear-day targets always
    start elsewhere). The "real" clip is the synthesiser's rendering of exactly that spec.
  * the model gets the real clip's frame 0 and the spec's slots, 25 steps, guidance 4 (and 1 for bar 5).
Generated clips are cached (uint8 .npy) under --work/<weights hash>, so an interrupted run resumes where it stopped.
Results go to <work>/results.json, docs/PERFORMANCE.md (section "default_model") and, with
--card, between the bench markers of assets/default_model/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVAL_STREAM = 424_242  # never used by training (which draws np.random.default_rng([run_seed, i]))
CARD_START, CARD_END = "<!-- bench:default_model:start -->", "<!-- bench:default_model:end -->"


@dataclass(frozen=True)
class EvalSpec:
    index: int
    spec: object  # core.synth.ClipSpec


def eval_specs(n: int, conditions: list[str], num_frames: int = 16) -> list[EvalSpec]:
    from core.synth import ClipSpec
    from core.synth.spec import stable_rng
    from core.catalogue import default_catalogue

    cat = default_catalogue()
    events, roads = sorted(cat.events), sorted(cat.roads)
    out = []
    for i in range(n):
        rng = stable_rng("default-model-bench", EVAL_STREAM, i)
        target = conditions[i % len(conditions)]
        others = [c for c in conditions if c != target]
        start = "clear_day" if target != "clear_day" and rng.random() < 0.8 else others[int(rng.integers(len(others)))]
        spec = ClipSpec(event=events[int(rng.integers(len(events)))], conditions=target,
                        road=roads[int(rng.integers(len(roads)))], seed=int(rng.integers(0, 2**31 - 1)),
                        start_conditions=start, num_frames=num_frames, fps=8, width=256, height=144)
        out.append(EvalSpec(i, spec))
    return out


def load_pipe(folder: Path):
    import torch

    from core.default_model.pipeline import EmbeddedI2VPipeline

    torch.set_num_threads(2)
    pipe = EmbeddedI2VPipeline.from_pretrained(folder, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def generate(pipe, first: np.ndarray, spec, guidance: float, seed: int, steps: int = 25) -> np.ndarray:
    import torch

    out = pipe(first, event=spec.event, conditions=spec.conditions, road=spec.road, guidance_scale=guidance,
               num_inference_steps=steps, num_frames=spec.num_frames, height=spec.height, width=spec.width,
               generator=torch.Generator().manual_seed(seed))
    return (np.clip(out.frames[0], 0, 1) * 255 + 0.5).astype(np.uint8)


def cached_clips(pipe, specs: list[EvalSpec], guidance: float, work: Path, deadline: float) -> dict[int, np.ndarray]:
    """Generated clips by spec index, from the cache or freshly made until `deadline` (time.time())."""
    from core.synth import render_clip

    folder = work / f"generated_g{guidance:g}"
    folder.mkdir(parents=True, exist_ok=True)
    clips = {}
    for item in specs:
        path = folder / f"{item.index:05d}.npy"
        if not path.exists():
            if time.time() > deadline:
                continue
            clip = generate(pipe, render_clip(item.spec)[0], item.spec, guidance, seed=item.index)
            np.save(path, clip)
        clips[item.index] = np.load(path)
    return clips


# ------------------------------------------------------------------------------------------------ bars

def bar_speed(pipe, runs: int = 5) -> dict:
    """Bars 1-2: output geometry, and wall time per clip (16 frames, 25 steps, CFG 4) over `runs` runs."""
    from core.synth import ClipSpec, render_clip

    spec = ClipSpec("tire_debris", "dust_storm", "desert_highway", seed=5, start_conditions="clear_day")
    first = render_clip(spec)[0]
    generate(pipe, first, spec, 4.0, 0, steps=2)  # warm-up (allocations, lazy imports)
    times, cpu, loads = [], [], []
    for r in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        clip = generate(pipe, first, spec, 4.0, r)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # CPU-seconds over both threads: contention-free cost
        loads.append(os.getloadavg()[0])
    return {"frames": int(clip.shape[0]), "width": int(clip.shape[2]), "height": int(clip.shape[1]),
            "fps": int(pipe.denoiser.config.frame_rate), "seconds": [round(t, 2) for t in times],
            "median_s": round(statistics.median(times), 2), "cpu_seconds_median": round(statistics.median(cpu), 2),
            "load_average_1min": round(statistics.median(loads), 2)}


def bar_temporal(clips: dict[int, np.ndarray], reals: dict[int, np.ndarray], specs: dict[int, object]) -> dict:
    """Bar 3: TCS and the flicker/static/colour-drift detectors, on generated and on the real clips.

    Colour drift is counted twice: by the brief's plain first- vs last-frame rule, and by the studio's
    rule for requested condition changes (baseline at `condition_change_seconds`, see the drift
    detector), which applies here because every spec asks for another condition than its first frame."""
    from core.metrics.detectors import get_detector
    from core.metrics.gates import load_gates
    from core.metrics.tcs import temporal_consistency
    from core.sample_frames import asks_condition_change

    thresholds = load_gates().detectors
    names = ("temporal_flicker", "static_video", "colour_drift")

    def measure(group: dict[int, np.ndarray]) -> dict:
        tcs, fired = [], {n: 0 for n in (*names, "colour_drift_after_change")}
        plain_any = aware_any = 0
        for i, clip in group.items():
            tcs.append(temporal_consistency(clip).value)
            hits = {n for n in names if get_detector(n)(clip, thresholds).fired}
            change = asks_condition_change(specs[i].start_conditions or specs[i].conditions, specs[i].conditions)
            baseline = thresholds.condition_change_frame(specs[i].fps) if change else 0
            drift_after = get_detector("colour_drift")(clip, thresholds, baseline).fired
            fired["colour_drift_after_change"] += drift_after
            for n in hits:
                fired[n] += 1
            plain_any += bool(hits)
            aware_any += bool(hits - {"colour_drift"}) or drift_after
        n = len(group)
        return {"clips": n, "tcs_mean": round(float(np.mean(tcs)), 4), "tcs_min": round(float(np.min(tcs)), 4),
                "flagged_share": round(aware_any / n, 4), "flagged_share_plain_rule": round(plain_any / n, 4),
                **{f"{k}_share": round(v / n, 4) for k, v in fired.items()}}

    return {"generated": measure(clips), "real": measure({i: reals[i] for i in clips})}


def bar_first_frame(clips: dict[int, np.ndarray], reals: dict[int, np.ndarray], pipe) -> dict:
    """Bar 4: PSNR of generated frame 0 against the conditioning frame (and the autoencoder alone)."""
    import torch

    from core.default_model.data import frames_to_tensor
    from core.metrics.fidelity import first_frame_fidelity, psnr

    values = [first_frame_fidelity(clips[i], reals[i][0]).value for i in clips]
    with torch.no_grad():
        ae = [psnr(((pipe.vae.decode(pipe.vae.encode(frames_to_tensor(reals[i][:1])))[0].permute(1, 2, 0).numpy()
                     + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8), reals[i][0]) for i in clips]
    return {"psnr_mean_db": round(float(np.mean(values)), 2), "psnr_min_db": round(float(np.min(values)), 2),
            "autoencoder_psnr_mean_db": round(float(np.mean(ae)), 2), "clips": len(values)}


def train_condition_classifier(conditions: list[str], clips_per_condition: int = 16, steps: int = 300):
    """Small CNN on 72x128 frames of real procedural clips (reference specs, not training seeds).

    Returns (predict(frames uint8 N×H×W×3) -> condition indices, held-out accuracy on other reference clips)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from core.synth import render_clip
    from core.synth.reference import reference_specs

    def frames_of(base_seed: int, per: int) -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for spec in reference_specs(conditions, per, base_seed, num_frames=16, fps=8):
            xs.append(render_clip(spec)[8:])  # the second second, as in the bar
            ys += [conditions.index(spec.conditions)] * 8
        return prep(np.concatenate(xs)), torch.tensor(ys)

    def prep(frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
        return F.interpolate(x, size=(72, 128), mode="area")

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                        nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(64, len(conditions)))
    x, y = frames_of(9001, clips_per_condition)
    optim = torch.optim.AdamW(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        idx = torch.randint(len(x), (64,), generator=gen)
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        optim.step()
        optim.zero_grad()
    net.eval()

    def predict(frames: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(prep(frames)).argmax(1).numpy()

    xv, yv = frames_of(9002, 8)
    with torch.no_grad():
        held = float((net(xv).argmax(1) == yv).float().mean())
    return predict, held


def bar_adherence(by_guidance: dict[float, dict[int, np.ndarray]], specs: dict[int, object],
                  conditions: list[str], classifier_clips: int = 16) -> dict:
    """Bar 5: per-frame accuracy (frames 8..15) of the classifier naming the requested condition."""
    predict, held = train_condition_classifier(conditions, classifier_clips)
    out = {"classifier_heldout_accuracy": round(held, 4)}
    for g, clips in by_guidance.items():
        correct, total, per = 0, 0, {c: [0, 0] for c in conditions}
        for i, clip in clips.items():
            target = conditions.index(specs[i].conditions)
            hits = int((predict(clip[8:]) == target).sum())
            correct, total = correct + hits, total + len(clip[8:])
            per[specs[i].conditions][0] += hits
            per[specs[i].conditions][1] += len(clip[8:])
        out[f"g{g:g}"] = {"accuracy": round(correct / total, 4), "clips": len(clips),
                          "per_condition": {c: round(a / b, 3) for c, (a, b) in per.items() if b}}
    return out


def zoom_baseline(first: np.ndarray, num_frames: int, end_zoom: float = 1.3) -> np.ndarray:
    """Camera-zoom warp of the first frame: scale grows linearly to `end_zoom` about the centre."""
    import cv2

    h, w = first.shape[:2]
    frames = []
    for t in range(num_frames):
        s = 1 + (end_zoom - 1) * t / max(1, num_frames - 1)
        m = np.float32([[s, 0, (1 - s) * w / 2], [0, s, (1 - s) * h * 0.45]])  # about the horizon
        frames.append(cv2.warpAffine(first, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(frames)


def bar_realism(clips: dict[int, np.ndarray], reals: dict[int, np.ndarray], ref_reals: list[np.ndarray]) -> dict:
    """Bar 6: FVD/KVD (random-weight R3D features, no I3D offline) against held-out real clips."""
    from core.metrics.distribution import set_distances
    from core.metrics.features import extract_features, random_r3d

    extractor = random_r3d()
    ref = extract_features(ref_reals, extractor)
    sets = {"generated": [clips[i] for i in clips],
            "static_baseline": [np.repeat(reals[i][:1], reals[i].shape[0], 0) for i in clips],
            "zoom_baseline": [zoom_baseline(reals[i][0], reals[i].shape[0]) for i in clips]}
    out = {"extractor": extractor.name, "n_reference": len(ref_reals)}
    for name, group in sets.items():
        results = set_distances(ref, extract_features(group, extractor), extractor)
        out[name] = {"fvd": round(results["fvd"].value, 3), "kvd": round(results["kvd"].value, 5), "n": len(group)}
    return out


def bar_motion(clips: dict[int, np.ndarray], reals: dict[int, np.ndarray], specs: dict[int, object]) -> dict:
    """Bar 7: mean optical-flow magnitude (px/frame) per condition, generated vs real, and the ratio."""
    from core.metrics.motion import motion

    per: dict[str, list[list[float]]] = {}
    for i in clips:
        entry = per.setdefault(specs[i].conditions, [[], []])
        entry[0].append(motion(clips[i]).value)
        entry[1].append(motion(reals[i]).value)
    table = {c: {"generated": round(float(np.mean(g)), 3), "real": round(float(np.mean(r)), 3),
                 "ratio": round(float(np.mean(g) / max(np.mean(r), 1e-9)), 3)} for c, (g, r) in per.items()}
    all_g = np.mean([v for g, _ in per.values() for v in g])
    all_r = np.mean([v for _, r in per.values() for v in r])
    return {"per_condition": table, "overall_ratio": round(float(all_g / all_r), 3),
            "conditions_within_30pct": sum(abs(v["ratio"] - 1) <= 0.3 for v in table.values())}


# ------------------------------------------------------------------------------------------- reporting

def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def render_markdown(r: dict, model: str) -> str:
    s, t, f, a, rl, m = (r.get(k, {}) for k in ("speed", "temporal", "first_frame", "adherence", "realism", "motion"))
    rows = []
    if s:
        rows.append(("1 output", f"{s['frames']} frames at {s['width']}x{s['height']}, {s['fps']} fps (native, no upscaling)",
                     verdict(s["frames"] >= 16 and s["width"] >= 256 and s["height"] >= 144 and 8 <= s["fps"] <= 10)))
        rows.append(("2 time per clip", f"median {s['median_s']} s wall of {s['seconds']} (25 steps, CFG 4, 16 frames; "
                     f"median 1-min load average {s['load_average_1min']} on 2 cores, shared); median CPU time "
                     f"{s.get('cpu_seconds_median')} CPU-s over 2 threads", verdict(s["median_s"] <= 20)))
    if t:
        g, re = t["generated"], t["real"]
        rows.append(("3 temporal", f"TCS {g['tcs_mean']} (min {g['tcs_min']}); flagged {g['flagged_share']:.1%} "
                     f"(flicker {g['temporal_flicker_share']:.1%}, static {g['static_video_share']:.1%}, colour drift "
                     f"after the requested change {g['colour_drift_after_change_share']:.1%}) over {g['clips']} clips. "
                     f"Under the plain first- vs last-frame drift rule: colour drift {g['colour_drift_share']:.1%}, "
                     f"flagged {g['flagged_share_plain_rule']:.1%}. Real clips of the same specs: TCS {re['tcs_mean']}, "
                     f"flagged {re['flagged_share']:.1%} ({re['flagged_share_plain_rule']:.1%} under the plain rule)",
                     verdict(g["tcs_mean"] >= 0.85 and g["flagged_share"] < 0.10 and g["clips"] >= 64)))
    if f:
        rows.append(("4 first frame", f"PSNR {f['psnr_mean_db']} dB mean, {f['psnr_min_db']} dB min over {f['clips']} "
                     f"clips (autoencoder alone: {f['autoencoder_psnr_mean_db']} dB)", verdict(f["psnr_mean_db"] >= 25)))
    if a:
        g4, g1 = a.get("g4", {}), a.get("g1", {})
        ok = g4.get("accuracy", 0) >= 0.8 and g4.get("accuracy", 0) > g1.get("accuracy", 1) if g1 else None
        rows.append(("5 condition adherence", f"accuracy {g4.get('accuracy')} at guidance 4 ({g4.get('clips')} clips) vs "
                     f"{g1.get('accuracy')} at guidance 1 ({g1.get('clips')} clips); classifier's own held-out accuracy "
                     f"{a['classifier_heldout_accuracy']}; chance 0.125", verdict(ok)))
    if rl:
        gen, st, zo = rl["generated"], rl["static_baseline"], rl["zoom_baseline"]
        ok = gen["fvd"] < min(st["fvd"], zo["fvd"]) and gen["kvd"] < min(st["kvd"], zo["kvd"])
        rows.append(("6 realism", f"{rl['extractor']}: FVD generated {gen['fvd']} vs static {st['fvd']} vs zoom "
                     f"{zo['fvd']}; KVD {gen['kvd']} / {st['kvd']} / {zo['kvd']} ({gen['n']} generated, "
                     f"{rl['n_reference']} real)", verdict(ok and gen["n"] >= 256 and rl["n_reference"] >= 256)))
    if m:
        rows.append(("7 motion", f"generated/real mean flow ratio {m['overall_ratio']} overall; "
                     f"{m['conditions_within_30pct']}/{len(m['per_condition'])} conditions within ±30% "
                     "(" + ", ".join(f"{c} {v['ratio']}" for c, v in m["per_condition"].items()) + ")",
                     verdict(m["conditions_within_30pct"] == len(m["per_condition"]))))
    table = "\n".join(f"| {a_} | {b} | {c} |" for a_, b, c in rows)
    return (f"## Embedded default model: issue 6 bars\n\nModel: `{model}`. Protocol: see `bench/default_model.py` "
            f"(held-out specs, first frames mostly clear day in another condition than requested).\n\n"
            f"| bar | measured | verdict |\n|---|---|---|\n{table}\n")


def write_card_section(card: Path, markdown: str, command: str) -> None:
    from core.atomic import write_text_atomic

    text = card.read_text(encoding="utf-8") if card.exists() else ""
    block = f"{CARD_START}\n{markdown.rstrip()}\n\nCommand: `{command}`\n{CARD_END}"
    if CARD_START in text and CARD_END in text:
        text = text[:text.index(CARD_START)] + block + text[text.index(CARD_END) + len(CARD_END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    write_text_atomic(card, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "assets" / "default_model")
    parser.add_argument("--clips", type=int, default=64, help="clips for bars 3, 4, 5 (g=4 and g=1) and 7")
    parser.add_argument("--fvd-clips", type=int, default=256, help="generated and real clips for bar 6")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_default_model"), help="clip cache and results (a subfolder per weights hash)")
    parser.add_argument("--bars", default="1,2,3,4,5,6,7")
    parser.add_argument("--classifier-clips", type=int, default=16, help="real clips per condition for bar 5")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop generating after this long")
    parser.add_argument("--card", action="store_true", help="also write the figures into the model card")
    parser.add_argument("--no-performance-md", action="store_true")
    args = parser.parse_args(argv)
    bars = {int(b) for b in args.bars.split(",")}
    from core.catalogue import default_catalogue
    from core.synth import render_clip

    conditions = list(default_catalogue().conditions)
    pipe = load_pipe(args.model)
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes else float("inf")
    from core.loading import weights_hash

    # Cached clips and results belong to one set of weights: a retrained model gets a fresh folder.
    args.work = args.work / weights_hash(args.model)[:12]
    args.work.mkdir(parents=True, exist_ok=True)
    results_path = args.work / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    n_all = max(args.clips, args.fvd_clips if 6 in bars else 0)
    specs = eval_specs(n_all, conditions)
    spec_by_index = {e.index: e.spec for e in specs}
    if bars & {1, 2}:
        results["speed"] = bar_speed(pipe)
        print("speed", results["speed"], flush=True)
    reals = {e.index: render_clip(e.spec) for e in specs[:args.clips]}
    if bars & {3, 4, 5, 7}:
        g4 = cached_clips(pipe, specs[:args.clips], 4.0, args.work, deadline)
        if 3 in bars:
            results["temporal"] = bar_temporal(g4, reals, spec_by_index)
        if 4 in bars:
            results["first_frame"] = bar_first_frame(g4, reals, pipe)
        if 5 in bars:
            g1 = cached_clips(pipe, specs[:args.clips], 1.0, args.work, deadline)
            results["adherence"] = bar_adherence({4.0: g4, 1.0: g1}, spec_by_index, conditions,
                                                 args.classifier_clips)
        if 7 in bars:
            results["motion"] = bar_motion(g4, reals, spec_by_index)
    if 6 in bars:
        g4_all = cached_clips(pipe, specs[:args.fvd_clips], 4.0, args.work, deadline)
        reals_all = {e.index: reals.get(e.index) if e.index in reals else render_clip(e.spec)
                     for e in specs[:args.fvd_clips]}
        results["realism"] = bar_realism(g4_all, reals_all, list(reals_all.values()))
    results["model"] = str(args.model)
    # The figures merge across calls (e.g. bars 1-5,7 then bar 6), so the section names every call behind them.
    this_call = "python bench/default_model.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results["commands"] = [c for c in results.get("commands", []) if c != this_call] + [this_call]
    results_path.write_text(json.dumps(results, indent=2))
    markdown = render_markdown(results, str(args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT)
                                             else args.model))
    print(markdown)
    command = "`; `".join(results["commands"])
    if not args.no_performance_md:
        from bench.report import write_section

        write_section("default_model", markdown, command=command)
    if args.card:
        write_card_section(args.model / "MODEL_CARD.md", markdown, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
