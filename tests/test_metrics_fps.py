"""Detectors hold at every frame rate: one moving clip rendered at 10, 25 and 30 fps (same content
over the same 4 s) fires nothing, and faults lasting the same time are found at every rate.

The clip is a camera pan over the synthetic texture whose speed eases from 20 px/s down to 3.5 px/s
for about a second and back: at 30 fps its slow stretch changes by only 0.002–0.003 between adjacent
frames (the slow-motion film case of issue 11), while at 10 fps it changes by 0.007 and more.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.metrics import synthetic
from core.metrics.clip import prepare_clip
from core.metrics.detectors import DETECTORS, get_detector
from core.metrics.timebase import frames_at_rate, reference_lag
from tests.metrics_fixtures import H, W, write_clip

RATES = [10.0, 25.0, 30.0]
DURATION = 4.0  # seconds of content at every rate
FAST, SLOW = 20.0, 3.5  # pan speed in px/s
SLOW_FROM, SLOW_TO, EASE = 1.3, 2.7, 0.3  # seconds: the slow stretch and its cosine ramps


def pan_position(times: np.ndarray) -> np.ndarray:
    """Camera x offset in px at `times` (s): the integral of a speed that eases FAST → SLOW → FAST."""
    fine = np.linspace(0.0, DURATION, 4001)
    down = np.clip((fine - (SLOW_FROM - EASE)) / EASE, 0, 1)
    up = np.clip((fine - SLOW_TO) / EASE, 0, 1)
    slowness = 0.5 - 0.5 * np.cos(np.pi * down) - (0.5 - 0.5 * np.cos(np.pi * up))
    speed = FAST - (FAST - SLOW) * slowness
    position = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(fine))])
    return np.interp(times, fine, position)


def render(fps: float, scene_seed: int = 0, position=pan_position) -> np.ndarray:
    """uint8 T×H×W×3 frames of the pan sampled at `fps` for DURATION seconds (T = DURATION × fps)."""
    import cv2

    xs = position(np.arange(round(DURATION * fps)) / fps)
    margin = 16
    scene = synthetic.texture(H + 2 * margin, int(W + xs.max()) + 2 * margin, scene_seed, W)
    frames = np.empty((len(xs), H, W, 3), np.uint8)
    for i, x in enumerate(xs):
        matrix = np.float32([[1, 0, margin + x], [0, 1, margin]])
        frame = cv2.warpAffine(scene, matrix, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        frames[i] = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return frames


def fired(frames, fps: float) -> dict[str, list[list[int]]]:
    prepared = prepare_clip(frames, fps=fps)
    results = {name: get_detector(name)(prepared) for name in DETECTORS}
    return {name: r.ranges for name, r in results.items() if r.fired}


def at(seconds: float, fps: float) -> int:
    return round(seconds * fps)


def test_the_timebase_rule():
    assert [reference_lag(f) for f in (5, 8, 10, 12, 24, 25, 29.97, 30, 60)] == [1, 1, 1, 1, 2, 3, 3, 3, 6]
    assert [frames_at_rate(3, f) for f in (8, 10, 25, 30)] == [3, 3, 8, 9]
    assert [frames_at_rate(4, f) for f in (8, 10, 25, 30)] == [4, 4, 10, 12]


@pytest.mark.parametrize("fps", [30.0, 25.0])
def test_the_clip_is_the_slow_motion_case(fps):
    # Guards the test itself: adjacent differences in the slow stretch are as small as the film
    # clip's, below the 0.005 that a fixed adjacent-frame rule calls identical.
    mad = prepare_clip(render(fps), fps=fps).pair_mad
    slow = mad[at(SLOW_FROM + 0.1, fps):at(SLOW_TO - 0.1, fps)]
    assert 0.0015 < slow.min() and slow.max() < (0.0031 if fps == 30 else 0.0036)
    assert prepare_clip(render(10.0), fps=10.0).pair_mad.min() > 0.0065


@pytest.mark.parametrize("fps", RATES)
def test_no_detector_fires_on_the_moving_clip_at_any_rate(fps):
    assert fired(render(fps), fps) == {}


@pytest.mark.parametrize("fps", RATES)
def test_a_one_second_freeze_is_found_exactly_at_every_rate(fps):
    # Inside the slow stretch, where a freeze is hardest to tell from motion.
    case = synthetic.freeze(render(fps), at(1.6, fps), at(1.0, fps))
    assert fired(case.frames, fps) == {"freeze": case.ranges}


@pytest.mark.parametrize("fps", RATES)
def test_a_freeze_shorter_than_the_minimum_duration_is_not_a_freeze(fps):
    # 0.2 s of repeated frames (2 frames at 10 fps, 6 at 30 fps) is under the 0.3 s minimum.
    case = synthetic.freeze(render(fps), at(0.5, fps), at(0.2, fps) - 1)
    assert fired(case.frames, fps) == {}


@pytest.mark.parametrize("fps", RATES)
def test_a_slow_pan_is_static_at_every_rate(fps):
    # 3 px/s moves the texture by 0.006 per 0.1 s: below the case study's 0.01 at every rate.
    frames = render(fps, position=lambda t: 3.0 * t)
    assert fired(frames, fps) == {"static_video": [[0, len(frames) - 1]]}


@pytest.mark.parametrize("fps", RATES)
def test_a_flash_is_one_flicker_episode_at_every_rate(fps):
    # 0.3 s of +0.45 brightness: 3 frames at 10 fps, 8 at 25 fps, 9 at 30 fps; a jump away and one
    # back 0.3 s later, inside the 0.4 s episode window (4 frames at 10 fps, 10 at 25, 12 at 30).
    indices = list(range(at(1.5, fps), at(1.8, fps)))
    case = synthetic.flicker(render(fps), indices)
    assert case.ranges == [[indices[0], indices[-1]]]
    assert fired(case.frames, fps) == {"temporal_flicker": case.ranges}


@pytest.mark.parametrize("fps", RATES)
def test_a_cut_is_found_at_every_rate(fps):
    frames = render(fps)
    other = render(fps, scene_seed=99)
    cut = at(2.0, fps)
    frames[cut:] = other[cut:]
    assert fired(frames, fps) == {"abrupt_cut": [[cut, cut]]}


@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_rates_survive_h264_encoding(tmp_path, fps):
    # The file carries its rate; codec noise on the repeated frames stays below the 0.005 that
    # separates them from 0.1 s of slow motion.
    clean = write_clip(render(fps), tmp_path / "clean.mp4", fps=fps)
    assert fired(clean, fps) == {}
    case = synthetic.freeze(render(fps), at(1.6, fps), at(1.0, fps))
    found = fired(write_clip(case.frames, tmp_path / "freeze.mp4", fps=fps), fps)
    assert list(found) == ["freeze"] and len(found["freeze"]) == 1
    (first, last), (start, end) = found["freeze"][0], case.ranges[0]
    slack = reference_lag(fps) - 1  # edge frames that move less than the codec noise
    assert abs(first - start) <= slack and abs(last - end) <= slack


def test_reference_pairs_are_frames_a_tenth_of_a_second_apart():
    frames = render(30.0)
    prepared = prepare_clip(frames, fps=30.0)
    direct = np.abs(frames[3:].astype(float) - frames[:-3].astype(float)).mean(axis=(1, 2, 3)) / 255
    assert prepared.reference_lag == 3 and np.allclose(prepared.reference_mad, direct, atol=1e-12)
    at_ten = prepare_clip(frames, fps=10.0)  # the same frames taken as 10 fps: adjacent pairs
    assert at_ten.reference_lag == 1 and np.array_equal(at_ten.reference_mad, at_ten.pair_mad)
    # A clip no longer than the lag compares its first and last frames.
    short = prepare_clip(frames[:3], fps=30.0)
    first_to_last = np.abs(frames[2].astype(float) - frames[0].astype(float)).mean() / 255
    assert short.reference_lag == 2 and np.allclose(short.reference_mad, [first_to_last], atol=1e-12)
