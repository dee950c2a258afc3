"""Plotly figures of an audit, each returned with a one-line reading of what it shows.

Every builder returns a `Chart` (figure + reading); the Audit page shows `chart.figure` with
gr.Plot and `chart.reading` under it, and the HTML report embeds the same figures. Plotly is imported
lazily, so importing this module costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.audit.records import FAIL, NO_DATA, NOT_JUDGED, PASS, AuditResult

COLOURS = {PASS: "#2e7d32", FAIL: "#c62828", NOT_JUDGED: "#9e9e9e", NO_DATA: "#e0e0e0"}
GATE_LABELS = {"tcs": "TCS", "clip_score": "CLIP score", "fvd": "FVD", "rejection_rate": "Rejection rate"}
DEFAULT_BAR_MEASURES = ("tcs", "temporal_coherence", "sharpness", "adjacent_ssim", "warping_error", "flicker_index")


@dataclass
class Chart:
    """A plotly Figure with its title and a one-sentence reading of what it shows."""

    key: str
    title: str
    figure: Any
    reading: str


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}g}"


def _layout(fig: Any, title: str, height: int = 380) -> Any:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=60, b=60), template="plotly_white",
                      font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"))
    return fig


def _threshold(audit: AuditResult, measure: str) -> float | None:
    gates = audit.provenance.gates.get("gates", {}) if audit.provenance.gates else {}
    return {"tcs": gates.get("tcs_min"), "clip_score": gates.get("clip_score_min")}.get(measure)


def measure_bars(audit: AuditResult, measure: str) -> Chart:
    """Bars of one measure's mean per condition with 95 % intervals as error bars (and the gate line)."""
    import plotly.graph_objects as go

    info = audit.measure_info(measure)
    label = info.label if info else measure
    rows = [(c.group, c.measures.get(measure)) for c in audit.conditions if c.measures.get(measure) is not None]
    fig = go.Figure(go.Bar(
        x=[g for g, _ in rows], y=[i.value for _, i in rows],
        error_y=dict(type="data", symmetric=False, array=[i.high - i.value for _, i in rows],
                     arrayminus=[i.value - i.low for _, i in rows]),
        marker_color=["#c62828" if audit.condition(g).verdict == FAIL else "#1565c0" for g, _ in rows],
        hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    threshold = _threshold(audit, measure)
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color="#555", annotation_text=f"gate {threshold:g}")
    _layout(fig, f"{label} per condition (mean, {audit.plan.get('confidence', 0.95):.0%} bootstrap interval)")
    fig.update_yaxes(title_text=info.unit if info else "")
    extremes = audit.cross.extremes_of(measure)
    if not rows:
        reading = f"No clip has a {label} value."
    elif extremes is None:
        reading = f"{label}: {', '.join(f'{g} {_fmt(i.value)}' for g, i in rows)} (no best/worst: informational or one condition)."
    else:
        gap = extremes.gap
        gap_text = f"; gap {_fmt(gap.value)} [{_fmt(gap.low)}, {_fmt(gap.high)}]" if gap else ""
        if gap is not None and not gap.excludes_zero:
            gap_text += " (the interval includes 0: not a clear gap at this sample size)"
        reading = (f"{label}: worst is {extremes.worst} ({_fmt(extremes.worst_value)}), best is {extremes.best} "
                   f"({_fmt(extremes.best_value)}){gap_text}" + (f"; dashed line is the gate {threshold:g}." if threshold is not None else "."))
    return Chart(f"bars:{measure}", f"{label} per condition", fig, reading)


def gate_heatmap(audit: AuditResult) -> Chart:
    """Condition × gate grid coloured pass / fail / not judged / no data, with the value in each cell."""
    import plotly.graph_objects as go

    gates = list(GATE_LABELS)
    codes = {FAIL: 0, NOT_JUDGED: 1, NO_DATA: 2, PASS: 3}
    z, text = [], []
    for summary in audit.conditions:
        row_z, row_text = [], []
        for gate in gates:
            cell = summary.gate(gate)
            status = cell.status if cell else NO_DATA
            row_z.append(codes[status])
            value = "" if cell is None or cell.value is None else f"<br>{_fmt(cell.value)}"
            row_text.append(f"{status}{value}{' ?' if cell is not None and cell.uncertain else ''}")
        z.append(row_z)
        text.append(row_text)
    colours = [COLOURS[FAIL], COLOURS[NOT_JUDGED], COLOURS[NO_DATA], COLOURS[PASS]]
    # Discrete colours: each status owns a quarter of the scale (repeated stops make hard edges).
    scale = [[edge, colour] for i, colour in enumerate(colours) for edge in (i / 4, (i + 1) / 4)]
    fig = go.Figure(go.Heatmap(z=z, x=[GATE_LABELS[g] for g in gates], y=[s.group for s in audit.conditions],
                               text=text, texttemplate="%{text}", zmin=-0.5, zmax=3.5, colorscale=scale, showscale=False,
                               hovertemplate="%{y} / %{x}: %{text}<extra></extra>", xgap=2, ygap=2))
    _layout(fig, "Gate verdicts (condition × gate)", height=max(260, 60 + 40 * len(audit.conditions)))
    fig.update_yaxes(autorange="reversed")
    failing = [s.group for s in audit.conditions if s.verdict == FAIL]
    by_gate = {g: sum(1 for s in audit.conditions if s.gate(g) and s.gate(g).status == FAIL) for g in gates}
    gate_text = ", ".join(f"{GATE_LABELS[g]} in {n}" for g, n in by_gate.items() if n) or "none"
    reading = (f"{len(failing)} of {len(audit.conditions)} conditions fail at least one gate (failures: {gate_text}); "
               f"grey cells are not judged or have no data, '?' marks an interval that straddles the threshold.")
    return Chart("gates", "Gate verdicts", fig, reading)


def distributions(audit: AuditResult, measure: str) -> Chart:
    """Box plot with every clip as a point, per condition, for one measure."""
    import numpy as np
    import plotly.graph_objects as go

    info = audit.measure_info(measure)
    label = info.label if info else measure
    fig = go.Figure()
    spreads = []
    for summary in audit.conditions:
        clips = [c for c in audit.clips if c.group == summary.group and c.values.get(measure) is not None]
        values = [c.values[measure] for c in clips]
        if not values:
            continue
        fig.add_trace(go.Box(y=values, name=summary.group, boxpoints="all", jitter=0.4, pointpos=0,
                             text=[c.clip_id for c in clips], hovertemplate="%{text}: %{y:.4g}<extra></extra>"))
        q1, q3 = np.percentile(values, [25, 75])
        spreads.append((summary.group, float(q3 - q1)))
    _layout(fig, f"{label}: per-clip distribution per condition")
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title_text=info.unit if info else "")
    if spreads:
        widest = max(spreads, key=lambda s: s[1])
        reading = (f"Each point is one clip; {label} varies most within {widest[0]} (interquartile range "
                   f"{_fmt(widest[1])}), so its mean is the least certain.")
    else:
        reading = f"No clip has a {label} value."
    return Chart(f"distribution:{measure}", f"{label} distribution", fig, reading)


