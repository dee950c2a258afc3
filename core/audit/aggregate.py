"""From clip records to per-condition summaries, gate verdicts, extremes, ranking and rarity notes.

Per condition (or category):
* every measure in core.audit.measure.MEASURES: mean and percentile-bootstrap interval (core.audit.stats);
* rejection rate (clips failing any per-clip gate of their quality card) and the share flagged by each
  detector, with Wilson intervals;
* gates, judged on the condition's numbers with configs/gates.yaml:
    tcs            mean TCS > tcs_min
    clip_score     mean CLIP score > clip_score_min        (no data without CLIP weights)
    fvd            FVD < fvd_max                           (no data without reference clips; not judged
                                                            on the random 3D CNN unless the gates file opts in)
    rejection_rate rejection rate ≤ rejection_rate_alert   (the case study alerts *above* 15 %)
  A condition fails when any gate fails; passes when at least one gate passed and none failed.

Across conditions: best and worst per directional measure and by rejection rate, with the gap and its interval;
a ranking by mean rank over RANKED_MEASURES and the rejection rate; notes when the worst condition is among the
rarest quarter of the audited conditions (rarity from the catalogue).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.audit.measure import MEASURE_BY_KEY, MEASURES, RANKED_MEASURES
from core.audit.records import (FAIL, NO_DATA, NOT_JUDGED, PASS, ClipRecord, ConditionSummary, CrossSummary,
                                Distance, Extremes, GateCell, RankEntry)
from core.audit.stats import Interval, bootstrap_difference, bootstrap_mean, derive_seed, wilson
from core.metrics.detectors import DETECTORS
from core.metrics.gates import fvd_gate
from core.metrics.measures import HIGHER, LOWER

RAREST_SHARE = 0.25  # "among the rarest": the rarest quarter of the audited conditions (at least one)


def severity_key(record: ClipRecord) -> tuple:
    """Sort key, worst clip first: errors, failed cards, more detectors fired, lower TCS."""
    tcs = record.values.get("tcs")
    return (record.error is None, record.passed, -len(record.fired), tcs if tcs is not None else math.inf,
            record.clip_id)


def group_label(group: str, group_by: str) -> tuple[str, str | None, float | None]:
    """(label, condition id, rarity) of a condition or category id from the catalogue."""
    from core.catalogue import default_catalogue

    catalogue = default_catalogue()
    if group_by == "categories" and group in catalogue.categories:
        category = catalogue.categories[group]
        return category.label, category.conditions, category.rarity
    entry = catalogue.conditions.get(group)
    return (entry.label, group, entry.rarity) if entry else (group, group, None)


def catalogue_order(groups: list[str], group_by: str) -> list[str]:
    """Distinct groups in catalogue order (the baseline first, as the catalogue lists them); unknown ids last."""
    from core.catalogue import default_catalogue

    catalogue = default_catalogue()
    order = list(catalogue.categories if group_by == "categories" else catalogue.conditions)
    return sorted(set(groups), key=lambda g: (order.index(g) if g in order else len(order), g))


def _threshold_status(passed: bool) -> str:
    return PASS if passed else FAIL


def condition_gates(summary: ConditionSummary, gates: Any, fvd_judged: bool) -> list[GateCell]:
    """The gate cells of one condition (see the module docstring for the rules)."""
    thresholds = gates.gates
    cells = []
    tcs = summary.measures.get("tcs")
    if tcs is None:
        cells.append(GateCell("tcs", NO_DATA, None, thresholds.tcs_min, "mean TCS > threshold", "no clip measured"))
    else:
        cells.append(GateCell("tcs", _threshold_status(tcs.value > thresholds.tcs_min), tcs.value,
                              thresholds.tcs_min, "mean TCS > threshold", uncertain=tcs.contains(thresholds.tcs_min)
                              and tcs.low != tcs.high))
    clip = summary.measures.get("clip_score")
    if clip is None:
        cells.append(GateCell("clip_score", NO_DATA, None, thresholds.clip_score_min, "mean CLIP score > threshold",
                              "no CLIP weights or no prompts"))
    else:
        cells.append(GateCell("clip_score", _threshold_status(clip.value > thresholds.clip_score_min), clip.value,
                              thresholds.clip_score_min, "mean CLIP score > threshold",
                              uncertain=clip.contains(thresholds.clip_score_min) and clip.low != clip.high))
    fvd = summary.distances.get("fvd")
    if fvd is None:
        cells.append(GateCell("fvd", NO_DATA, None, thresholds.fvd_max, "FVD < threshold", "no reference clips"))
    else:
        passed, why_not = fvd_gate(fvd.value, fvd_judged, gates)
        if passed is None:
            cells.append(GateCell("fvd", NOT_JUDGED, fvd.value, thresholds.fvd_max, "FVD < threshold",
                                  f"{fvd.name}: {why_not}"))
        else:
            cells.append(GateCell("fvd", _threshold_status(passed), fvd.value, thresholds.fvd_max, "FVD < threshold"))
    rate = summary.rejection
    if rate is None:
        cells.append(GateCell("rejection_rate", NO_DATA, None, thresholds.rejection_rate_alert,
                              "rejection rate ≤ alert level", "no clip measured"))
    else:
        cells.append(GateCell("rejection_rate", _threshold_status(rate.value <= thresholds.rejection_rate_alert),
                              rate.value, thresholds.rejection_rate_alert, "rejection rate ≤ alert level",
                              uncertain=rate.contains(thresholds.rejection_rate_alert)))
    return cells


def verdict_of(cells: list[GateCell]) -> str:
    statuses = {cell.status for cell in cells}
    return FAIL if FAIL in statuses else PASS if PASS in statuses else NO_DATA


def summarise_group(group: str, group_by: str, records: list[ClipRecord], *, base_seed: int, resamples: int,
                    confidence: float, gates: Any, fvd_judged: bool, distances: dict[str, Distance] | None = None,
                    reference: str | None = None) -> ConditionSummary:
    """Statistics and gates of one condition's clips (records that errored count in n_errors only)."""
    label, condition, rarity = group_label(group, group_by)
    measured = [r for r in records if r.error is None]
    summary = ConditionSummary(group=group, label=label, condition=condition or group, rarity=rarity,
                               n_clips=len(measured), n_errors=len(records) - len(measured),
                               distances=dict(distances or {}), reference=reference)
    for measure in MEASURES:
        values = [r.values.get(measure.key) for r in measured]
        summary.measures[measure.key] = bootstrap_mean(values, derive_seed("bootstrap", base_seed, group, measure.key),
                                                       resamples, confidence)
    summary.rejection = wilson(sum(not r.passed for r in measured), len(measured), confidence)
    for detector in DETECTORS:
        summary.flagged[detector] = wilson(sum(detector in r.fired for r in measured), len(measured), confidence)
    summary.gates = condition_gates(summary, gates, fvd_judged)
    summary.verdict = verdict_of(summary.gates)
    summary.clips_worst_first = [r.clip_id for r in sorted(records, key=severity_key)]
    for record in records:
        key = record.event or "unknown"
        summary.events[key] = summary.events.get(key, 0) + 1
    return summary


