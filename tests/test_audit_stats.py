"""Audit statistics against hand computation: means, bootstrap intervals, Wilson, gaps, ranking, gates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.audit.aggregate import condition_gates, cross_summary, rarest_groups, summarise_group, verdict_of
from core.audit.records import FAIL, NO_DATA, NOT_JUDGED, PASS, ClipRecord, ConditionSummary, Distance
from core.audit.stats import Interval, bootstrap_difference, bootstrap_mean, derive_seed, wilson
from core.metrics.gates import Gates, GateThresholds


def _direct_bootstrap(x, seed, resamples=2000, confidence=0.95):
    """Independent re-implementation: resample indices with the same generator, percentile interval."""
    x = np.asarray(x, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(resamples, len(x)))
    means = x[idx].mean(axis=1)
    alpha = 1 - confidence
    return np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)])


def test_bootstrap_mean_matches_direct_numpy_resampling():
    values = [0.91, 0.87, 0.78, 0.95, 0.83, 0.88, 0.69, 0.92]
    interval = bootstrap_mean(values, seed=1234)
    assert interval.value == pytest.approx(sum(values) / len(values), abs=1e-15)
    low, high = _direct_bootstrap(values, 1234)
    assert (interval.low, interval.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert interval.n == 8 and interval.method == "bootstrap-percentile"
    assert interval.low <= interval.value <= interval.high
    # Reproducible with the same seed, different with another.
    assert bootstrap_mean(values, seed=1234) == interval
    assert bootstrap_mean(values, seed=99) != interval


def test_bootstrap_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(bootstrap_mean(rng.normal(1.0, 1.0, 40), seed=s, resamples=500).contains(1.0) for s in range(200))
    assert 0.88 <= hits / 200 <= 0.99  # percentile bootstrap is slightly anti-conservative at n = 40


def test_bootstrap_edge_cases_and_missing_values():
    assert bootstrap_mean([], seed=0) is None
    assert bootstrap_mean([None, float("nan")], seed=0) is None
    single = bootstrap_mean([0.5, None], seed=0)
    assert (single.value, single.low, single.high, single.n, single.method) == (0.5, 0.5, 0.5, 1, "single value")
    constant = bootstrap_mean([0.3] * 5, seed=0)
    assert constant.low == pytest.approx(0.3) and constant.high == pytest.approx(0.3)


def test_bootstrap_difference_matches_direct_resampling():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 4.0, 5.0, 6.0]
    diff = bootstrap_difference(a, b, seed=7)
    assert diff.value == pytest.approx(np.mean(b) - np.mean(a))
    rng = np.random.default_rng(7)
    means_a = np.asarray(a)[rng.integers(0, 4, size=(2000, 4))].mean(axis=1)
    means_b = np.asarray(b)[rng.integers(0, 5, size=(2000, 5))].mean(axis=1)
    low, high = np.percentile(means_b - means_a, [2.5, 97.5])
    assert (diff.low, diff.high) == (pytest.approx(low), pytest.approx(high))
    assert diff.excludes_zero == (low > 0 or high < 0)
    assert bootstrap_difference([], b, seed=7) is None


def test_wilson_interval_by_hand():
    interval = wilson(3, 10)
    z = 1.959963984540054
    p, n = 0.3, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert interval.value == pytest.approx(0.3)
    assert (interval.low, interval.high) == (pytest.approx(centre - half), pytest.approx(centre + half))
    zero = wilson(0, 8)
    assert zero.value == 0 and zero.low == 0 and zero.high > 0.2  # does not collapse to [0, 0]
    assert wilson(0, 0) is None


def test_derive_seed_is_stable_across_processes():
    assert derive_seed("bootstrap", 0, "dust_storm", "tcs") == derive_seed("bootstrap", 0, "dust_storm", "tcs")
    assert derive_seed("bootstrap", 0, "dust_storm", "tcs") != derive_seed("bootstrap", 0, "night", "tcs")
    # A fixed value: the seed is a digest, not Python's per-process salted hash().
    assert derive_seed("x") == int.from_bytes(__import__("hashlib").blake2b(b"x", digest_size=8).digest(), "little") >> 1


def _record(group, index, tcs, sharp=0.2, passed=True, fired=(), event="normal_traffic"):
    return ClipRecord(clip_id=f"{group}_{index}", group=group, condition=group, path=f"/x/{group}_{index}.mp4",
                      event=event, values={"tcs": tcs, "temporal_coherence": 0.99, "adjacent_ssim": 0.8,
                                           "warping_error": 0.02, "flicker_index": 0.1, "sharpness": sharp,
                                           "motion": 1.0, "first_frame_psnr": None, "clip_score": None},
                      passed=passed, fired=list(fired))


def _records():
    records = []
    for i, tcs in enumerate([0.95, 0.93, 0.94, 0.96]):
        records.append(_record("clear_day", i, tcs, sharp=0.30))
    for i, tcs in enumerate([0.70, 0.75, 0.72, 0.80]):
        records.append(_record("dust_storm", i, tcs, sharp=0.10, passed=i == 3, fired=["blur"] if i < 2 else []))
    for i, tcs in enumerate([0.88, 0.90, 0.86, 0.87]):
        records.append(_record("night", i, tcs, sharp=0.15, event="construction_zone"))
    return records


def _summaries(records, gates=Gates()):
    return [summarise_group(g, "conditions", [r for r in records if r.group == g], base_seed=5, resamples=2000,
                            confidence=0.95, gates=gates, fvd_judged=False) for g in ("clear_day", "dust_storm", "night")]


def test_condition_summary_means_intervals_shares_and_worst_first():
    records = _records()
    dust = _summaries(records)[1]
    tcs = [0.70, 0.75, 0.72, 0.80]
    assert dust.measures["tcs"].value == pytest.approx(np.mean(tcs))
    low, high = _direct_bootstrap(tcs, derive_seed("bootstrap", 5, "dust_storm", "tcs"))
    assert (dust.measures["tcs"].low, dust.measures["tcs"].high) == (pytest.approx(low), pytest.approx(high))
    assert dust.rejection.value == pytest.approx(3 / 4)
    assert dust.flagged["blur"].value == pytest.approx(2 / 4) and dust.flagged["freeze"].value == 0
    assert dust.measures["clip_score"] is None
    # Failing clips first; among them more detectors fired first, then lower TCS.
    assert dust.clips_worst_first == ["dust_storm_0", "dust_storm_1", "dust_storm_2", "dust_storm_3"]
    assert dust.events == {"normal_traffic": 4}


def test_gap_best_worst_ranking_and_rarity_note_by_hand():
    records = _records()
    summaries = _summaries(records)
    cross = cross_summary(summaries, records, base_seed=5, resamples=2000, confidence=0.95)
    tcs = cross.extremes_of("tcs")
    assert (tcs.best, tcs.worst) == ("clear_day", "dust_storm")
    best, worst = [0.95, 0.93, 0.94, 0.96], [0.70, 0.75, 0.72, 0.80]
    assert tcs.gap.value == pytest.approx(np.mean(best) - np.mean(worst))  # positive = worst is worse
    rng = np.random.default_rng(derive_seed("gap", 5, "tcs"))
    means_worst = np.asarray(worst)[rng.integers(0, 4, size=(2000, 4))].mean(axis=1)
    means_best = np.asarray(best)[rng.integers(0, 4, size=(2000, 4))].mean(axis=1)
    low, high = np.percentile(means_best - means_worst, [2.5, 97.5])
    assert (tcs.gap.low, tcs.gap.high) == (pytest.approx(low), pytest.approx(high))
    assert tcs.gap.excludes_zero
    # Measures equal in every condition have no best/worst.
    assert cross.extremes_of("temporal_coherence") is None
    # Ranking by mean rank over the ranked measures: ties (equal values) share ranks.
    assert [r.group for r in cross.ranking] == ["clear_day", "night", "dust_storm"]
    # dust_storm (0.2 %) is the rarest of clear_day (60 %), night (20 %), dust_storm: the note fires.
    assert cross.rarest == ["dust_storm"]
    assert tcs.worst_is_rare
    assert any("among the rarest" in note and "dust_storm" in note for note in cross.notes)


def test_rejection_rate_extreme_names_a_frozen_condition_that_tcs_calls_best():
    # dust_storm's clips are frozen: the highest TCS of the three, yet 3 of 4 are rejected (freeze detector).
    records = [_record("clear_day", i, t) for i, t in enumerate([0.86, 0.88, 0.87, 0.89])]
    records += [_record("dust_storm", i, 0.97, passed=i == 0, fired=[] if i == 0 else ["freeze"]) for i in range(4)]
    records += [_record("night", i, t, passed=i != 0) for i, t in enumerate([0.90, 0.91, 0.92, 0.90])]
    summaries = _summaries(records)
    cross = cross_summary(summaries, records, base_seed=5, resamples=2000, confidence=0.95)
    assert cross.extremes_of("tcs").best == "dust_storm"
    rejection = cross.extremes_of("rejection_rate")
    assert (rejection.best, rejection.worst) == ("clear_day", "dust_storm")
    assert (rejection.best_value, rejection.worst_value) == (pytest.approx(0.0), pytest.approx(0.75))
    # The gap is bootstrapped over per-clip 0/1 rejections, worst minus best (positive = worst is worse).
    rng = np.random.default_rng(derive_seed("gap", 5, "rejection_rate"))
    best, worst = np.zeros(4), np.array([0.0, 1.0, 1.0, 1.0])
    means_best = best[rng.integers(0, 4, size=(2000, 4))].mean(axis=1)
    means_worst = worst[rng.integers(0, 4, size=(2000, 4))].mean(axis=1)
    low, high = np.percentile(means_worst - means_best, [2.5, 97.5])
    assert rejection.gap.value == pytest.approx(0.75)
    assert (rejection.gap.low, rejection.gap.high) == (pytest.approx(low), pytest.approx(high))
    assert rejection.worst_is_rare
    assert any("worst condition on Rejection rate" in note and "dust_storm" in note for note in cross.notes)


def test_rarest_is_a_quarter_of_the_audited_conditions():
    summaries = [ConditionSummary(group=g, label=g, condition=g, rarity=r, n_clips=1, n_errors=0)
                 for g, r in [("a", 0.5), ("b", 0.01), ("c", 0.2), ("d", 0.001), ("e", 0.3), ("f", None)]]
    assert rarest_groups(summaries) == ["d", "b"]  # ceil(5 × 0.25) = 2 of the 5 with a rarity


def _cells(tcs=None, clip=None, rejection=None, fvd=None, judged=True, gates=Gates()):
    summary = ConditionSummary(group="g", label="g", condition="g", rarity=None, n_clips=4, n_errors=0)
    summary.measures = {"tcs": tcs, "clip_score": clip}
    summary.rejection = rejection
    if fvd is not None:
        summary.distances = {"fvd": Distance("FVD (I3D)", fvd, 8, 8, 400, "i3d")}
    return {c.gate: c for c in condition_gates(summary, gates, judged)}


def _point(value, low=None, high=None):
    return Interval(value, value if low is None else low, value if high is None else high, 8, "bootstrap-percentile")


@pytest.mark.parametrize("tcs, status", [(0.85, FAIL), (0.8499, FAIL), (0.8501, PASS), (0.99, PASS)])
def test_tcs_gate_is_strictly_above(tcs, status):
    assert _cells(tcs=_point(tcs))["tcs"].status == status


@pytest.mark.parametrize("score, status", [(0.28, FAIL), (0.2799, FAIL), (0.2801, PASS)])
def test_clip_score_gate_is_strictly_above(score, status):
    assert _cells(clip=_point(score))["clip_score"].status == status


@pytest.mark.parametrize("rate, status", [(0.15, PASS), (0.1499, PASS), (0.1501, FAIL), (0.5, FAIL)])
def test_rejection_gate_alerts_only_above(rate, status):
    assert _cells(rejection=_point(rate))["rejection_rate"].status == status


@pytest.mark.parametrize("fvd, status", [(250.0, FAIL), (249.99, PASS), (250.01, FAIL)])
def test_fvd_gate_is_strictly_below(fvd, status):
    assert _cells(fvd=fvd)["fvd"].status == status


def test_no_data_not_judged_uncertain_and_verdicts():
    cells = _cells()
    assert {c.status for c in cells.values()} == {NO_DATA}
    assert verdict_of(list(cells.values())) == NO_DATA
    assert _cells(fvd=10.0, judged=False)["fvd"].status == NOT_JUDGED
    straddling = _cells(tcs=_point(0.86, 0.80, 0.90))["tcs"]
    assert straddling.status == PASS and straddling.uncertain
    assert not _cells(tcs=_point(0.95, 0.90, 0.99))["tcs"].uncertain
    mixed = _cells(tcs=_point(0.9), rejection=_point(0.5))
    assert verdict_of(list(mixed.values())) == FAIL
    ok = _cells(tcs=_point(0.9), rejection=_point(0.0))
    assert verdict_of(list(ok.values())) == PASS
    custom = Gates(gates=GateThresholds(tcs_min=0.95))
    assert _cells(tcs=_point(0.9), gates=custom)["tcs"].status == FAIL
