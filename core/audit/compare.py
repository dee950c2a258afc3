"""Comparing two audits (model A against B, or with and without an adapter), condition by condition.

For every condition both audits cover and every measure, the difference mean(B) − mean(A) with a
percentile-bootstrap interval over independent resamples of the two audits' clips (see
core.audit.stats.bootstrap_difference). The difference is called real when its interval excludes
zero; `better` then names the audit that is better given the measure's direction. The rejection rate
(clips failing a per-clip gate, lower is better) is compared the same way on 0/1 indicators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.audit.measure import MEASURE_BY_KEY, MEASURES
from core.audit.records import AuditResult, _Json
from core.audit.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval, bootstrap_difference, derive_seed
from core.metrics.measures import HIGHER, LOWER

REJECTION = "rejection_rate"


@dataclass
class ComparisonCell(_Json):
    """One condition × measure of a comparison.

    difference: mean(B) − mean(A) with its interval; excludes_zero: the interval lies on one side of 0;
    better: "A", "B", "no clear difference" (interval includes 0) or "n/a" (informational measure).
    """

    group: str
    measure: str
    mean_a: float
    mean_b: float
    difference: Interval
    excludes_zero: bool
    better: str


@dataclass
class Comparison(_Json):
    """Audit B against audit A. `summary` has one line per condition with a real difference."""

    name_a: str
    name_b: str
    path_a: str
    path_b: str
    cells: list[ComparisonCell] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    resamples: int = DEFAULT_RESAMPLES
    confidence: float = DEFAULT_CONFIDENCE

    def cell(self, group: str, measure: str) -> ComparisonCell | None:
        return next((c for c in self.cells if c.group == group and c.measure == measure), None)


def _values(audit: AuditResult, group: str, measure: str) -> list[float | None]:
    clips = [c for c in audit.clips if c.group == group and c.error is None]
    if measure == REJECTION:
        return [0.0 if c.passed else 1.0 for c in clips]
    return [c.values.get(measure) for c in clips]


def compare_audits(a: AuditResult, b: AuditResult, measures: list[str] | None = None,
                   resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE) -> Comparison:
    """B against A for every common condition and measure (default: all measures plus the rejection rate)."""
    keys = measures or [m.key for m in MEASURES] + [REJECTION]
    groups_a, groups_b = [c.group for c in a.conditions], [c.group for c in b.conditions]
    comparison = Comparison(name_a=a.name, name_b=b.name, path_a=a.audit_dir, path_b=b.audit_dir,
                            only_in_a=[g for g in groups_a if g not in groups_b],
                            only_in_b=[g for g in groups_b if g not in groups_a], resamples=resamples,
                            confidence=confidence)
    for group in [g for g in groups_a if g in groups_b]:
        better_for: dict[str, list[str]] = {"A": [], "B": []}
        for key in keys:
            direction = LOWER if key == REJECTION else MEASURE_BY_KEY[key].direction
            seed = derive_seed("compare", a.plan.get("base_seed"), b.plan.get("base_seed"), group, key)
            diff = bootstrap_difference(_values(a, group, key), _values(b, group, key), seed, resamples, confidence)
            if diff is None:
                continue
            real = diff.excludes_zero
            if direction not in (HIGHER, LOWER):
                better = "n/a"
            elif not real:
                better = "no clear difference"
            else:
                better = "B" if (diff.value > 0) == (direction == HIGHER) else "A"
                better_for[better].append(key)
            present_a = [float(v) for v in _values(a, group, key) if v is not None]
            present_b = [float(v) for v in _values(b, group, key) if v is not None]
            comparison.cells.append(ComparisonCell(group=group, measure=key, mean_a=sum(present_a) / len(present_a),
                                                   mean_b=sum(present_b) / len(present_b), difference=diff,
                                                   excludes_zero=real, better=better))
        for side, name in (("B", b.name), ("A", a.name)):
            if better_for[side]:
                comparison.summary.append(f"{group}: {name} ({side}) is better on {', '.join(better_for[side])}.")
    return comparison
