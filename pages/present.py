"""The Present page, for regulator demos: a full-screen, read-only view of a saved audit.

Nothing here edits or runs anything. The only controls are navigation: the saved-audit picker and
previous/next condition (also the left/right arrow keys). Per condition it shows the reference clip
beside the generated clips in synchronised playback, the verdict table and the coverage matrix in
large type, and a "reproduce" panel with the exact settings and seed of every clip on screen. A banner
marks the clips as synthetic.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import gradio as gr

from pages.audit_actions import AuditActions, fmt_value, verdict_text
from pages.common import StudioContext, navbar, ui_errors

MAX_GENERATED = 5  # generated clips per condition on screen (worst first), beside one reference clip
BANNER = ("SYNTHETIC CLIPS · every generated clip on this page was made by a video model for a quality audit; "
          "it is not real-world footage.")
GATE_NAMES = {"tcs": "TCS", "clip_score": "CLIP score", "fvd": "FVD", "rejection_rate": "Rejection rate"}

# Loaded once per page: media events do not bubble, so capture-phase listeners on the document see the
# play/pause/seek of every <video> in the grid and mirror it on the others; arrow keys click prev/next.
PRESENT_SCRIPT = """
if (!window.__ssPresent) {
  window.__ssPresent = true;
  let syncing = false;
  const others = (video) => Array.from(document.querySelectorAll('#present-grid video')).filter(v => v !== video);
  const mirror = (handler) => (event) => {
    const video = event.target;
    if (syncing || !(video instanceof HTMLVideoElement) || !video.closest('#present-grid')) return;
    syncing = true;
    try { others(video).forEach(v => handler(video, v)); } finally { setTimeout(() => { syncing = false; }, 50); }
  };
  document.addEventListener('play', mirror((src, v) => { v.currentTime = src.currentTime; v.play().catch(() => {}); }), true);
  document.addEventListener('pause', mirror((src, v) => { v.pause(); }), true);
  document.addEventListener('seeked', mirror((src, v) => { v.currentTime = src.currentTime; }), true);
  document.addEventListener('keydown', (event) => {
    const tag = (event.target && event.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'TEXTAREA') return;
    const id = event.key === 'ArrowRight' ? 'present-next' : event.key === 'ArrowLeft' ? 'present-prev' : null;
    const button = id && document.getElementById(id);
    if (button) { event.preventDefault(); button.click(); }
  });
}
"""


def file_url(path: str) -> str:
    """The app's file route; the file must lie in a folder the app serves (checked by the caller)."""
    return "/gradio_api/file=" + quote(path)


def video_cell(title: str, subtitle: str, path: str | None, kind: str) -> str:
    if path:
        media = (f"<video src='{html.escape(file_url(path))}' muted loop playsinline controls preload='auto'>"
                 "</video>")
    else:
        media = "<div class='ss-present-missing'>not available here</div>"
    return (f"<figure class='ss-present-cell ss-present-{kind}'>{media}<figcaption><b>{html.escape(title)}</b>"
            f"<span>{html.escape(subtitle)}</span></figcaption></figure>")


