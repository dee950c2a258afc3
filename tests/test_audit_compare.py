"""Comparing two audits: the sign of the difference, its interval, and which audit is better."""

from __future__ import annotations

import numpy as np
import pytest

from core.audit.aggregate import cross_summary, summarise_group
from core.audit.compare import compare_audits
from core.audit.records import AuditResult, ClipRecord, Provenance
from core.audit.stats import derive_seed
from core.metrics.gates import Gates

GROUPS = ("clear_day", "fog")


def _audit(name, base_seed, tcs_by_group, warp_by_group, failed=()):
    clips = []
    for group in GROUPS:
        for i, (tcs, warp) in enumerate(zip(tcs_by_group[group], warp_by_group[group])):
            clips.append(ClipRecord(clip_id=f"{name}-{group}-{i}", group=group, condition=group, path="x.mp4",
                                    values={"tcs": tcs, "warping_error": warp}, passed=(group, i) not in failed))
    summaries = [summarise_group(g, "conditions", [c for c in clips if c.group == g], base_seed=base_seed,
                                 resamples=2000, confidence=0.95, gates=Gates(), fvd_judged=False) for g in GROUPS]
    cross = cross_summary(summaries, clips, base_seed=base_seed, resamples=2000, confidence=0.95)
    return AuditResult(name=name, mode="existing", group_by="conditions", plan={"base_seed": base_seed},
                       provenance=Provenance(), measures=[], clips=clips, conditions=summaries, cross=cross,
                       verdict="pass", audit_dir=f"/audits/{name}")


def test_difference_sign_interval_and_better_side():
    rng = np.random.default_rng(0)
    fog = list(0.90 + 0.01 * rng.standard_normal(8))
    a = _audit("A", 1, {"clear_day": list(0.80 + 0.01 * rng.standard_normal(8)), "fog": fog},
               {"clear_day": list(0.02 + 0.001 * rng.standard_normal(8)), "fog": [0.03] * 8})
    b = _audit("B", 2, {"clear_day": list(0.90 + 0.01 * rng.standard_normal(8)), "fog": fog[::-1]},
               {"clear_day": list(0.04 + 0.001 * rng.standard_normal(8)), "fog": [0.03] * 8},
               failed=[("clear_day", i) for i in range(8)])
    comparison = compare_audits(a, b)
    tcs = comparison.cell("clear_day", "tcs")
    a_tcs = [c.values["tcs"] for c in a.clips if c.group == "clear_day"]
    b_tcs = [c.values["tcs"] for c in b.clips if c.group == "clear_day"]
    assert tcs.difference.value == pytest.approx(np.mean(b_tcs) - np.mean(a_tcs))
    assert (tcs.mean_a, tcs.mean_b) == (pytest.approx(np.mean(a_tcs)), pytest.approx(np.mean(b_tcs)))
    rng = np.random.default_rng(derive_seed("compare", 1, 2, "clear_day", "tcs"))
    means_a = np.asarray(a_tcs)[rng.integers(0, 8, size=(2000, 8))].mean(axis=1)
    means_b = np.asarray(b_tcs)[rng.integers(0, 8, size=(2000, 8))].mean(axis=1)
    low, high = np.percentile(means_b - means_a, [2.5, 97.5])
    assert (tcs.difference.low, tcs.difference.high) == (pytest.approx(low), pytest.approx(high))
    assert tcs.difference.value > 0 and tcs.excludes_zero and tcs.better == "B"  # higher TCS is better
    warp = comparison.cell("clear_day", "warping_error")
    assert warp.difference.value > 0 and warp.excludes_zero and warp.better == "A"  # lower warping is better
    rejected = comparison.cell("clear_day", "rejection_rate")
    assert rejected.difference.value == pytest.approx(1.0) and rejected.better == "A"
    fog = comparison.cell("fog", "tcs")
    assert not fog.excludes_zero and fog.better == "no clear difference"
    assert fog.difference.low < 0 < fog.difference.high
    assert comparison.cell("fog", "warping_error").difference.value == 0.0
    assert any(line.startswith("clear_day: B (B) is better on tcs") for line in comparison.summary)
    assert comparison.to_dict()["cells"][0]["difference"]["method"] == "bootstrap-percentile"


def test_only_common_conditions_are_compared():
    a = _audit("A", 1, {"clear_day": [0.9, 0.8], "fog": [0.9, 0.8]}, {"clear_day": [0.1, 0.1], "fog": [0.1, 0.1]})
    b = _audit("B", 1, {"clear_day": [0.9, 0.8], "fog": [0.9, 0.8]}, {"clear_day": [0.1, 0.1], "fog": [0.1, 0.1]})
    b.conditions = b.conditions[:1]
    comparison = compare_audits(a, b)
    assert comparison.only_in_a == ["fog"] and comparison.only_in_b == []
    assert {c.group for c in comparison.cells} == {"clear_day"}
    same = comparison.cell("clear_day", "tcs")
    assert same.difference.value == 0.0 and not same.excludes_zero