def coverage_matrix(audit: AuditResult) -> Chart:
    """Event × condition grid: number of clips per cell, coloured by the share that passed their card."""
    import plotly.graph_objects as go

    groups = [s.group for s in audit.conditions]
    events = sorted({c.event or "unknown" for c in audit.clips})
    z, text = [], []
    for event in events:
        row_z, row_text = [], []
        for group in groups:
            clips = [c for c in audit.clips if c.group == group and (c.event or "unknown") == event and c.error is None]
            passed = sum(c.passed for c in clips)
            row_z.append(passed / len(clips) if clips else None)
            row_text.append(f"{len(clips)} clips<br>{passed} pass" if clips else "")
        z.append(row_z)
        text.append(row_text)
    fig = go.Figure(go.Heatmap(z=z, x=groups, y=events, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                               colorscale=[[0, COLOURS[FAIL]], [0.5, "#fbc02d"], [1, COLOURS[PASS]]],
                               colorbar=dict(title="share passing"), xgap=2, ygap=2,
                               hovertemplate="%{y} / %{x}: %{text}<extra></extra>"))
    _layout(fig, "Coverage: events × conditions (clips, passing share)", height=max(300, 80 + 36 * len(events)))
    covered = sum(1 for row in z for v in row if v is not None)
    reading = (f"{sum(1 for c in audit.clips if c.error is None)} measured clips cover {covered} of "
               f"{len(events) * len(groups)} event/condition cells; empty cells have no clip, red cells have clips "
               f"that mostly fail their quality card.")
    return Chart("coverage", "Coverage matrix", fig, reading)