def _average_ranks(values: list[float]) -> list[float]:
    """1-based ranks of `values` ascending, ties sharing their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = np.asarray(values)[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks.tolist()


def rarest_groups(summaries: list[ConditionSummary]) -> list[str]:
    """The rarest quarter (at least one) of the groups whose rarity the catalogue gives, rarest first."""
    known = sorted((s for s in summaries if s.rarity is not None), key=lambda s: (s.rarity, s.group))
    if len(known) < 2:
        return []
    return [s.group for s in known[:max(1, math.ceil(len(known) * RAREST_SHARE))]]


def cross_summary(summaries: list[ConditionSummary], records: list[ClipRecord], *, base_seed: int,
                  resamples: int, confidence: float) -> CrossSummary:
    """Extremes with gaps, ranking and rarity notes across the audited groups."""
    cross = CrossSummary(ranked_measures=[*RANKED_MEASURES, "rejection_rate"])
    cross.rarest = rarest_groups(summaries)
    by_group: dict[str, list[ClipRecord]] = {}
    for record in records:
        if record.error is None:
            by_group.setdefault(record.group, []).append(record)
    for measure in MEASURES:
        if measure.direction not in (HIGHER, LOWER):
            continue
        present = [s for s in summaries if s.measures.get(measure.key) is not None]
        if len(present) < 2:
            continue
        sign = 1.0 if measure.direction == HIGHER else -1.0
        best = max(present, key=lambda s: sign * s.measures[measure.key].value)
        worst = min(present, key=lambda s: sign * s.measures[measure.key].value)
        if best.group == worst.group:
            continue
        best_values = [r.values.get(measure.key) for r in by_group.get(best.group, [])]
        worst_values = [r.values.get(measure.key) for r in by_group.get(worst.group, [])]
        seed = derive_seed("gap", base_seed, measure.key)
        # The gap is oriented so that positive means "the worst condition is worse".
        gap = (bootstrap_difference(worst_values, best_values, seed, resamples, confidence) if sign > 0
               else bootstrap_difference(best_values, worst_values, seed, resamples, confidence))
        cross.extremes.append(Extremes(measure=measure.key, best=best.group, best_value=best.measures[measure.key].value,
                                       worst=worst.group, worst_value=worst.measures[measure.key].value, gap=gap,
                                       worst_is_rare=worst.group in cross.rarest))
    rejection = _rejection_extremes(summaries, by_group, cross.rarest, base_seed, resamples, confidence)
    if rejection is not None:
        cross.extremes.append(rejection)
    ranks: dict[str, list[float]] = {s.group: [] for s in summaries}
    for key in cross.ranked_measures:
        if key == "rejection_rate":
            present = [(s.group, s.rejection.value) for s in summaries if s.rejection is not None]
            sign = 1.0
        else:
            present = [(s.group, s.measures[key].value) for s in summaries if s.measures.get(key) is not None]
            sign = -1.0 if MEASURE_BY_KEY[key].direction == HIGHER else 1.0
        if len(present) < 2:
            continue
        for (group, _), rank in zip(present, _average_ranks([sign * v for _, v in present])):
            ranks[group].append(rank)
    verdicts = {s.group: s.verdict for s in summaries}
    ordered = sorted((g for g in ranks if ranks[g]), key=lambda g: (float(np.mean(ranks[g])), g))
    cross.ranking = [RankEntry(position=i + 1, group=g, mean_rank=round(float(np.mean(ranks[g])), 4),
                               verdict=verdicts[g]) for i, g in enumerate(ordered)]
    cross.notes = rarity_notes(summaries, cross)
    return cross


REJECTION_LABEL = "Rejection rate"


def extreme_label(key: str) -> str:
    """Display name of an Extremes.measure: a measure's label, or the rejection rate's."""
    return REJECTION_LABEL if key == "rejection_rate" else MEASURE_BY_KEY[key].label


def _rejection_extremes(summaries: list[ConditionSummary], by_group: dict[str, list[ClipRecord]], rarest: list[str],
                        base_seed: int, resamples: int, confidence: float) -> Extremes | None:
    """Best and worst condition by rejection rate, the gap bootstrapped over per-clip 0/1 rejections.

    A frozen clip scores a high TCS, so the per-measure extremes alone can call a condition best whose clips
    are mostly rejected (by the freeze and static detectors); the rejection rate is the reviewer's headline."""
    present = [s for s in summaries if s.rejection is not None]
    if len(present) < 2:
        return None
    best = min(present, key=lambda s: s.rejection.value)
    worst = max(present, key=lambda s: s.rejection.value)
    if worst.rejection.value == best.rejection.value:
        return None

    def rejected(group: str) -> list[float]:
        return [0.0 if r.passed else 1.0 for r in by_group.get(group, [])]

    gap = bootstrap_difference(rejected(best.group), rejected(worst.group),
                               derive_seed("gap", base_seed, "rejection_rate"), resamples, confidence)
    return Extremes(measure="rejection_rate", best=best.group, best_value=best.rejection.value, worst=worst.group,
                    worst_value=worst.rejection.value, gap=gap, worst_is_rare=worst.group in rarest)


