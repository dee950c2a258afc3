"""TCS with the default flow (DIS) ranks a corruption set like the TV-L1 reference: Spearman ≥ 0.9.

TV-L1 costs about 0.1-0.3 s per frame pair even on these small clips, so the default test uses 10
clips of 10 frames at 96×54; the slow test repeats it on 16-frame 128×72 clips for every DIS preset.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from core.metrics import synthetic
from core.metrics.flow import FlowConfig
from core.metrics.tcs import temporal_consistency


def rank_agreement(num_frames: int, height: int, width: int, candidate: FlowConfig) -> tuple[float, dict, dict]:
    clips = synthetic.ranking_set(num_frames, height, width)
    reference = {name: temporal_consistency(c, FlowConfig("tvl1")).value for name, c in clips.items()}
    default = {name: temporal_consistency(c, candidate).value for name, c in clips.items()}
    names = list(clips)
    rho = spearmanr([reference[n] for n in names], [default[n] for n in names])[0]
    return float(rho), reference, default


def test_default_dis_ranks_like_tvl1():
    rho, reference, default = rank_agreement(10, 54, 96, FlowConfig())
    assert rho >= 0.9, (rho, reference, default)
    # Both put the clean clips above every temporally corrupted one.
    for scores in (reference, default):
        worst_clean = min(scores["clean"], scores["clean_other_scene"])
        for name in ("flicker_1_frame", "flicker_3_frames", "freeze", "cut", "shake_1px", "shake_strong"):
            assert scores[name] < worst_clean, name


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["ultrafast", "fast", "medium"])
def test_dis_presets_rank_like_tvl1_on_longer_clips(preset):
    rho, reference, default = rank_agreement(16, 72, 128, FlowConfig("dis", preset))
    assert rho >= 0.9, (rho, reference, default)


def test_tcs_is_in_unit_interval_and_resolution_free():
    frames = synthetic.clean_clip(10, 72, 128)
    half = np.ascontiguousarray(frames[:, ::2, ::2])
    full_value = temporal_consistency(frames).value
    assert 0.0 <= full_value <= 1.0
    # A 2× smaller copy moves half as many pixels but the same fraction of the width.
    assert temporal_consistency(half).value == pytest.approx(full_value, abs=0.1)
