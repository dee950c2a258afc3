"""Per-condition quality audits (issue 5): plan, run (generate-and-audit or existing clips), statistics,
gates, comparison, sign-off, charts and reports. Importing this package loads nothing heavy.

The API the Audit and Present pages call (every result is a typed dataclass with `to_dict()`):

    from core.audit import (load_plan, parse_plan, run_audit, load_audit, list_audits, add_signoff,
                            compare_audits, export_reports, clip_detail, condition_clips, charts)

    plan = load_plan("plan.yaml")                     # or parse_plan({...}) from a form
    audit = run_audit(plan, out_dir, on_progress=cb, cancel=token)   # resumes when rerun
    files = export_reports(audit, comparison=compare_audits(baseline, audit))
    charts.gate_heatmap(audit).figure / .reading       # plotly Figure + one-line reading

See docs/AUDIT.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.audit.compare import Comparison, ComparisonCell, compare_audits
    from core.audit.drilldown import (ClipDetail, ClipRow, FlaggedRange, FrameSeries, clip_detail, clip_request,
                                      condition_clips, reference_clips)
    from core.audit.export import ReportFiles, export_reports, neutralise
    from core.audit.plan import AuditPlan, ClipTask, load_plan, parse_plan, plan_from_dict, plan_tasks
    from core.audit.records import (AuditResult, ClipRecord, ConditionSummary, CrossSummary, Distance, Extremes,
                                    GateCell, Provenance, RankEntry, SignOff)
    from core.audit.runner import AuditCancelled, AuditProgress, run_audit
    from core.audit.stats import Interval
    from core.audit.store import AuditListing, AuditStore, add_signoff, list_audits, load_audit

_LAZY = {
    "compare": ("Comparison", "ComparisonCell", "compare_audits"),
    "drilldown": ("ClipDetail", "ClipRow", "FlaggedRange", "FrameSeries", "clip_detail", "clip_request",
                  "condition_clips", "reference_clips"),
    "export": ("ReportFiles", "export_reports", "neutralise"),
    "plan": ("AuditPlan", "ClipTask", "load_plan", "parse_plan", "plan_from_dict", "plan_tasks"),
    "records": ("AuditResult", "ClipRecord", "ConditionSummary", "CrossSummary", "Distance", "Extremes", "GateCell",
                "Provenance", "RankEntry", "SignOff"),
    "runner": ("AuditCancelled", "AuditProgress", "run_audit"),
    "stats": ("Interval",),
    "store": ("AuditListing", "AuditStore", "add_signoff", "list_audits", "load_audit"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}

__all__ = sorted(_WHERE) + ["charts"]


def __getattr__(name: str) -> Any:
    if name == "charts":
        return importlib.import_module("core.audit.charts")
    if name in _WHERE:
        return getattr(importlib.import_module(f"core.audit.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'core.audit' has no attribute '{name}'")