def rarity_notes(summaries: list[ConditionSummary], cross: CrossSummary) -> list[str]:
    """Sentences for a worst condition (overall, or per measure) that is also among the rarest."""
    labels = {s.group: s for s in summaries}
    notes = []
    if cross.ranking and cross.ranking[-1].group in cross.rarest and len(cross.ranking) > 1:
        worst = labels[cross.ranking[-1].group]
        notes.append(f"The worst-ranked condition, {worst.label} ({worst.group}), is also among the rarest "
                     f"({worst.rarity:.2%} of driving time): generation quality is weakest exactly where perception "
                     f"needs synthetic clips most, so the safety problem is amplified.")
    per_group: dict[str, list[str]] = {}
    for extremes in cross.extremes:
        if extremes.worst_is_rare:
            per_group.setdefault(extremes.worst, []).append(extreme_label(extremes.measure))
    for group, measures in per_group.items():
        summary = labels[group]
        listed = measures[0] if len(measures) == 1 else f"{', '.join(measures[:-1])} and {measures[-1]}"
        notes.append(f"{summary.label} ({group}) is the worst condition on {listed}, and among the rarest "
                     f"({summary.rarity:.2%} of driving time).")
    return notes


def overall(summaries: list[ConditionSummary], records: list[ClipRecord], confidence: float) -> tuple[str, list[str], Interval | None]:
    """(audit verdict, one line per failed gate, overall rejection rate)."""
    failing = []
    for summary in summaries:
        for cell in summary.gates:
            if cell.status == FAIL:
                value = "-" if cell.value is None else f"{cell.value:.4g}"
                failing.append(f"{summary.group}: {cell.gate} {value} (rule: {cell.rule}, threshold {cell.threshold:g})")
    measured = [r for r in records if r.error is None]
    rejection = wilson(sum(not r.passed for r in measured), len(measured), confidence)
    verdicts = {s.verdict for s in summaries}
    verdict = FAIL if FAIL in verdicts else PASS if PASS in verdicts else NO_DATA
    return verdict, failing, rejection


__all__ = ["catalogue_order", "condition_gates", "cross_summary", "group_label", "overall", "rarest_groups", "severity_key",
           "summarise_group", "verdict_of"]
