"""Measuring one clip for an audit: one decode feeds the quality card, the FVD features and a thumbnail.

The clip is read from its MP4 (what gets delivered, compression included), decoded once into memory
(110 MB for 40 frames of 720p; a worker holds one clip at a time), and that array is handed to the
metrics engine's `prepare_clip`/`build_card`, to the FVD feature extractor when the clip's condition
has reference clips, and to the thumbnail maker. The metrics engine does the measuring; this module
only wires it and pulls out the numbers the audit's statistics use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.hash_cache import read_sha256 as file_sha256  # noqa: F401  (one streaming file hash, re-exported)
from core.metrics.measures import AUDIT_MEASURES, AuditMeasure

THUMB_WIDTH = 192  # px per frame in the thumbnail strip: readable in a report table, ~20 KB as PNG

# The scalars an audit summarises, as it names them: read from the one registry (core.metrics.measures).
MEASURES: tuple[AuditMeasure, ...] = AUDIT_MEASURES
MEASURE_BY_KEY = {m.key: m for m in MEASURES}
# Measures the ranking averages over: the temporal-quality family the case study audits, plus
# sharpness (the brief's second per-condition measure). Motion is informational; first-frame PSNR and
# CLIP score are missing for clips without an image or CLIP weights, so they would rank unevenly.
RANKED_MEASURES = ("tcs", "temporal_coherence", "adjacent_ssim", "warping_error", "flicker_index", "sharpness")


@dataclass
class Measured:
    """What measuring one clip produced. Arrays: frame_diff (T−1,), features (D,) or None."""

    card: dict[str, Any]
    values: dict[str, float | None]
    passed: bool
    fired: list[str]
    flags: dict[str, list[list[int]]]
    frame_diff: list[float]
    num_frames: int
    fps: float
    width: int
    height: int
    features: np.ndarray | None = None
    thumbnail_png: bytes | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def values_from_card(card: dict[str, Any]) -> dict[str, float | None]:
    """The audit's scalar measures from a card dict; a measure the card lacks is None."""
    values: dict[str, float | None] = {}
    for measure in MEASURES:
        entry = card.get("measures", {}).get(measure.card_measure)
        value = entry.get(measure.attribute) if entry else None
        values[measure.key] = None if value is None else float(value)
    return values


def decode(path: Path) -> tuple[np.ndarray, float]:
    """(uint8 T×H×W×3 RGB frames, fps) of a video file, through the metrics engine's decoder."""
    from core.errors import ValidationError
    from core.metrics.clip import open_frames

    _, fps, frames = open_frames(path)
    stacked = list(frames)
    if not stacked:
        raise ValidationError(f"video '{path}' holds no frames.")
    return np.stack(stacked), fps


def thumbnail_strip(frames: np.ndarray, flags: dict[str, list[list[int]]], width: int = THUMB_WIDTH) -> bytes:
    """PNG of three frames side by side: the first, the first flagged frame (else the middle), the last."""
    import cv2

    total = len(frames)
    starts = sorted(r[0] for ranges in flags.values() for r in ranges)
    middle = min(starts[0], total - 1) if starts else total // 2
    height = max(1, round(frames.shape[1] * width / frames.shape[2]))
    tiles = []
    for index in (0, middle, total - 1):
        tiles.append(cv2.resize(frames[index], (width, height), interpolation=cv2.INTER_AREA))
        tiles.append(np.full((height, 2, 3), 255, dtype=np.uint8))
    strip = np.concatenate(tiles[:-1], axis=1)
    ok, png = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return png.tobytes() if ok else b""


def measure_clip(path: Path, *, flow: Any, gates: Any, extractor: Any = None, image: Any = None,
                 prompt: str | None = None, clip_model: Any = None, thumbnail: bool = True,
                 condition_change: bool = False) -> Measured:
    """Quality card, statistics inputs, optional FVD features and a thumbnail of one MP4.

    Args:
        flow: core.metrics.flow.FlowConfig; gates: core.metrics.gates.Gates.
        extractor: a core.metrics.features.FeatureExtractor; features are computed only when given.
        image: the conditioning frame (path or uint8 H×W×3) for first-frame fidelity; None skips it.
        prompt, clip_model: for the CLIP score; skipped unless both are given.
        condition_change: the clip asks for another condition than its first frame shows (colour
            drift is then measured after the change has established; see core.metrics.card).
    Raises ValidationError (one sentence) when the clip cannot be decoded or is too short.
    """
    from core.metrics.card import build_card
    from core.metrics.clip import prepare_clip

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    frames, fps = decode(Path(path))
    seconds["decode"] = time.perf_counter() - start
    start = time.perf_counter()
    prepared = prepare_clip(frames, fps=fps)
    prepared.name = Path(path).name
    card = build_card(Path(path), prepared=prepared, image=image, prompt=prompt if clip_model is not None else None,
                      clip_model=clip_model, flow=flow, gates=gates, condition_change=condition_change)
    seconds["card"] = time.perf_counter() - start
    card_dict = card.to_dict()
    flags = {flag.name: [list(r) for r in flag.ranges] for flag in card.fired}
    measured = Measured(card=card_dict, values=values_from_card(card_dict), passed=bool(card.passed),
                        fired=[flag.name for flag in card.fired], flags=flags,
                        frame_diff=[round(float(v), 6) for v in prepared.pair_mad],
                        num_frames=prepared.num_frames, fps=float(prepared.fps), width=prepared.width,
                        height=prepared.height)
    if extractor is not None:
        from core.metrics.features import extract_features

        start = time.perf_counter()
        measured.features = extract_features([frames], extractor)[0]
        seconds["features"] = time.perf_counter() - start
    if thumbnail:
        start = time.perf_counter()
        measured.thumbnail_png = thumbnail_strip(frames, flags)
        seconds["thumbnail"] = time.perf_counter() - start
    measured.seconds = {k: round(v, 4) for k, v in seconds.items()}
    return measured