class PresentView:
    """Builds the page's read-only HTML for one condition of one audit."""

    def __init__(self, actions: AuditActions) -> None:
        self.actions = actions

    def show(self, audit_value: str | None, index: int) -> tuple[Any, ...]:
        from core.audit import charts, condition_clips
        from core.audit.media import clip_media, reference_media

        audit = self.actions.load(audit_value)
        if not audit.conditions:
            return ("<div class='ss-present-title'>This audit has no conditions.</div>", "", "", None, "", 0)
        index = int(index or 0) % len(audit.conditions)
        summary = audit.conditions[index]
        rows = condition_clips(audit, summary.group)[:MAX_GENERATED]
        # Every tile plays the file the audit brought into its own folder (core.audit.media).
        reference_name, reference = reference_media(audit, summary.group)
        cells = [video_cell("Reference", reference_name or "no reference clip", self.actions.servable(reference),
                            "reference")]
        for row in rows:
            verdict = "error" if row.error else ("passes" if row.passed else "fails") + " its card"
            cells.append(video_cell(row.clip_id, f"{verdict} · TCS {fmt_value(row.tcs)}"
                                    + (f" · signed off: {row.decision}" if row.decision else ""),
                                    self.actions.servable(clip_media(audit, audit.clip(row.clip_id))), "generated"))
        title = (f"<div class='ss-present-title'><span class='ss-present-count'>{index + 1} / "
                 f"{len(audit.conditions)}</span> {html.escape(summary.label)} "
                 f"<span class='ss-present-verdict ss-v-{html.escape(summary.verdict.replace(' ', '-'))}'>"
                 f"{html.escape(verdict_text(summary.verdict))}</span></div>")
        grid = f"<div class='ss-present-grid'>{''.join(cells)}</div>"
        coverage = charts.coverage_matrix(audit).figure
        # Read-only: no zoom or pan (the modebar is hidden in studio.css).
        coverage.update_layout(font=dict(size=18), height=max(360, coverage.layout.height or 0), dragmode=False,
                               title=None, margin=dict(l=170, r=20, t=20, b=60))
        coverage.update_xaxes(fixedrange=True)
        coverage.update_yaxes(fixedrange=True)
        return (title, grid, self.verdict_table(audit, index), coverage,
                self.reproduce(audit, [r.clip_id for r in rows]), index)

    @staticmethod
    def verdict_table(audit: Any, current: int) -> str:
        gates = [g.gate for g in audit.conditions[0].gates] if audit.conditions else []
        head = "".join(f"<th>{html.escape(GATE_NAMES.get(g, g))}</th>" for g in gates)
        body = []
        for i, c in enumerate(audit.conditions):
            cells = "".join(
                f"<td class='ss-v-{html.escape(g.status.replace(' ', '-'))}'>{html.escape(verdict_text(g.status))}"
                f"{'?' if g.uncertain else ''}<small>{fmt_value(g.value)}</small></td>" for g in c.gates)
            body.append(f"<tr class='{'ss-present-current' if i == current else ''}'><th>{html.escape(c.label)}</th>"
                        f"<td>{c.n_clips}</td>{cells}<td class='ss-v-{html.escape(c.verdict.replace(' ', '-'))}'>"
                        f"<b>{html.escape(verdict_text(c.verdict))}</b></td></tr>")
        return (f"<div class='ss-present-verdict-wrap'><div class='ss-present-overall'>Audit <b>"
                f"{html.escape(audit.name)}</b>: {html.escape(verdict_text(audit.verdict))}</div>"
                f"<table class='ss-present-table'><thead><tr><th>Condition</th><th>Clips</th>{head}<th>Verdict</th>"
                f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>")

    @staticmethod
    def reproduce(audit: Any, clip_ids: list[str]) -> str:
        from core.audit import clip_request

        rows = []
        for clip_id in clip_ids:
            record = audit.clip(clip_id)
            if record is None:
                continue
            request = clip_request(record) or {}
            slots = request.get("slots") or {}
            settings = [
                ("model", request.get("model") or record.model_id),
                ("scenario", request.get("scenario") or " · ".join(str(v) for v in slots.values() if v) or
                 record.condition),
                ("guidance", request.get("guidance_scale")), ("steps", request.get("num_inference_steps")),
                ("frames", request.get("num_frames") or record.num_frames),
                ("size", f"{record.width}×{record.height}"), ("fps", request.get("fps") or record.fps),
                ("adapters", ", ".join(f"{a.get('name')}:{a.get('scale')}" for a in record.adapters) or None),
            ]
            text = " · ".join(f"{k} {html.escape(str(v))}" for k, v in settings if v not in (None, ""))
            source = "engine manifest" if request else "existing clip (no generation request recorded)"
            rows.append(f"<tr><td><code>{html.escape(clip_id)}</code></td><td class='ss-present-seed'>"
                        f"{html.escape(str(request.get('seed', record.seed)) if (request or record.seed is not None) else '–')}"
                        f"</td><td>{text}<br><small>{html.escape(source)}"
                        + (f" · prompt: {html.escape(str(request.get('prompt') or record.prompt))}"
                           if (request.get('prompt') or record.prompt) else "") + "</small></td></tr>")
        return ("<div class='ss-present-repro'><h3>Reproduce: exact settings and seed of every clip on screen</h3>"
                "<table><thead><tr><th>Clip</th><th>Seed</th><th>Settings</th></tr></thead><tbody>"
                + "".join(rows) + "</tbody></table></div>")


def build(ctx: StudioContext, demo: gr.Blocks) -> None:
    actions = AuditActions(ctx)
    view = PresentView(actions)
    navbar()
    gr.HTML(f"<div class='ss-present-banner' role='note'>{html.escape(BANNER)}</div>", elem_id="present-banner",
            js_on_load=PRESENT_SCRIPT)
    index = gr.State(0)
    choices = actions.audit_choices()
    with gr.Row(elem_classes="ss-present-nav", equal_height=True):
        # The one input: which saved audit to show (custom values are confined to the audits folder).
        picker = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Saved audit",
                             allow_custom_value=True, scale=4, elem_id="present-picker")
        prev_btn = gr.Button("◀ Previous condition", scale=1, min_width=180, elem_id="present-prev")
        next_btn = gr.Button("Next condition ▶", scale=1, min_width=180, elem_id="present-next")
    title = gr.HTML(elem_id="present-title")
    grid = gr.HTML(elem_id="present-grid", js_on_load=None)
    with gr.Row(equal_height=False, elem_classes="ss-present-lower"):
        with gr.Column(scale=6):
            verdicts = gr.HTML(elem_id="present-verdicts", js_on_load=None)
        with gr.Column(scale=5):
            coverage = gr.Plot(label="Coverage: events × conditions", elem_id="present-coverage")
    reproduce = gr.HTML(elem_id="present-reproduce", js_on_load=None)

    outputs = [title, grid, verdicts, coverage, reproduce, index]
    show = ui_errors("Showing the audit")(view.show)
    ui = dict(concurrency_limit=None, api_visibility="private", show_progress="hidden")
    picker.input(lambda value: show(value, 0), [picker], outputs, **ui)
    prev_btn.click(lambda value, i: show(value, int(i) - 1), [picker, index], outputs, **ui)
    next_btn.click(lambda value, i: show(value, int(i) + 1), [picker, index], outputs, **ui)

    def on_load():
        """Fresh choices and the newest audit: the build-time default may be older than audits run since."""
        fresh = actions.audit_choices()
        return gr.update(choices=fresh, value=fresh[0][1] if fresh else None)

    def first_view(value: str | None):
        if not value:
            return ("<div class='ss-present-title'>No saved audit yet: run one on the Audit page.</div>", "", "",
                    None, "", 0)
        return show(value, 0)

    demo.load(on_load, None, [picker], queue=False, api_visibility="private").then(
        first_view, [picker], outputs, **ui)