def comparison_chart(comparison: Any, measure: str = "tcs") -> Chart:
    """Difference B − A per condition for one measure, with its interval; solid bars exclude zero."""
    import plotly.graph_objects as go

    cells = [c for c in comparison.cells if c.measure == measure]
    fig = go.Figure(go.Bar(
        x=[c.group for c in cells], y=[c.difference.value for c in cells],
        error_y=dict(type="data", symmetric=False, array=[c.difference.high - c.difference.value for c in cells],
                     arrayminus=[c.difference.value - c.difference.low for c in cells]),
        marker_color=["#1565c0" if c.excludes_zero else "#b0bec5" for c in cells],
        hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    fig.add_hline(y=0, line_color="#555")
    _layout(fig, f"{measure}: {comparison.name_b} (B) − {comparison.name_a} (A) per condition")
    real = [c for c in cells if c.excludes_zero]
    if not cells:
        reading = f"The two audits share no condition with {measure} values."
    else:
        reading = (f"{len(real)} of {len(cells)} conditions differ on {measure} with an interval that excludes zero"
                   + (": " + ", ".join(f"{c.group} ({c.better} better)" for c in real) if real else "") + ".")
    return Chart(f"compare:{measure}", f"Comparison on {measure}", fig, reading)


def clip_frames_chart(audit: AuditResult, clip_id: str) -> Chart:
    """Per-frame curves of one clip, stacked, with the flagged frame ranges shaded."""
    from plotly.subplots import make_subplots

    from core.audit.drilldown import clip_detail

    detail = clip_detail(audit, clip_id)
    series = detail.series or []
    fig = make_subplots(rows=max(1, len(series)), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[f"{s.label} ({s.unit})" for s in series] or [clip_id])
    for row, curve in enumerate(series, start=1):
        fig.add_scatter(x=curve.x, y=curve.values, mode="lines+markers", name=curve.label, row=row, col=1,
                        marker=dict(size=4), hovertemplate="frame %{x}: %{y:.4g}<extra></extra>")
    flicker = (audit.provenance.gates.get("detectors", {}) or {}).get("flicker_max_consecutive_diff")
    for row, curve in enumerate(series, start=1):
        if curve.key == "frame_diff" and flicker is not None:
            fig.add_hline(y=flicker, line_dash="dash", line_color="#c62828", row=row, col=1)
    for flagged in detail.ranges:
        fig.add_vrect(x0=flagged.start - 0.5, x1=flagged.end + 0.5, fillcolor=COLOURS[FAIL], opacity=0.15,
                      line_width=0, annotation_text=flagged.detector, annotation_position="top left")
    _layout(fig, f"{clip_id}: per-frame measures", height=140 + 150 * max(1, len(series)))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title_text="frame", row=max(1, len(series)), col=1)
    if detail.ranges:
        spans = ", ".join(f"{r.detector} frames {r.start}–{r.end}" for r in detail.ranges)
        reading = f"Shaded frames were flagged: {spans}."
    else:
        reading = "No failure detector fired on this clip; the curves show how each measure moves frame by frame."
    return Chart(f"clip:{clip_id}", f"Clip {clip_id}", fig, reading)


def report_charts(audit: AuditResult, comparison: Any = None) -> list[Chart]:
    """The charts of the HTML report, in order: gates, bars per measure, distributions, coverage, comparison."""
    charts = [gate_heatmap(audit)]
    charts += [measure_bars(audit, m) for m in DEFAULT_BAR_MEASURES
               if any(c.measures.get(m) is not None for c in audit.conditions)]
    charts += [distributions(audit, m) for m in ("tcs", "sharpness")]
    charts.append(coverage_matrix(audit))
    if comparison is not None:
        charts += [comparison_chart(comparison, m) for m in ("tcs", "temporal_coherence", "rejection_rate")]
    return charts


__all__ = ["Chart", "clip_frames_chart", "comparison_chart", "coverage_matrix", "distributions", "gate_heatmap",
           "measure_bars", "report_charts"]
