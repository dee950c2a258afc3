"""The Audit page, for safety reviewers: set up and run an audit, read its charts, drill down to the
failing frames, sign clips off and export the report.

Layout: the saved-audit picker with Export on top, then tabs: *Run* (build a plan, load a plan file or
point at existing clips; progress, cancel, resume), *Results* (verdict, four charts with their
readings, condition → clips worst first → clip player with per-frame plot and sign-off) and
*Compare* (two saved audits). Handlers live in pages/audit_actions.py.
"""

from __future__ import annotations

import html

import gradio as gr

from core.errors import ValidationError
from pages.audit_actions import CLIP_COLUMNS, MEASURE_CHOICES, AuditActions
from pages.common import StudioContext, navbar, page_header, raise_for_ui, ui_errors
from pages.generate import default_model_id

SOURCES = ["Build a plan", "Plan file", "Existing clips"]


def build(ctx: StudioContext, demo: gr.Blocks) -> None:
    actions = AuditActions(ctx)
    catalogue = ctx.catalogue
    navbar()
    page_header("Audit", "is quality worst on the rare conditions? run · read · drill down · sign off · export")

    with gr.Row(elem_classes="ss-audit-top", equal_height=True):
        # Custom values are allowed because audits made after start-up are not in the build-time
        # choices; the handler confines every value to the audits folder instead.
        picker = gr.Dropdown(actions.audit_choices(), label="Saved audit", allow_custom_value=True, scale=6,
                             elem_id="audit-picker")
        refresh_btn = gr.Button("Refresh list", size="sm", scale=0, min_width=120)
        export_btn = gr.Button("Export report", variant="primary", size="sm", scale=0, min_width=150,
                               elem_id="audit-export-btn")
    export_files = gr.File(label="Report files (HTML opens offline, CSV, JSON)", file_count="multiple",
                           interactive=False, visible=False, elem_id="audit-export-files")

    with gr.Tabs(elem_classes="ss-audit-tabs") as tabs:
        with gr.Tab("Run", id="run"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=7, elem_classes="ss-card"):
                    source = gr.Radio(SOURCES, value=SOURCES[0], label="What to audit", elem_id="audit-source")
                    name = gr.Textbox("audit", label="Audit name (its folder; rerun the same name to resume)",
                                      max_lines=1, elem_id="audit-name")
                    with gr.Group(visible=True) as build_group:
                        with gr.Row():
                            conditions = gr.Dropdown([(c.label, c.id) for c in catalogue.conditions.values()],
                                                     multiselect=True, label="Conditions", elem_id="audit-conditions")
                            categories = gr.Dropdown([(c.label, c.id) for c in catalogue.categories.values()],
                                                     multiselect=True, label="…or scenario categories",
                                                     elem_id="audit-categories")
                        with gr.Row():
                            per_condition = gr.Number(4, label="Clips per condition", precision=0, minimum=1,
                                                      elem_id="audit-per-condition")
                            base_seed = gr.Number(1234, label="Base seed", precision=0, minimum=0)
                            model = gr.Dropdown(ctx.model_choices(), value=default_model_id(ctx), label="Model",
                                                allow_custom_value=True)
                        with gr.Row():
                            guidance = gr.Slider(1, 12, step=0.5, value=4.0, label="Guidance scale")
                            steps = gr.Number(None, label="Steps (empty: model default)", precision=0, minimum=1)
                    with gr.Group(visible=False) as file_group:
                        plan_file = gr.File(label="Plan file (.yaml, .yml or .json; see docs/AUDIT.md)",
                                            file_types=[".yaml", ".yml", ".json"], elem_id="audit-plan-file")
                    with gr.Group(visible=False) as clips_group:
                        clips_folder = gr.Textbox(label="Folder of clips inside the data folder",
                                                  placeholder=str(ctx.config.data_dir / "clips"), max_lines=1,
                                                  elem_id="audit-clips-folder")
                    reference = gr.Textbox(label="Reference clips (optional: a folder per condition id, inside the "
                                                 "data folder)", max_lines=1, elem_id="audit-reference")
                    with gr.Row(elem_classes="ss-actions"):
                        run_btn = gr.Button("Run audit", variant="primary", scale=3, elem_id="audit-run-btn")
                        cancel_btn = gr.Button("Cancel", variant="stop", scale=1, elem_id="audit-cancel-btn")
                with gr.Column(scale=5):
                    run_status = gr.Markdown("Pick what to audit and press **Run audit**. Progress shows clips done "
                                             "of total, the condition and an ETA. Cancel keeps finished clips; "
                                             "running the same name again resumes.",
                                             elem_id="audit-run-status", elem_classes="ss-audit-status")
        with gr.Tab("Results", id="results"):
            summary = gr.HTML("<div class='ss-note'>Pick a saved audit above.</div>", elem_id="audit-summary")
            with gr.Row():
                measure = gr.Dropdown(MEASURE_CHOICES, value="tcs", label="Measure (bars and distributions)",
                                      elem_id="audit-measure", scale=1, min_width=260)
                gr.HTML("", scale=3)
            plots, readings = [], []
            with gr.Row(equal_height=False):
                for index in range(4):
                    if index == 2:
                        gr.HTML("", elem_classes="ss-row-break")
                    with gr.Column(min_width=420):
                        plots.append(gr.Plot(elem_classes="ss-audit-plot", elem_id=f"audit-plot-{index}"))
                        readings.append(gr.Markdown(elem_classes="ss-reading", elem_id=f"audit-reading-{index}"))
            gr.Markdown("### Drill down: a condition's clips, worst first", elem_classes="ss-section")
            with gr.Row(equal_height=False):
                with gr.Column(scale=5, min_width=380):
                    condition = gr.Dropdown([], label="Condition", allow_custom_value=True,
                                            elem_id="audit-condition")
                    clip_table = gr.Dataframe(headers=CLIP_COLUMNS, interactive=False, wrap=True, max_height=420,
                                              label="Clips (click a row to play it)", elem_id="audit-clips",
                                              elem_classes="ss-table",
                                              column_widths=["46%", "10%", "18%", "10%", "16%"])
                    selected_clip = gr.Textbox(label="Selected clip", interactive=False, elem_id="audit-clip-id")
                    with gr.Group(elem_classes="ss-card"):
                        # With sign-in on, the reviewer is the signed-in user (filled on page load), not free text.
                        signed_in = ctx.config.auth_enabled
                        reviewer = gr.Textbox(label="Reviewer (the signed-in user)" if signed_in else "Reviewer",
                                              max_lines=1, interactive=not signed_in, elem_id="audit-reviewer")
                        decision = gr.Radio(["accept", "reject"], value="accept", label="Decision",
                                            elem_id="audit-decision")
                        comment = gr.Textbox(label="Comment", lines=2, elem_id="audit-comment")
                        signoff_btn = gr.Button("Sign off clip", variant="primary", elem_id="audit-signoff-btn")
                with gr.Column(scale=7, min_width=420):
                    clip_line = gr.Markdown(elem_id="audit-clip-line")
                    clip_video = gr.Video(label="Clip", autoplay=True, loop=True, interactive=False, height=320,
                                          elem_id="audit-clip-video", buttons=["download"])
                    frames_plot = gr.Plot(elem_id="audit-frames-plot")
                    frames_reading = gr.Markdown(elem_classes="ss-reading")
        with gr.Tab("Compare", id="compare"):
            with gr.Row():
                compare_a = gr.Dropdown(actions.audit_choices(), label="A (baseline)", allow_custom_value=True,
                                        elem_id="audit-compare-a")
                compare_b = gr.Dropdown(actions.audit_choices(), label="B (candidate)", allow_custom_value=True,
                                        elem_id="audit-compare-b")
                compare_measure = gr.Dropdown(MEASURE_CHOICES, value="tcs", label="Measure")
                compare_btn = gr.Button("Compare", variant="primary", scale=0, min_width=120)
            compare_plot = gr.Plot(elem_id="audit-compare-plot")
            compare_reading = gr.Markdown(elem_classes="ss-reading")
            compare_table = gr.Dataframe(headers=["Condition", "Measure", "B − A", "Interval", "Better"],
                                         interactive=False, elem_classes="ss-table")

    ui = dict(concurrency_limit=None, api_visibility="private")

    # -- run ----------------------------------------------------------------------------------------
    def show_source(choice: str):
        return [gr.update(visible=choice == s) for s in SOURCES]

    source.change(show_source, [source], [build_group, file_group, clips_group], queue=False,
                  api_visibility="private")

    def run_audit(source: str, name: str | None, conditions: list[str] | None, categories: list[str] | None,
                  per_condition: float | None, base_seed: float | None, model: str | None, guidance: float | None,
                  steps: float | None, plan_file: str | None, clips_folder: str | None, reference: str | None,
                  request: gr.Request, progress=gr.Progress()):
        """Run (or resume) an audit; one that generates waits behind any running generation.

        Parameters:
            source: "Build a plan", "Plan file" or "Existing clips".
            name: audit name (its folder under <data dir>/audits; the same name resumes).
            conditions: condition ids (build a plan).
            categories: scenario category ids instead of conditions (build a plan).
            per_condition: clips per condition (build a plan).
            base_seed: base seed every clip seed derives from (build a plan).
            model: registry id or a folder inside the models folder (build a plan).
            guidance: guidance scale (build a plan).
            steps: denoising steps; empty for the model's default (build a plan).
            plan_file: a YAML or JSON plan (plan file).
            clips_folder: a folder of clips inside the data folder (existing clips).
            reference: optional folder of reference clips per condition id, inside the data folder.
        Returns:
            The audit's folder (the picker's value) and a status line.
        """
        try:
            if source == "Plan file":
                plan = actions.plan_from_file(plan_file)
            elif source == "Existing clips":
                plan = actions.plan_from_folder(clips_folder, name, reference)
            elif source == "Build a plan":
                plan = actions.plan_from_form(name, conditions, categories, per_condition, base_seed, model,
                                              guidance, steps, reference)
            else:
                raise ValidationError(f"source must be one of {', '.join(SOURCES)}, got {source!r}.")
            audit = actions.run(plan, request.session_hash or "api", progress)
            seconds = sum(audit.provenance.timings.values()) if audit.provenance.timings else 0.0
            return (gr.update(value=audit.audit_dir, choices=actions.audit_choices()),
                    f"**{html.escape(audit.name)}** finished: {len(audit.clips)} clips, verdict "
                    f"**{audit.verdict}** ({seconds:.1f} s). Open the **Results** tab.")
        except Exception as exc:  # noqa: BLE001 - the UI boundary: details are logged, not shown
            raise_for_ui(exc, "The audit")

    run_event = run_btn.click(
        run_audit, [source, name, conditions, categories, per_condition, base_seed, model, guidance, steps,
                    plan_file, clips_folder, reference], [picker, run_status], api_name="run_audit",
        concurrency_id="audit", concurrency_limit=ctx.config.max_waiting + 2, show_progress_on=[run_status])
    # Its own group: an audit of existing clips only measures (the metrics gate), one that generates
    # takes the generation gate (AuditActions.run); either way the gates, not Gradio, order and refuse.

    def cancel(request: gr.Request) -> None:
        """Cancel this session's running audit: finished clips are kept, and rerunning resumes."""
        owner = request.session_hash or "api"
        ctx.gate.cancel(owner)
        ctx.metrics_gate.cancel(owner)  # an audit of existing clips waits or runs there

    cancel_btn.click(cancel, None, None, api_name="cancel_audit", queue=False)

    # -- results ------------------------------------------------------------------------------------
    @ui_errors("Loading the audit")
    def audit_results(audit_value: str, measure: str):
        """The verdict, the four overview charts with their readings, and the conditions (worst ranked last).

        Parameters:
            audit_value: a saved audit's folder (from the picker).
            measure: measure key for the bars and distributions, e.g. "tcs".
        """
        audit = actions.load(audit_value)
        charts = actions.overview_charts(audit, measure or "tcs")
        choices = actions.condition_choices(audit)
        worst = audit.cross.ranking[-1].group if audit.cross.ranking else (choices[0][1] if choices else None)
        return (actions.summary_html(audit), *[c.figure for c in charts], *[c.reading for c in charts],
                gr.update(choices=choices, value=worst))

    results_outputs = [summary, *plots, *readings, condition]
    picker.change(audit_results, [picker, measure], results_outputs, api_name="audit_results",
                  concurrency_limit=None)
    measure.change(audit_results, [picker, measure], results_outputs, **ui)
    run_event.success(lambda: gr.Tabs(selected="results"), None, [tabs], queue=False, api_visibility="private")

    @ui_errors("Listing the clips")
    def clips_of(audit_value: str, group: str):
        """A condition's clips, worst first: clip id, verdict, detectors fired, TCS, latest sign-off."""
        if not group:
            return []
        return actions.clip_rows(actions.load(audit_value), group)

    condition.change(clips_of, [picker, condition], [clip_table], api_name="condition_clips", concurrency_limit=None)

    @ui_errors("Showing the clip")
    def clip_view(audit_value: str, clip_id: str):
        """One clip: its MP4, the per-frame chart with flagged ranges shaded, the chart's reading, a detail line."""
        if not clip_id:
            return None, None, "", ""
        return actions.clip_view(actions.load(audit_value), clip_id)

    def pick_row(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else ""

    clip_table.select(pick_row, None, [selected_clip], queue=False, api_visibility="private")
    selected_clip.change(clip_view, [picker, selected_clip], [clip_video, frames_plot, frames_reading, clip_line],
                         api_name="clip_view", concurrency_limit=None)

    @ui_errors("The sign-off")
    def signoff(audit_value: str, clip_id: str, decision: str, reviewer: str, comment: str, group: str,
                request: gr.Request):
        """Accept or reject one clip with the reviewer's name and a comment; saved with the audit.
        With sign-in on, the reviewer is the signed-in user and `reviewer` is ignored.

        Returns the refreshed clip table and the clip's detail line.
        """
        saved = actions.signoff(audit_value, clip_id, decision, reviewer, comment, request.username)
        audit = actions.load(audit_value)
        rows = actions.clip_rows(audit, group) if group else []
        gr.Info(f"{saved.decision.capitalize()}ed {html.escape(saved.clip_id)} as {html.escape(saved.reviewer)}.")
        return rows, actions.clip_view(audit, clip_id)[3]

    signoff_btn.click(signoff, [picker, selected_clip, decision, reviewer, comment, condition],
                      [clip_table, clip_line], api_name="signoff", concurrency_id="signoff", concurrency_limit=1)

    # -- export, compare, refresh -------------------------------------------------------------------
    @ui_errors("Exporting the report")
    def export(audit_value: str, baseline: str | None = None):
        """Write report.html (self-contained), clips.csv, conditions.csv and audit-report.json into the
        audit folder. baseline: optional second audit to compare against (A)."""
        return gr.update(value=actions.export(audit_value, baseline or None), visible=True)

    export_btn.click(export, [picker], [export_files], api_name="export", concurrency_id="export",
                     concurrency_limit=1)

    @ui_errors("Comparing audits")
    def compare(a_value: str, b_value: str, measure: str):
        """B − A per condition on one measure, with intervals; "better" only where the interval excludes 0."""
        return actions.comparison(a_value, b_value, measure or "tcs")

    compare_btn.click(compare, [compare_a, compare_b, compare_measure], [compare_plot, compare_reading,
                                                                         compare_table],
                      api_name="compare", concurrency_limit=None)

    def refresh():
        choices = actions.audit_choices()
        return (gr.update(choices=choices), gr.update(choices=choices), gr.update(choices=choices),
                gr.update(choices=ctx.model_choices()))

    refresh_btn.click(refresh, None, [picker, compare_a, compare_b, model], queue=False, api_visibility="private")

    def on_open(request: gr.Request):
        """Fresh lists, the newest audit picked (the build-time default may be older), opened on its Results."""
        choices = actions.audit_choices()
        chosen = choices[0][1] if choices else None
        return (gr.update(choices=choices, value=chosen), *refresh()[1:],
                gr.update(value=request.username) if ctx.config.auth_enabled else gr.update(),
                gr.Tabs(selected="results") if chosen else gr.Tabs())

    def first_results(value: str | None, measure: str):
        """The shown audit's results: the picker's change event does not fire for the value it opened with."""
        if not value:
            return ("<div class='ss-note'>No saved audit yet: run one on the Run tab.</div>", *[None] * 4,
                    *[""] * 4, gr.update(choices=[], value=None))
        return audit_results(value, measure)

    demo.load(on_open, None, [picker, compare_a, compare_b, model, reviewer, tabs], queue=False,
              api_visibility="private").then(first_results, [picker, measure], results_outputs, **ui)
