"""The quality card: every per-clip measure, the failure flags with frame ranges, gate verdicts, timings.

`build_card` prepares the clip once (one streaming decode), computes forward and backward flow once
for the chosen method, and hands the same PreparedClip to every measure and detector.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from core.metrics.clip import ClipSource, PreparedClip, prepare_clip
from core.metrics.detectors import DETECTORS, DetectorResult, get_detector
from core.metrics.flow import FlowConfig, get_flows
from core.metrics.gates import Gates, load_gates
from core.metrics.result import MeasureResult, to_jsonable

# Measures computed for every clip, in card order (first-frame fidelity and CLIP need extra inputs).
CLIP_MEASURES = ("tcs", "temporal_coherence", "adjacent_ssim", "warping_error", "flicker_index", "sharpness", "motion")


@dataclass
class GateVerdict:
    """One gate on one clip. `passed` is None when the gate could not be judged (see `note`)."""

    name: str
    passed: bool | None
    value: float | None
    threshold: float
    rule: str
    note: str = ""


@dataclass
class QualityCard:
    """All measures of one clip. `passed` is False if any judged gate failed; timings are seconds."""

    clip: str
    num_frames: int
    width: int
    height: int
    fps: float
    flow: str
    measures: dict[str, MeasureResult] = field(default_factory=dict)
    flags: list[DetectorResult] = field(default_factory=list)
    gates: list[GateVerdict] = field(default_factory=list)
    passed: bool = True
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def fired(self) -> list[DetectorResult]:
        return [flag for flag in self.flags if flag.fired]

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _timed(timings: dict[str, float], key: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    timings[key] = round(time.perf_counter() - start, 6)
    return out


def _verdicts(card: QualityCard, gates: Gates) -> list[GateVerdict]:
    thresholds = gates.gates
    tcs = card.measures["tcs"].value
    verdicts = [GateVerdict("tcs", bool(tcs > thresholds.tcs_min), tcs, thresholds.tcs_min, "TCS > threshold")]
    clip = card.measures.get("clip_score")
    if clip is not None:
        judged = clip.value is not None
        verdicts.append(GateVerdict("clip_score", bool(clip.value > thresholds.clip_score_min) if judged else None,
                                    clip.value, thresholds.clip_score_min, "CLIP score > threshold",
                                    "" if judged else clip.note))
    fired = [flag.name for flag in card.fired]
    verdicts.append(GateVerdict("failure_modes", not fired, float(len(fired)), 0.0, "no failure detector fires",
                                ", ".join(fired)))
    return verdicts


def build_card(source: ClipSource, *, image: np.ndarray | str | Path | None = None, prompt: str | None = None,
               clip_model: Any = None, flow: FlowConfig = FlowConfig(), gates: Gates | None = None,
               prepared: PreparedClip | None = None, condition_change: bool = False) -> QualityCard:
    """Quality card of one clip (uint8 T×H×W×3 array or video path).

    Args:
        prepared: the clip already prepared (e.g. decoded ahead by `iter_cards`); its decode time is
            reported as the card's decode_and_reduce time.
        image: conditioning image (array or path) for first-frame fidelity; skipped when None.
        prompt, clip_model: for the CLIP score; `clip_model` is what core.metrics.clip_score.load_clip
            returned (a loaded model or an Unavailable marker). Skipped when `prompt` is None.
        flow: the flow method shared by TCS, warping error and motion.
        gates: thresholds; configs/gates.yaml when None.
        condition_change: the clip asks for another condition than its first frame shows, so colour
            drift is measured from the frame at `condition_change_seconds` (see the drift detector).
    """
    from core.metrics import get_metric

    gates = gates or load_gates()
    timings: dict[str, float] = {}
    if prepared is None:
        prepared = prepare_clip(source)
    if isinstance(source, (str, Path)):  # a cut file decodes short: refuse it rather than gate it as a clip
        from core.video_io import check_whole

        check_whole(Path(source), prepared.num_frames)
    timings["decode_and_reduce"] = round(prepared.prepare_seconds, 6)
    flows = get_flows(prepared, flow, backward=True)
    timings["flow_forward"] = round(flows.forward_seconds, 6)
    timings["flow_backward"] = round(flows.backward_seconds, 6)
    card = QualityCard(clip=prepared.name if not isinstance(source, (str, Path)) else str(source),
                       num_frames=prepared.num_frames, width=prepared.width, height=prepared.height,
                       fps=prepared.fps, flow=flow.label)
    cutoff = gates.measures.flicker_cutoff_fraction_of_nyquist
    for name in CLIP_MEASURES:
        fn = get_metric(name)
        if name in ("tcs", "warping_error", "motion"):
            card.measures[name] = _timed(timings, name, lambda: fn(prepared, flow=flow))
        elif name == "flicker_index":
            card.measures[name] = _timed(timings, name, lambda: fn(prepared, cutoff_fraction=cutoff))
        else:
            card.measures[name] = _timed(timings, name, lambda: fn(prepared))
    if image is not None:
        fidelity = get_metric("first_frame_fidelity")
        card.measures["first_frame_fidelity"] = _timed(timings, "first_frame_fidelity", lambda: fidelity(prepared, image))
    if prompt is not None:
        score = get_metric("clip_score")
        card.measures["clip_score"] = _timed(timings, "clip_score",
                                             lambda: score(source, prompt, clip_model))
    for name in DETECTORS:
        detect = get_detector(name)
        if name == "blur":
            sharp = card.measures["sharpness"].per_frame
            card.flags.append(_timed(timings, f"detector:{name}", lambda: detect(prepared, gates.detectors, sharp)))
        elif name == "colour_drift" and condition_change:
            baseline = gates.detectors.condition_change_frame(prepared.fps)
            card.flags.append(_timed(timings, f"detector:{name}", lambda: detect(prepared, gates.detectors, baseline)))
        else:
            card.flags.append(_timed(timings, f"detector:{name}", lambda: detect(prepared, gates.detectors)))
    card.gates = _verdicts(card, gates)
    card.passed = all(v.passed is not False for v in card.gates)
    timings["total"] = round(sum(v for k, v in timings.items()), 6)
    card.timings = timings
    return card


@dataclass
class CardOutcome:
    """The card of one clip of a batch, or the one-sentence error that stopped it."""

    source: ClipSource
    card: QualityCard | None
    error: str | None = None


def iter_cards(sources: Iterable[ClipSource], **options: Any) -> Iterator[CardOutcome]:
    """Quality cards of many clips in order; the next clip is decoded while the current one is measured.

    `options` are passed to build_card. A clip that fails validation yields its error and the batch goes on.
    """
    from core.errors import StudioError

    sources = list(sources)
    with ThreadPoolExecutor(max_workers=1) as decoder:
        pending: Future | None = decoder.submit(prepare_clip, sources[0]) if sources else None
        for index, source in enumerate(sources):
            current = pending
            pending = decoder.submit(prepare_clip, sources[index + 1]) if index + 1 < len(sources) else None
            try:
                prepared = current.result()
                yield CardOutcome(source, build_card(source, prepared=prepared, **options))
            except StudioError as exc:
                yield CardOutcome(source, None, str(exc))
