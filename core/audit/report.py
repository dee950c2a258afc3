"""The self-contained HTML report of an audit: opens offline, makes no network request.

plotly.js is embedded once (from the installed plotly package) and every figure is a div that uses it;
thumbnails are base64 PNGs; the worst clips play from the audit folder's media/ files, linked relative
to the report (too large to embed: keep the report in its folder); styles are inline with system fonts
only (no web fonts, no CDN). Every piece of text that comes from a user (plan name, comments, reviewer names, clip names) is HTML-escaped.

Sections, each an element with a stable id the tests check: summary, gates, conditions, cross, charts,
worst-clips, comparison (when given), signoffs, provenance, method.
"""

from __future__ import annotations

import base64
import json
import os
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.audit.aggregate import REJECTION_LABEL
from core.audit.charts import GATE_LABELS, report_charts
from core.audit.records import FAIL, PASS, SIGNED_IN, AuditResult
from core.audit.stats import Interval
from core.metrics.detectors import DETECTORS

WORST_CLIPS_SHOWN = 3  # per condition: enough to see the failure pattern without a huge report
SECTIONS = ("summary", "gates", "conditions", "cross", "charts", "worst-clips", "signoffs", "provenance", "method")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;
padding:0 24px 48px;color:#1b1b1b;line-height:1.45}
h1{margin:24px 0 4px}h2{border-bottom:2px solid #e0e0e0;padding-bottom:4px;margin-top:40px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;
vertical-align:top;overflow-wrap:anywhere}th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#e8f5e9;color:#1b5e20;font-weight:600}.fail{background:#ffebee;color:#b71c1c;font-weight:600}
.nodata,.notjudged{background:#f5f5f5;color:#616161}.banner{background:#fff3e0;border:1px solid #ffb74d;padding:6px 12px;
margin:12px 0;font-weight:600}.verdict{font-size:22px;padding:8px 14px;display:inline-block;border-radius:4px}
.reading{color:#37474f;font-style:italic;margin:0 0 24px}.note{background:#fce4ec;border-left:4px solid #c2185b;padding:6px 10px;
margin:6px 0}.thumb{max-width:100%;border:1px solid #ccc}pre{background:#fafafa;border:1px solid #eee;padding:8px;
overflow:auto;font-size:12px}.muted{color:#757575}video.clip{width:256px;max-width:100%}
"""


def _status_class(status: str) -> str:
    return {PASS: "pass", FAIL: "fail"}.get(status, status.replace(" ", ""))


def _num(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _interval(interval: Interval | None, digits: int = 4, percent: bool = False) -> str:
    if interval is None:
        return "–"
    if percent:
        return f"{interval.value:.1%} [{interval.low:.1%}, {interval.high:.1%}]"
    return f"{interval.value:.{digits}g} [{interval.low:.{digits}g}, {interval.high:.{digits}g}]"


def _table(headers: list[str], rows: list[list[str]], raw_cells: bool = False) -> str:
    """An HTML table; cells are escaped unless raw_cells (then the caller escaped them)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(c if raw_cells else f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(text: str, cls: str = "") -> str:
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def _summary(audit: AuditResult) -> str:
    measured = sum(1 for c in audit.clips if c.error is None)
    errors = len(audit.clips) - measured
    parts = [f'<section id="summary"><h2>Summary</h2>',
             f'<p><span class="verdict {_status_class(audit.verdict)}">Verdict: {escape(audit.verdict.upper())}</span></p>',
             f"<p>{measured} clips measured ({errors} could not be read) over {len(audit.conditions)} "
             f"{escape(audit.group_by)}; mode: {escape(audit.mode)}. Overall rejection rate "
             f"{escape(_interval(audit.rejection, percent=True))}.</p>"]
    if audit.failing:
        parts.append("<p>Failed gates:</p><ul>" + "".join(f"<li>{escape(line)}</li>" for line in audit.failing) + "</ul>")
    if audit.cross.ranking:
        worst, best = audit.cross.ranking[-1], audit.cross.ranking[0]
        parts.append(f"<p>Worst-ranked: <b>{escape(worst.group)}</b>; best-ranked: <b>{escape(best.group)}</b>.</p>")
    parts += [f'<div class="note">{escape(note)}</div>' for note in audit.cross.notes]
    if audit.skipped:  # found but not audited: the reader must know the audit does not cover them
        parts.append(f'<h3 id="skipped">{len(audit.skipped)} clips skipped (in no condition and no gate)</h3>'
                     + _table(["clip", "file", "reason"], [[c.clip_id, c.path, c.reason] for c in audit.skipped]))
    parts.append("</section>")
    return "".join(parts)


def _gates(audit: AuditResult) -> str:
    gates = list(GATE_LABELS)
    rows = []
    for summary in audit.conditions:
        cells = [_td(summary.group), _td(summary.verdict, _status_class(summary.verdict))]
        for gate in gates:
            cell = summary.gate(gate)
            if cell is None:
                cells.append(_td("no data", "nodata"))
                continue
            text = cell.status + ("" if cell.value is None else f" ({_num(cell.value)})") + (" ?" if cell.uncertain else "")
            cells.append(f'<td class="{_status_class(cell.status)}" title="{escape(cell.rule + "; " + cell.note)}">'
                         f"{escape(text)}</td>")
        rows.append(cells)
    thresholds = audit.provenance.gates.get("gates", {})
    rules = (f"TCS > {thresholds.get('tcs_min')}, CLIP score > {thresholds.get('clip_score_min')}, "
             f"FVD < {thresholds.get('fvd_max')} (only with reference clips), rejection rate ≤ "
             f"{thresholds.get('rejection_rate_alert')}. '?' marks an interval that straddles the threshold.")
    return (f'<section id="gates"><h2>Gate table</h2><p class="muted">{escape(rules)}</p>'
            + _table(["condition", "verdict"] + [GATE_LABELS[g] for g in gates], rows, raw_cells=True) + "</section>")


def _conditions(audit: AuditResult) -> str:
    measures = [m for m in audit.measures if any(c.measures.get(m.key) is not None for c in audit.conditions)]
    headers = ["condition", "label", "rarity", "clips"] + [f"{m.label} ({m.unit})" for m in measures]
    rows = []
    for c in audit.conditions:
        rows.append([c.group, c.label, "–" if c.rarity is None else f"{c.rarity:.2%}", f"{c.n_clips}" +
                     (f" (+{c.n_errors} unreadable)" if c.n_errors else "")]
                    + [_interval(c.measures.get(m.key)) for m in measures])
    shares = []
    for c in audit.conditions:
        fvd, kvd = c.distances.get("fvd"), c.distances.get("kvd")
        shares.append([c.group, _interval(c.rejection, percent=True)] + [_interval(c.flagged.get(d), percent=True)
                                                                          for d in DETECTORS]
                      + [f"{_num(fvd.value)} ({fvd.name}, n={fvd.n_reference}/{fvd.n_generated})" if fvd else "no reference",
                         _num(kvd.value) if kvd else "–"])
    confidence = audit.plan.get("confidence", 0.95)
    return (f'<section id="conditions"><h2>Per-condition results</h2><p class="muted">Mean [{confidence:.0%} '
            f"percentile-bootstrap interval] per measure.</p>" + _table(headers, rows)
            + "<h3>Rejections, failure detectors and distances</h3><p class=\"muted\">Shares of clips with Wilson "
              "intervals; FVD/KVD against the condition's reference clips.</p>"
            + _table(["condition", "rejection rate"] + [f"{d} flagged" for d in DETECTORS] + ["FVD", "KVD"], shares)
            + "</section>")


def _cross(audit: AuditResult) -> str:
    rows = []
    for e in audit.cross.extremes:
        info = audit.measure_info(e.measure)
        clear = "" if e.gap is None else ("yes" if e.gap.excludes_zero else "no (interval includes 0)")
        label = info.label if info else REJECTION_LABEL if e.measure == "rejection_rate" else e.measure
        rows.append([label, f"{e.best} ({_num(e.best_value)})", f"{e.worst} ({_num(e.worst_value)})",
                     _interval(e.gap), clear, "yes" if e.worst_is_rare else "no"])
    ranking = [[str(r.position), r.group, f"{r.mean_rank:g}", r.verdict] for r in audit.cross.ranking]
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in audit.cross.notes) or \
        '<p class="muted">The worst condition is not among the rarest audited conditions.</p>'
    return ('<section id="cross"><h2>Across conditions</h2>'
            + _table(["measure", "best", "worst", "quality gap (worse by) [interval]", "clear gap", "worst among rarest"], rows)
            + f"<h3>Ranking</h3><p class=\"muted\">Mean rank over {escape(', '.join(audit.cross.ranked_measures))} "
              f"(1 = best). Rarest audited: {escape(', '.join(audit.cross.rarest) or 'n/a')}.</p>"
            + _table(["position", "condition", "mean rank", "verdict"], ranking) + notes + "</section>")


def _charts(charts: list[Any]) -> str:
    import plotly.io as pio

    parts = ['<section id="charts"><h2>Charts</h2>']
    for index, chart in enumerate(charts):
        div = pio.to_html(chart.figure, include_plotlyjs=False, full_html=False, div_id=f"chart-{index}",
                          config={"displaylogo": False, "responsive": True})
        parts.append(f'<figure class="chart" data-key="{escape(chart.key)}">{div}'
                     f'<figcaption class="reading">{escape(chart.reading)}</figcaption></figure>')
    parts.append("</section>")
    return "".join(parts)


def _thumbnail(audit: AuditResult, name: str | None) -> str:
    if not name:
        return '<span class="muted">no thumbnail</span>'
    path = Path(audit.audit_dir) / "cards" / name
    if not path.is_file():
        return '<span class="muted">thumbnail file missing</span>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="thumb" alt="first, flagged or middle, and last frame" src="data:image/png;base64,{data}">'


def _video(audit: AuditResult, clip: Any, base: Path) -> str:
    """A player for the clip's file in the audit folder, linked relative to the report (works offline)."""
    from core.audit.media import clip_media

    shown = clip_media(audit, clip)
    if shown is None:
        return '<span class="muted">no playable file</span>'
    src = quote(Path(os.path.relpath(shown, base.resolve())).as_posix())
    return f'<video class="clip" src="{escape(src)}" controls muted loop playsinline preload="metadata"></video>'


def _worst(audit: AuditResult, base: Path) -> str:
    signoffs = audit.latest_signoffs()
    parts = ['<section id="worst-clips"><h2>Worst clips per condition</h2><p class="muted">Frames shown: first, first '
             'flagged (else middle), last. Flagged frame ranges are inclusive, 0-based. The players read the '
             'clips from the audit folder beside this report (media/), so keep the folder together.</p>']
    for summary in audit.conditions:
        rows = []
        for clip_id in summary.clips_worst_first[:WORST_CLIPS_SHOWN]:
            clip = audit.clip(clip_id)
            if clip is None:
                continue
            flags = "; ".join(f"{name} {', '.join(f'{a}–{b}' for a, b in spans)}" for name, spans in clip.flags.items())
            signoff = signoffs.get(clip_id)
            mark = " · labels user-asserted (a typed prompt conditioned it)" if clip.labels_asserted else ""
            media = f"<td>{_thumbnail(audit, clip.thumbnail)}</td><td>{_video(audit, clip, base)}</td>"
            rows.append([_td(clip_id + mark), media,
                         _td(clip.error or ("pass" if clip.passed else "fail"), "" if clip.error else _status_class(PASS if clip.passed else FAIL)),
                         _td(_num(clip.values.get("tcs"))), _td(flags or "none"),
                         _td(f"{signoff.decision} by {signoff.reviewer}" if signoff else "not signed off")])
        parts.append(f"<h3>{escape(summary.label)} ({escape(summary.group)})</h3>"
                     + _table(["clip", "frames", "clip", "card", "TCS", "flagged frames", "sign-off"], rows,
                              raw_cells=True))
    parts.append("</section>")
    return "".join(parts)


def _comparison(comparison: Any) -> str:
    rows = [[c.group, c.measure, _num(c.mean_a), _num(c.mean_b), _interval(c.difference), "yes" if c.excludes_zero else "no",
             c.better] for c in comparison.cells]
    lines = "".join(f"<li>{escape(s)}</li>" for s in comparison.summary) or "<li>No real difference on any condition.</li>"
    return (f'<section id="comparison"><h2>Comparison: {escape(comparison.name_b)} (B) against {escape(comparison.name_a)} (A)'
            f"</h2><ul>{lines}</ul>"
            + _table(["condition", "measure", "A", "B", "B − A [interval]", "excludes 0", "better"], rows) + "</section>")


def _signoffs(audit: AuditResult) -> str:
    latest = audit.latest_signoffs()
    rows = [[s.clip_id, s.decision, s.reviewer, "signed in" if s.identity == SIGNED_IN else "typed name", s.comment,
             s.timestamp] for s in latest.values()]
    accepted = sum(1 for s in latest.values() if s.decision == "accept")
    body = (_table(["clip", "decision", "reviewer", "reviewer identity", "comment", "time (UTC)"], rows) if rows
            else '<p class="muted">No clip has been signed off yet.</p>')
    return (f'<section id="signoffs"><h2>Sign-offs</h2><p>{len(latest)} of {len(audit.clips)} clips signed off '
            f"({accepted} accepted, {len(latest) - accepted} rejected; {len(audit.signoffs)} decisions in the history).</p>"
            f"{body}</section>")


def _provenance(audit: AuditResult) -> str:
    p = audit.provenance
    models = "; ".join(f"{m.get('id')} (weights sha256 {m.get('weights_sha256') or 'unknown'}, {m.get('clips')} clips)"
                       for m in p.models) or "unknown"
    adapters = "; ".join(f"{a.get('name')} × {a.get('scale')}" for a in p.adapters) or "none"
    seeds = "; ".join(f"{g}: {', '.join(str(s) for s in v)}" for g, v in p.seeds.items()) or "not recorded"
    facts = [["created (UTC)", p.created_utc], ["finished (UTC)", p.finished_utc], ["model", models],
             ["adapters", adapters], ["seeds", seeds], ["base seed", str(audit.plan.get("base_seed"))],
             ["guidance / steps", f"{audit.plan.get('guidance_scale')} / {audit.plan.get('num_inference_steps') or 'model default'}"
              if audit.mode == "generate" else "as recorded in each clip's manifest (audit of existing clips)"],
             ["flow", p.flow], ["FVD features", f"{p.extractor['name']} ({p.extractor.get('identity')})" if p.extractor
              else "none (no reference clips)"],
             ["plan sha256", p.plan_sha256], ["platform", f"{p.platform}; {p.machine}"],
             ["timings", ", ".join(f"{k} {v}" for k, v in p.timings.items())],
             ["library versions", ", ".join(f"{k} {v}" for k, v in sorted(p.libraries.items()))]]
    hashes = [[c.clip_id, c.group, c.labels_source or "–", str(c.seed if c.seed is not None else "–"), c.sha256]
              for c in audit.clips]
    return ('<section id="provenance"><h2>Plan and provenance</h2>' + _table(["item", "value"], facts)
            + "<h3>Plan</h3><pre>" + escape(json.dumps(audit.plan, indent=2, sort_keys=True)) + "</pre>"
            + "<h3>Clips and their SHA-256</h3>" + _table(["clip", "condition", "labels from", "seed", "sha256 of the MP4"], hashes)
            + "</section>")


def _method(audit: AuditResult) -> str:
    stats = audit.provenance.statistics
    return ('<section id="method"><h2>Method</h2><p>Means carry a percentile-bootstrap interval: '
            f"{escape(str(stats.get('resamples')))} resamples of the condition's clips with replacement, the "
            f"{escape(str(stats.get('confidence')))} central quantiles of the resampled means, seeds derived from the "
            "plan's base seed (so the same plan gives the same intervals). Shares use Wilson score intervals. Gaps and "
            "comparisons resample the two groups independently. Gates come from configs/gates.yaml; FVD is judged only "
            "with I3D features and a reference.</p></section>")


def render_report(audit: AuditResult, comparison: Any = None, charts: list[Any] | None = None,
                  base: str | Path | None = None) -> str:
    """The whole report as one HTML string (about 5 MB: plotly.js is embedded); charts default to report_charts.

    base: the folder the report is written to (default the audit's folder); clip players link relative to it.
    """
    import plotly.offline

    charts = charts if charts is not None else report_charts(audit, comparison)
    base = Path(base or audit.audit_dir or ".")
    body = [_summary(audit), _gates(audit), _conditions(audit), _cross(audit), _charts(charts), _worst(audit, base)]
    if comparison is not None:
        body.append(_comparison(comparison))
    body += [_signoffs(audit), _provenance(audit), _method(audit)]
    title = f"Audit report: {audit.name}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
            f"<style>{_CSS}</style><script type=\"text/javascript\">{plotly.offline.get_plotlyjs()}</script></head><body>"
            f"<h1>{escape(title)}</h1><div class=\"banner\">All generated clips in this audit are synthetic.</div>"
            f"<p class=\"muted\">Scenario Studio {escape(audit.provenance.tool_version)}, {escape(audit.provenance.finished_utc)}</p>"
            + "".join(body) + "</body></html>")
