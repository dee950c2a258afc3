"""What the Audit and Present pages do: build and check plans, run audits through the generation gate,
and turn saved audits into component values (charts, tables, the clip drill-down, reports).

Kept apart from the layouts (pages/audit.py, pages/present.py). Everything that computes lives in
`core.audit`; this module confines web inputs (uploads in the upload folder, clip and reference
folders inside the data folder, models from the registry or the models folder) and formats results.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import gradio as gr

from core.errors import ValidationError
from core.metrics.measures import PICKER_CHOICES
from core.paths import ensure_inside
from pages.common import StudioContext, fmt_seconds

MEASURE_CHOICES = PICKER_CHOICES  # (label, audit key): read from core.metrics.measures
CLIP_COLUMNS = ["Clip", "Verdict", "Detectors fired", "TCS", "Sign-off"]
VERDICT_MARK = {"pass": "✔ PASS", "fail": "✘ FAIL", "no data": "– no data", "not judged": "· not judged"}
PLAN_PATH_FIELDS = ("clips", "labels", "reference", "i3d", "clip_model", "gates")


def verdict_text(verdict: str | None) -> str:
    return VERDICT_MARK.get((verdict or "").lower(), verdict or "")


def fmt_value(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


class AuditActions:
    """Event handlers of the Audit and Present pages, bound to the studio's shared services."""

    def __init__(self, ctx: StudioContext) -> None:
        self.ctx = ctx

    # -- folders ----------------------------------------------------------------------------------
    @property
    def audits_dir(self) -> Path:
        """Audits live under <data dir>/audits, a folder the app serves (so their clips can play)."""
        return self.ctx.config.data_dir / "audits"

    def served_roots(self) -> list[Path]:
        return [self.ctx.config.output_dir, self.audits_dir]

    def audit_choices(self) -> list[tuple[str, str]]:
        """(label, folder) pairs of the saved audits, newest first."""
        from core.audit import list_audits

        return [(f"{a.name} · {verdict_text(a.verdict)} · {a.clips} clips · {a.created_utc[:16].replace('T', ' ')}",
                 a.path) for a in list_audits(self.audits_dir)]

    def audit_dir(self, value: str | None) -> Path:
        """A saved audit's folder, refused unless it lies inside the audits folder."""
        if not value or not str(value).strip():
            raise ValidationError("pick a saved audit first (run one, or choose it in 'Saved audit').")
        return ensure_inside(Path(str(value)), [self.audits_dir], "audit folder")

    def load(self, value: str | None) -> Any:
        from core.audit import load_audit

        return load_audit(self.audit_dir(value))

    # -- plans ------------------------------------------------------------------------------------
    def model_arg(self, model: str | None) -> str:
        model = (model or "").strip() or "embedded-default"
        if model in self.ctx.registry():
            return model
        return str(ensure_inside(Path(model), [self.ctx.config.models_dir], "model folder"))

    def check_plan_paths(self, plan: Any) -> Any:
        """A plan from the web may only read files inside the data folder (or bundled sample frames)."""
        data_dir = self.ctx.config.data_dir
        for name in PLAN_PATH_FIELDS:
            value = getattr(plan, name)
            if value:
                setattr(plan, name, str(ensure_inside(Path(value), [data_dir], f"plan field '{name}'")))
        if plan.first_frames != "samples":
            frames = plan.first_frames if isinstance(plan.first_frames, list) else [plan.first_frames]
            checked = [str(ensure_inside(Path(f), [data_dir], "plan field 'first_frames'")) for f in frames]
            plan.first_frames = checked if isinstance(plan.first_frames, list) else checked[0]
        if plan.mode == "generate":
            plan.model = self.model_arg(plan.model)
        return plan

    def plan_from_form(self, name: str | None, conditions: list[str] | None, categories: list[str] | None,
                       clips_per_condition: float | None, base_seed: float | None, model: str | None,
                       guidance: float | None, steps: float | None, reference: str | None) -> Any:
        from core.audit import parse_plan

        from pages.generate_actions import optional_float, optional_int

        data: dict[str, Any] = {"name": (name or "").strip() or "audit",
                                "clips_per_condition": optional_int(clips_per_condition, "clips per condition") or 1,
                                "base_seed": optional_int(base_seed, "base seed", minimum=0) or 0,
                                "model": self.model_arg(model),
                                "guidance_scale": optional_float(guidance, "guidance scale")}
        if conditions and categories:
            raise ValidationError("pick conditions or scenario categories, not both.")
        if not conditions and not categories:
            raise ValidationError("pick at least one condition or scenario category to audit.")
        if conditions:
            data["conditions"] = list(conditions)
        else:
            data["categories"] = list(categories or [])
        steps_value = optional_int(steps, "steps")
        if steps_value:
            data["num_inference_steps"] = steps_value
        if reference and reference.strip():
            data["reference"] = reference.strip()
        return self.check_plan_paths(parse_plan(data))

    def plan_from_file(self, upload: Any) -> Any:
        """An uploaded YAML/JSON plan; relative paths in it are taken relative to the data folder."""
        import yaml

        from core.audit import parse_plan

        if isinstance(upload, dict):
            upload = upload.get("path")
        if not upload:
            raise ValidationError("upload a plan file (.yaml, .yml or .json) first.")
        path = ensure_inside(Path(str(upload)), [self.ctx.config.temp_dir], "plan file")
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise ValidationError(f"plan file must be .yaml, .yml or .json, got '{path.suffix or path.name}'.")
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
            raise ValidationError("plan file is not valid YAML or JSON text.") from None
        return self.check_plan_paths(parse_plan(data, base_dir=self.ctx.config.data_dir))

    def plan_from_folder(self, folder: str | None, name: str | None, reference: str | None) -> Any:
        from core.audit import parse_plan

        if not folder or not folder.strip():
            raise ValidationError("enter a folder of clips inside the data folder.")
        data_dir = self.ctx.config.data_dir
        clips = ensure_inside(Path(folder.strip()) if Path(folder.strip()).is_absolute() else data_dir / folder.strip(),
                              [data_dir], "clips folder")
        if not clips.is_dir():
            raise ValidationError(f"clips folder '{clips}' does not exist.")
        data: dict[str, Any] = {"name": (name or "").strip() or clips.name, "clips": str(clips)}
        if reference and reference.strip():
            data["reference"] = reference.strip()
        return self.check_plan_paths(parse_plan(data, base_dir=data_dir))

    # -- running ----------------------------------------------------------------------------------
    def run(self, plan: Any, owner: str, progress: gr.Progress) -> Any:
        """Run (or resume) the plan into <audits>/<name>; one that generates takes turns with Generate at the
        generation gate, one of existing clips only measures, behind the metrics gate."""
        from core.audit import run_audit
        from core.audit.store import safe_name

        out_dir = self.audits_dir / safe_name(plan.name)

        generates = plan.mode == "generate"
        gate = self.ctx.gate if generates else self.ctx.metrics_gate
        what = "one generation or audit at a time" if generates else "measuring takes turns with quality cards"

        def on_wait(position: int, waiting: int) -> None:
            progress(0.0, desc=f"In queue: position {position} of {waiting} · {what}")

        with gate.admit(owner, f"audit {plan.name}", on_wait=on_wait) as ticket:
            progress(0.0, desc="Starting the audit · finished clips of an earlier run are reused")

            def on_progress(report: Any) -> None:
                eta = f" · ETA {fmt_seconds(report.eta_s)}" if report.eta_s is not None else ""
                step = f" · step {report.step}/{report.steps}" if report.steps else ""
                progress(report.fraction, desc=f"{report.done} of {report.total} clips · {report.condition} · "
                                               f"{report.stage}{step}{eta}")

            return run_audit(plan, out_dir, engine=self.ctx.engine, on_progress=on_progress, cancel=ticket.cancel)

    # -- results ----------------------------------------------------------------------------------
    @staticmethod
    def summary_html(audit: Any) -> str:
        """The verdict banner: overall verdict, worst condition, failed gates and rarity notes."""
        ranking = audit.cross.ranking
        worst = ranking[-1].group if ranking else None
        failing = "".join(f"<li>{html.escape(line)}</li>" for line in audit.failing[:8])
        notes = "".join(f"<li>{html.escape(line)}</li>" for line in audit.cross.notes[:4])
        verdict = audit.verdict or "no data"
        return (f"<div class='ss-audit-summary ss-v-{html.escape(verdict.lower().replace(' ', '-'))}'>"
                f"<div class='ss-audit-verdict'>{html.escape(verdict_text(verdict))}</div>"
                f"<div><b>{html.escape(audit.name)}</b> · {len(audit.clips)} clips · {len(audit.conditions)} "
                f"{'categories' if audit.group_by == 'categories' else 'conditions'} · {html.escape(audit.mode)}"
                + (f" · worst ranked: <b>{html.escape(worst)}</b>" if worst else "") + "</div>"
                + (f"<ul class='ss-audit-failing'>{failing}</ul>" if failing else "")
                + (f"<ul class='ss-audit-notes'>{notes}</ul>" if notes else "") + "</div>")

    @staticmethod
    def condition_choices(audit: Any) -> list[tuple[str, str]]:
        return [(f"{c.label} · {verdict_text(c.verdict)} · {c.n_clips} clips", c.group) for c in audit.conditions]

    @staticmethod
    def overview_charts(audit: Any, measure: str) -> list[Any]:
        """Bars with intervals, gate heatmap, distributions, coverage: each a core.audit.charts.Chart."""
        from core.audit import charts

        return [charts.measure_bars(audit, measure), charts.gate_heatmap(audit), charts.distributions(audit, measure),
                charts.coverage_matrix(audit)]

    @staticmethod
    def clip_rows(audit: Any, group: str) -> list[list[Any]]:
        from core.audit import condition_clips

        rows = []
        for row in condition_clips(audit, group):
            verdict = "error" if row.error else ("pass" if row.passed else "fail")
            rows.append([row.clip_id, verdict, ", ".join(row.fired) or "–", fmt_value(row.tcs),
                         row.decision or "–"])
        return rows

    def clip_view(self, audit: Any, clip_id: str) -> tuple[str | None, Any, str, str]:
        """The clip's video (when it lies in a served folder), its per-frame chart and reading, and a detail line."""
        from core.audit import charts, clip_detail
        from core.audit.media import clip_media

        detail = clip_detail(audit, clip_id)
        record = detail.record
        chart = charts.clip_frames_chart(audit, clip_id)
        video = self.servable(clip_media(audit, record))
        seed = f"seed {record.seed} · " if record.seed is not None else ""
        signoff = detail.signoff
        status = (f"latest sign-off: **{signoff.decision}** by {html.escape(signoff.reviewer)}"
                  + (f" ({html.escape(signoff.comment)})" if signoff.comment else "") if signoff else "not signed off yet")
        line = (f"**{html.escape(clip_id)}** · {html.escape(record.condition)} · {seed}{record.num_frames} frames "
                f"{record.width}×{record.height} · {'passes' if record.passed else 'fails'} its card · {status}")
        if video is None:
            line += " · the MP4 is outside the folders this app serves, so it cannot play here."
        return video, chart.figure, chart.reading, line

    def servable(self, path: str | Path | None) -> str | None:
        """The path when the browser may fetch it (inside the clips or audits folder), else None."""
        if not path or not Path(path).is_file():
            return None
        try:
            return str(ensure_inside(Path(path), self.served_roots() + [self.ctx.config.temp_dir], "clip"))
        except ValidationError:
            return None

    def reviewer(self, typed: str | None, username: str | None) -> tuple[str, str]:
        """(name, identity) of who signs off: the signed-in user when sign-in is on (the typed name is then
        ignored, so nobody signs as someone else), else the typed name, recorded as typed."""
        from core.audit.records import SIGNED_IN, TYPED

        if self.ctx.config.auth_enabled:
            if not username:
                raise ValidationError("sign-off needs the signed-in user; sign in to the studio again.")
            return username, SIGNED_IN
        return typed or "", TYPED

    def signoff(self, audit_value: str | None, clip_id: str | None, decision: str | None, reviewer: str | None,
                comment: str | None, username: str | None = None) -> Any:
        """Record a sign-off; `username` is the request's signed-in user (gr.Request.username)."""
        from core.audit import add_signoff

        if not clip_id:
            raise ValidationError("select a clip in the table before signing it off.")
        name, identity = self.reviewer(reviewer, username)
        return add_signoff(self.audit_dir(audit_value), clip_id, (decision or "").lower(), name, comment or "",
                           identity=identity)

    def export(self, audit_value: str | None, compare_value: str | None = None) -> list[str]:
        from core.audit import compare_audits, export_reports

        audit = self.load(audit_value)
        comparison = compare_audits(self.load(compare_value), audit) if compare_value else None
        files = export_reports(audit, comparison=comparison)
        return [str(files.html), str(files.clips_csv), str(files.conditions_csv), str(files.json)]

    def comparison(self, a_value: str | None, b_value: str | None, measure: str) -> tuple[Any, str, list[list[Any]]]:
        from core.audit import charts, compare_audits

        if not a_value or not b_value:
            raise ValidationError("pick two saved audits to compare (A is the baseline, B the candidate).")
        comparison = compare_audits(self.load(a_value), self.load(b_value))
        chart = charts.comparison_chart(comparison, measure)
        rows = [[c.group, c.measure, fmt_value(c.difference.value),
                 f"[{fmt_value(c.difference.low)}, {fmt_value(c.difference.high)}]",
                 c.better if c.excludes_zero else "no clear difference"]
                for c in comparison.cells if c.measure == measure]
        return chart.figure, chart.reading, rows
