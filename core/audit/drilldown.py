"""Drill-down data for one condition (its clips, worst first) and one clip (per-frame series, flagged ranges).

Pure data, no plotting: the Audit page and the report draw it with core.audit.charts.clip_frames_chart.
Frame indices are 0-based. A series over frame pairs t → t+1 is placed at x = t + 0.5 (between the two
frames); a per-frame series at x = t. Flagged ranges are inclusive [start, end] frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.audit.records import AuditResult, ClipRecord, SignOff, _Json
from core.errors import ValidationError


@dataclass
class FrameSeries(_Json):
    """One per-frame (or per-pair) curve: x positions in frames, values in `unit`."""

    key: str
    label: str
    unit: str
    x: list[float]
    values: list[float]
    note: str = ""


@dataclass
class FlaggedRange(_Json):
    """Frames [start, end] (inclusive) flagged by `detector`, with the rule that fired."""

    detector: str
    start: int
    end: int
    rule: str = ""


@dataclass
class ClipDetail(_Json):
    """Everything the clip view shows: the record, curves, flagged ranges and the latest sign-off."""

    record: ClipRecord
    series: list[FrameSeries] = field(default_factory=list)
    ranges: list[FlaggedRange] = field(default_factory=list)
    signoff: SignOff | None = None


@dataclass
class ClipRow(_Json):
    """One line of a condition's clip list (worst first)."""

    clip_id: str
    passed: bool
    fired: list[str]
    tcs: float | None
    error: str | None
    decision: str | None
    thumbnail: str | None
    path: str


# (card measure, label, unit, placement) for the curves shown, in display order.
_CARD_SERIES = (
    ("motion", "Flow magnitude", "px/frame", "pair"),
    ("adjacent_ssim", "Adjacent SSIM", "SSIM", "pair"),
    ("sharpness", "Sharpness", "Sobel magnitude", "frame"),
    ("tcs", "TCS (flow change around frame t)", "score", "tcs"),
)


def _x(placement: str, count: int) -> list[float]:
    if placement == "pair":
        return [t + 0.5 for t in range(count)]
    if placement == "tcs":  # TCS values are for frames 1..T-2
        return [float(t + 1) for t in range(count)]
    return [float(t) for t in range(count)]


def clip_series(record: ClipRecord) -> list[FrameSeries]:
    """Per-frame curves of one clip: flow magnitude, consecutive-frame difference, adjacent SSIM, sharpness, TCS."""
    measures = record.card.get("measures", {}) if record.card else {}
    series = []
    for key, label, unit, placement in _CARD_SERIES:
        values = (measures.get(key) or {}).get("per_frame")
        if values:
            series.append(FrameSeries(key, label, unit, _x(placement, len(values)), list(values),
                                      (measures.get(key) or {}).get("per_frame_index", "")))
        if key == "motion" and record.frame_diff:
            series.append(FrameSeries("frame_diff", "Consecutive-frame difference", "mean abs. difference in [0, 1]",
                                      _x("pair", len(record.frame_diff)), list(record.frame_diff),
                                      "pair t → t+1 for t = 0..T-2, full resolution"))
    return series


def clip_detail(audit: AuditResult, clip_id: str) -> ClipDetail:
    """The drill-down of one clip of `audit` (ValidationError when the clip is not in it)."""
    record = audit.clip(clip_id)
    if record is None:
        raise ValidationError(f"clip '{clip_id}' is not part of audit '{audit.name}'.")
    rules = {flag.get("name"): flag.get("rule", "") for flag in (record.card or {}).get("flags", [])}
    ranges = [FlaggedRange(name, int(r[0]), int(r[1]), rules.get(name, ""))
              for name, spans in record.flags.items() for r in spans]
    return ClipDetail(record=record, series=clip_series(record), ranges=sorted(ranges, key=lambda r: (r.start, r.detector)),
                      signoff=audit.latest_signoffs().get(clip_id))


def condition_clips(audit: AuditResult, group: str) -> list[ClipRow]:
    """A condition's clips, worst first (errors, failed gates, more detectors fired, lower TCS)."""
    summary = audit.condition(group)
    if summary is None:
        raise ValidationError(f"condition '{group}' is not part of audit '{audit.name}'; "
                              f"audited: {', '.join(c.group for c in audit.conditions)}.")
    signoffs = audit.latest_signoffs()
    rows = []
    for clip_id in summary.clips_worst_first:
        record = audit.clip(clip_id)
        if record is None:
            continue
        decision = signoffs[clip_id].decision if clip_id in signoffs else None
        rows.append(ClipRow(clip_id=clip_id, passed=record.passed, fired=list(record.fired),
                            tcs=record.values.get("tcs"), error=record.error, decision=decision,
                            thumbnail=record.thumbnail, path=record.path))
    return rows


def clip_request(record: ClipRecord) -> dict | None:
    """The generation request of a clip, from its engine manifest (what the Present page's "reproduce"
    panel shows: model, adapters, prompt slots, guidance, steps, size, seed); None without a manifest."""
    import json
    from pathlib import Path

    if not record.manifest or not Path(record.manifest).is_file():
        return None
    try:
        data = json.loads(Path(record.manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    request = data.get("request") if isinstance(data, dict) else None
    return request if isinstance(request, dict) else None


def reference_clips(audit: AuditResult, group: str) -> list[str]:
    """Paths of the reference clips of a condition (empty when it has none), sorted."""
    from pathlib import Path

    from core.video_io import video_files

    summary = audit.condition(group)
    if summary is None or not summary.reference or not Path(summary.reference).is_dir():
        return []
    return [str(p) for p in video_files(Path(summary.reference))]
