"""Exporting an audit: HTML report, per-clip and per-condition CSVs, and one JSON with everything.

CSV cells that hold text starting with '=', '+', '-', '@', a tab or a carriage return get a leading
apostrophe, so a spreadsheet shows them as text instead of running them as formulas (clip names,
prompts, reviewer comments come from users). Numbers are written as numbers and left alone.
All files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.atomic import write_text_atomic
from core.audit.records import AuditResult
from core.audit.stats import Interval
from core.metrics.detectors import DETECTORS

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportFiles:
    """Paths of one export."""

    html: Path
    clips_csv: Path
    conditions_csv: Path
    json: Path


def neutralise(cell: Any) -> Any:
    """A CSV cell made safe for spreadsheets: text starting with = + - @ tab CR gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def _csv(headers: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        writer.writerow([neutralise("" if cell is None else cell) for cell in row])
    return buffer.getvalue()


def clips_csv(audit: AuditResult) -> str:
    """One row per clip: labels, verdict, fired detectors with frame ranges, every measure, hash, sign-off."""
    keys = [m.key for m in audit.measures]
    headers = ["clip_id", "condition_group", "condition", "event", "road", "category", "labels_source", "seed",
               "passed", "fired", "flagged_frames"] + keys + ["sha256", "path", "prompt", "model_id", "weights_sha256",
                                            "signoff", "reviewer", "comment", "signed_at", "error"]
    latest = audit.latest_signoffs()
    rows = []
    for clip in audit.clips:
        signoff = latest.get(clip.clip_id)
        flagged = "; ".join(f"{name} {' '.join(f'{a}..{b}' for a, b in spans)}" for name, spans in clip.flags.items())
        rows.append([clip.clip_id, clip.group, clip.condition, clip.event, clip.road, clip.category,
                     clip.labels_source, clip.seed,
                     None if clip.error else clip.passed, ";".join(clip.fired), flagged]
                    + [clip.values.get(k) for k in keys]
                    + [clip.sha256, clip.path, clip.prompt, clip.model_id, clip.weights_sha256,
                       signoff.decision if signoff else None, signoff.reviewer if signoff else None,
                       signoff.comment if signoff else None, signoff.timestamp if signoff else None, clip.error])
    return _csv(headers, rows)


def _triple(interval: Interval | None) -> list[Any]:
    return [None, None, None] if interval is None else [interval.value, interval.low, interval.high]


def conditions_csv(audit: AuditResult) -> str:
    """One row per condition: verdict, each measure's mean and interval, shares, FVD/KVD, gate statuses."""
    keys = [m.key for m in audit.measures]
    gates = ["tcs", "clip_score", "fvd", "rejection_rate"]
    headers = ["condition_group", "label", "condition", "rarity", "clips", "unreadable", "verdict"]
    for key in keys:
        headers += [f"{key}_mean", f"{key}_low", f"{key}_high"]
    headers += ["rejection_rate", "rejection_low", "rejection_high"]
    headers += [f"{d}_share" for d in DETECTORS] + ["fvd", "fvd_name", "kvd"] + [f"gate_{g}" for g in gates]
    rows = []
    for c in audit.conditions:
        row: list[Any] = [c.group, c.label, c.condition, c.rarity, c.n_clips, c.n_errors, c.verdict]
        for key in keys:
            row += _triple(c.measures.get(key))
        row += _triple(c.rejection)
        row += [c.flagged[d].value if c.flagged.get(d) else None for d in DETECTORS]
        fvd, kvd = c.distances.get("fvd"), c.distances.get("kvd")
        row += [fvd.value if fvd else None, fvd.name if fvd else None, kvd.value if kvd else None]
        row += [c.gate(g).status if c.gate(g) else None for g in gates]
        rows.append(row)
    return _csv(headers, rows)


def export_json(audit: AuditResult, comparison: Any = None, charts: list[Any] | None = None) -> str:
    """The whole audit (plan, provenance, clips with cards, summaries, sign-offs), the comparison, chart readings."""
    from core.audit.charts import report_charts

    payload = audit.to_dict()
    payload["comparison"] = comparison.to_dict() if comparison is not None else None
    charts = charts if charts is not None else report_charts(audit, comparison)
    payload["chart_readings"] = {chart.key: chart.reading for chart in charts}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def export_reports(audit: AuditResult, out_dir: str | Path | None = None, comparison: Any = None) -> ReportFiles:
    """Write report.html, clips.csv, conditions.csv and audit-report.json (atomically) into out_dir.

    out_dir defaults to the audit's own folder. Returns the four paths.
    """
    from core.audit.charts import report_charts
    from core.audit.report import render_report

    out = Path(out_dir) if out_dir else Path(audit.audit_dir)
    files = ReportFiles(html=out / "report.html", clips_csv=out / "clips.csv", conditions_csv=out / "conditions.csv",
                        json=out / "audit-report.json")
    charts = report_charts(audit, comparison)
    write_text_atomic(files.html, render_report(audit, comparison, charts, base=out))
    write_text_atomic(files.clips_csv, clips_csv(audit))
    write_text_atomic(files.conditions_csv, conditions_csv(audit))
    write_text_atomic(files.json, export_json(audit, comparison, charts))
    return files
