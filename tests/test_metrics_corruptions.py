"""Corruption suite: every detector flags exactly the corrupted frames; nothing fires on clean clips."""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics import synthetic
from core.metrics.card import build_card
from core.metrics.clip import prepare_clip
from core.metrics.detectors import DETECTORS, get_detector
from core.metrics.sharpness import sharpness
from core.metrics.tcs import temporal_consistency
from tests.metrics_fixtures import H, T, W, clean, write_clip

SUITE = {c.name: c for c in synthetic.corruption_suite(clean())}


def fired(frames) -> dict[str, list[list[int]]]:
    prepared = prepare_clip(frames)
    results = {name: get_detector(name)(prepared) for name in DETECTORS}
    return {name: r.ranges for name, r in results.items() if r.fired}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_detector_fires_on_clean_clips(seed):
    frames = synthetic.clean_clip(T, H, W, seed=seed, velocity=(2.0 - seed, 0.5 * seed), zoom=1.0 + 0.005 * seed)
    assert fired(frames) == {}


@pytest.mark.parametrize("name", ["flicker", "freeze", "colour_drift", "cut", "blur"])
def test_detector_flags_exactly_the_corrupted_frames(name):
    case = SUITE[name]
    assert fired(case.frames) == {case.detector: case.ranges}


def test_known_ranges_of_the_suite():
    # Written out so that a change in the generator cannot silently change what "exact" means.
    assert SUITE["flicker"].ranges == [[5, 5], [12, 13]]
    assert SUITE["freeze"].ranges == [[8, 12]]
    assert SUITE["colour_drift"].ranges == [[15, 23]]
    assert SUITE["cut"].ranges == [[12, 12]]
    assert SUITE["blur"].ranges == [[9, 11]]


def test_jitter_fires_no_detector_but_lowers_tcs():
    # No detector is about shake; TCS is the measure that catches it, on the shaken frames.
    case = SUITE["jitter"]
    assert fired(case.frames) == {}
    clean_tcs = temporal_consistency(clean())
    shaken = temporal_consistency(case.frames)
    assert shaken.value < clean_tcs.value - 0.2
    per_frame = np.asarray(shaken.per_frame)  # index i is frame i + 1
    start, end = case.ranges[0]
    assert per_frame[start - 1:end].max() < 0.5 and per_frame[:start - 2].min() > 0.9


@pytest.mark.parametrize("name", ["flicker", "freeze", "cut", "jitter"])
def test_tcs_clean_scores_higher_than_temporally_corrupted(name):
    # A freeze or cut touches only two of the 22 flow triples, so their drop is small but clear;
    # the freeze and cut detectors are what flag them.
    clean_value = temporal_consistency(clean()).value
    assert clean_value > 0.95
    assert temporal_consistency(SUITE[name].frames).value < clean_value - 0.01


def test_static_video_flags_whole_clip_and_freeze_stays_silent():
    frames = np.repeat(clean(1), 10, axis=0)
    assert fired(frames) == {"static_video": [[0, 9]]}


def test_alternating_flicker_is_one_range_per_frame():
    frames = synthetic.flicker(clean(), [6, 8, 10]).frames
    assert fired(frames) == {"temporal_flicker": [[6, 6], [8, 8], [10, 10]]}


def test_blur_lowers_sharpness_on_exactly_the_blurred_frames():
    case = SUITE["blur"]
    base = np.asarray(sharpness(clean()).per_frame)
    blurred = np.asarray(sharpness(case.frames).per_frame)
    changed = np.flatnonzero(blurred < 0.8 * base)
    assert changed.tolist() == list(range(case.ranges[0][0], case.ranges[0][1] + 1))


def test_detectors_survive_h264_encoding(tmp_path):
    for name in ["flicker", "freeze", "cut"]:
        case = SUITE[name]
        card = build_card(write_clip(case.frames, tmp_path / f"{name}.mp4"))
        assert {f.name: f.ranges for f in card.fired} == {case.detector: case.ranges}, name
    assert build_card(write_clip(clean(), tmp_path / "clean.mp4")).fired == []


def _tinted(frames: np.ndarray, start: int, end: int, amount: float) -> np.ndarray:
    """Frames with a red offset ramping 0 → `amount` (in [0, 1]) over frames start..end, then held."""
    ramp = np.clip((np.arange(len(frames)) - start) / max(1, end - start), 0, 1) * amount * 255
    out = frames.astype(np.float32)
    out[..., 0] += ramp[:, None, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def test_colour_drift_baseline_ignores_an_intended_change_but_not_later_drift():
    base = clean()
    # The requested condition establishes in frames 0..8 (a deliberate colour change), then holds.
    change = _tinted(base, 0, 8, 0.3)
    detect = get_detector("colour_drift")
    plain = detect(change)
    assert plain.fired and plain.ranges[0][1] == len(base) - 1  # the brief's rule flags the change
    after = detect(change, baseline_frame=8)
    assert not after.fired and "frame 8" in after.rule
    # Drift that starts after the change has established is still drift.
    drifting = _tinted(change, 12, len(base) - 1, -0.3)
    assert detect(drifting, baseline_frame=8).fired
    # An out-of-range baseline is clamped to the clip, not an index error.
    assert detect(change, baseline_frame=10_000).statistic == 0.0


def test_card_uses_the_condition_change_window_from_the_gates():
    change = _tinted(clean(), 0, 8, 0.3)
    plain = build_card(change)
    aware = build_card(change, condition_change=True)  # arrays default to 10 fps: baseline frame 10
    drift_plain = next(f for f in plain.flags if f.name == "colour_drift")
    drift_aware = next(f for f in aware.flags if f.name == "colour_drift")
    assert drift_plain.fired and not drift_aware.fired
    assert "frame 10" in drift_aware.rule
