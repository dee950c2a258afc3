"""The Generate page's session features: recent generations, restoring and sharing settings, status bar.

Restoring (from the history list or an imported settings file) writes the control values directly;
the page listens to `.input` (user edits) rather than `.change` for model and scenario pickers, so a
restore is not overwritten by the model's defaults.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from core.atomic import write_json_atomic
from core.generation_queue import GateSnapshot
from core.image_input import load_first_frame
from core.paths import ensure_inside
from core.request import GenerationRequest
from core.studio_settings import HistoryEntry, export_settings, parse_settings
from pages.common import StudioContext, fmt_seconds
from pages.generate_actions import Controls, GenerateActions


@dataclass(frozen=True)
class HistoryItem:
    """A recent generation and its thumbnail (kept in the session's gr.State)."""

    entry: HistoryEntry
    thumbnail: np.ndarray


def history_gallery(items: list[HistoryItem]) -> list[tuple[np.ndarray, str]]:
    return [(item.thumbnail, item.entry.caption()) for item in items]


def template_note(prompt: str | None, template: str) -> str:
    if not template:
        return "<span class='ss-muted'>Free-text prompt (no scenario selected).</span>"
    if (prompt or "").strip() == template:
        return "<span class='ss-muted'>Follows the template.</span>"
    return "<span class='ss-edited'>Edited — overrides the template. Reset to go back.</span>"


class SessionActions:
    """History, restore, export/import and the status bar, bound to the shared services."""

    def __init__(self, ctx: StudioContext, actions: GenerateActions) -> None:
        self.ctx = ctx
        self.actions = actions

    def control_values(self, request: GenerationRequest, seed: int | None, image_path: str | None = None) -> list:
        """Values for [first_frame, scenario, event, conditions, road, prompt, negative, guidance, steps,
        frames, fps, seed, model, prompt_note, model_note]; fields left None show the model's default."""
        catalogue = self.ctx.catalogue
        scenario = request.scenario or ""
        slots = catalogue.slots_for(scenario) if scenario in catalogue.categories else request.slots
        template = catalogue.render(slots) if slots else ""
        prompt = request.prompt or template
        entry = self.ctx.registry().get(request.model)
        defaults = entry.defaults if entry else None

        def pick(value: Any, default_name: str) -> Any:
            if value is not None:
                return value
            return getattr(defaults, default_name) if defaults else gr.update()

        image = image_path if image_path and Path(image_path).is_file() else gr.update()
        return [image, scenario,
                slots.event if slots else None, slots.conditions if slots else None, slots.road if slots else None,
                prompt, request.negative_prompt or "",
                pick(request.guidance_scale, "guidance_scale"),
                pick(request.num_inference_steps, "num_inference_steps"), pick(request.num_frames, "num_frames"),
                pick(request.fps, "fps"), "" if seed is None else str(seed), request.model,
                template_note(prompt, template), self.actions.model_info(request.model)]

    def restore(self, items: list[HistoryItem], evt: gr.SelectData) -> list:
        item = items[evt.index]
        request = GenerationRequest.from_json(item.entry.request)
        gr.Info(f"Restored the settings of “{html.escape(item.entry.label)}”, seed {item.entry.seed}.")
        return self.control_values(request, item.entry.seed, item.entry.image_path)

    def import_settings(self, file: Any) -> list:
        path = ensure_inside(Path(file if isinstance(file, str) else file.get("path")),
                             [self.ctx.config.temp_dir], "settings file")
        request, image_hash = parse_settings(path.read_bytes(), name=f"'{path.name}'")
        if image_hash:
            gr.Info(f"Settings imported. To reproduce the clip exactly, use the first frame whose SHA-256 "
                    f"starts {image_hash[:12]}.")
        else:
            gr.Info("Settings imported.")
        return self.control_values(request, request.seed)[1:]

    def export_settings(self, *values: Any) -> Any:
        """Write the current controls (and the first frame's hash, never its path) to a JSON file."""
        c = Controls(*values)
        image_hash = load_first_frame(self.actions.upload_path(c.first_frame)).sha256 if c.first_frame else None
        request = self.actions.build_request(c, require_image=False)
        target = self.ctx.config.temp_dir / "exports" / secrets.token_hex(8) / "scenario-settings.json"
        write_json_atomic(target, export_settings(request, image_hash))
        return gr.update(value=str(target), visible=True)

    def status_bar(self, model: str | None, items: list[HistoryItem], request: gr.Request) -> str:
        snap: GateSnapshot = self.ctx.gate.snapshot()
        owner = request.session_hash if request else None
        mine = snap.running_owner is not None and snap.running_owner == owner
        if snap.running_owner is None:
            state, dot = "Ready", "idle"
        else:
            report = snap.running_progress
            where = (f"step {report.step} of {report.total} · {fmt_seconds(report.elapsed_s)}" if report
                     else f"preparing · {fmt_seconds(snap.running_for_s)}")
            state = f"{'Generating your clip' if mine else 'Busy with another session'}: {where}"
            dot = "busy"
        position = snap.position_of(owner) if owner else None
        queue = f"Queue: {snap.waiting} waiting (max {snap.max_waiting})"
        if position:
            queue += f" · you are #{position}"
        entry = self.ctx.registry().get((model or "").strip())
        model_label = entry.label if entry else (Path(model).name if model else "no model")
        session = f"Session: {len(items)} clip{'s' if len(items) != 1 else ''}"
        if items:
            session += f" · last {fmt_seconds(items[0].entry.total_s)}"
        parts = [f"<span class='ss-dot ss-dot-{dot}'></span><span class='ss-state'>{html.escape(state)}</span>",
                 f"<span>Model: {html.escape(model_label)} · {html.escape(self.ctx.device.label)}</span>",
                 f"<span>{html.escape(queue)}</span>", f"<span>{html.escape(session)}</span>"]
        return "<div class='ss-status'>" + "<span class='ss-sep'>|</span>".join(parts) + "</div>"
