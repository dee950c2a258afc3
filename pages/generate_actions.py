"""What the Generate page's buttons do: build a request from the controls, run it, show the result.

Kept apart from the layout (pages/generate.py) so each file stays readable. Everything heavy happens
in `core`; this module validates web-specific inputs (an uploaded file must sit in the upload folder,
a model path inside the models folder) and turns results into component values.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from core.catalogue import ScenarioSlots
from core.engine import Progress
from core.errors import ValidationError
from core.image_input import fit_to_size, load_first_frame
from core.paths import ensure_inside
from core.request import GenerationRequest
from core.studio_settings import HistoryEntry, history_entry
from core.video_io import read_frames
from pages.common import StudioContext, fmt_seconds
from pages.generate_preview import carry_preview

FILMSTRIP_FRAMES = 8  # evenly spaced frames shown under the preview
THUMB_WIDTH = 224


@dataclass(frozen=True)
class Controls:
    """The 13 values of the generate endpoint, in its parameter order (also the restore order)."""

    first_frame: Any
    scenario: str | None
    event: str | None
    conditions: str | None
    road: str | None
    prompt: str | None
    negative_prompt: str | None
    guidance_scale: float | None
    steps: float | None
    frames: float | None
    fps: float | None
    seed: float | str | None
    model: str | None


def optional_int(value: Any, name: str, minimum: int | None = 1) -> int | None:
    """None/''/NaN mean "use the default"; anything else must be a whole number >= minimum."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a whole number, got '{value}'.") from None
    if math.isnan(number):
        return None
    if not number.is_integer():
        raise ValidationError(f"{name} must be a whole number, got {value}.")
    if minimum is not None and number < minimum:
        raise ValidationError(f"{name} must be at least {minimum}, got {int(number)}.")
    return int(number)


def optional_float(value: Any, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a number, got '{value}'.") from None
    return None if math.isnan(number) else number


class GenerateActions:
    """Event handlers of the Generate page, bound to the studio's shared services."""

    def __init__(self, ctx: StudioContext) -> None:
        self.ctx = ctx

    # -- inputs -----------------------------------------------------------------------------------
    def upload_path(self, first_frame: Any) -> Path:
        """The uploaded file's path, refused unless Gradio's upload folder holds it.

        The endpoint runs with preprocess=False (so our own content checks give the messages), which
        means the path arrives as the client sent it and must be confined here.
        """
        if isinstance(first_frame, dict):
            first_frame = first_frame.get("path")
        if not first_frame:
            raise ValidationError("a first-frame image is required (PNG, JPEG or WebP).")
        return ensure_inside(Path(str(first_frame)), [self.ctx.config.temp_dir], "first frame")

    def model_arg(self, model: str | None) -> str:
        """A registry id as it is; anything else is a folder that must lie inside the models folder."""
        model = (model or "").strip()
        if not model:
            raise ValidationError("choose a model (see the Models page for what is installed).")
        registry = self.ctx.registry()
        if model in registry:
            return model
        models_dir = self.ctx.config.models_dir
        if "/" not in model and "\\" not in model:
            # A bare name is a registry id, or a folder directly inside the models folder.
            if (models_dir / model).is_dir():
                return str(ensure_inside(models_dir / model, [models_dir], "model folder"))
            raise ValidationError(f"unknown model '{model}'; choose one of {', '.join(sorted(registry))}, "
                                  f"or a folder inside {models_dir}.")
        return str(ensure_inside(Path(model), [models_dir], "model folder"))

    def slots(self, scenario: str | None, event: str | None, conditions: str | None,
              road: str | None) -> tuple[str | None, ScenarioSlots | None]:
        """(scenario, None) or (None, slots) by the catalogue's one rule, shared with the CLI.

        The page's slot menus always show the picked scenario's own slots, so they pass; an API call that
        names a scenario and different slots is refused rather than silently losing a label.
        """
        return self.ctx.catalogue.scenario_or_slots(scenario, event, conditions, road)

    def template_prompt(self, scenario: str | None, slots: ScenarioSlots | None) -> str:
        catalogue = self.ctx.catalogue
        return catalogue.render(catalogue.slots_for(scenario) if scenario else slots) if (scenario or slots) else ""

    def build_request(self, c: Controls, seed_override: int | None = None,
                      require_image: bool = True) -> GenerationRequest:
        image = self.upload_path(c.first_frame) if (c.first_frame or require_image) else None
        scenario, slots = self.slots(c.scenario, c.event, c.conditions, c.road)  # validates the ids
        # Only a typed prompt reaches the engine: the API's default is empty, and the page's unedited
        # box holds the chosen scenario's template, so neither can override the scenario.
        prompt = (c.prompt or "").strip() or None
        if prompt and (scenario or slots) and prompt == self.template_prompt(scenario, slots):
            prompt = None  # unedited preview: keep the manifest saying "from the template"
        seed = seed_override if seed_override is not None else optional_int(c.seed, "seed", minimum=0)
        return GenerationRequest(
            image=image, scenario=scenario, slots=slots, prompt=prompt,
            negative_prompt=(c.negative_prompt or "").strip(),
            guidance_scale=optional_float(c.guidance_scale, "guidance scale"),
            num_inference_steps=optional_int(c.steps, "steps"),
            num_frames=optional_int(c.frames, "num_frames"),
            fps=optional_int(c.fps, "fps"), seed=seed, model=self.model_arg(c.model))

    def label_for(self, request: GenerationRequest) -> str:
        catalogue = self.ctx.catalogue
        if request.scenario and request.scenario in catalogue.categories:
            return catalogue.categories[request.scenario].label
        if request.slots:
            slots = request.slots
            return f"{catalogue.events[slots.event].label} · {catalogue.conditions[slots.conditions].label}"
        return (request.prompt or "custom prompt")[:40]

    # -- running ----------------------------------------------------------------------------------
    def run(self, request: GenerationRequest, owner: str, progress: gr.Progress, what: str = "clip") -> dict:
        """Wait for the gate, generate with per-step progress, return the manifest written beside the clip."""

        def on_wait(position: int, waiting: int) -> None:
            progress(0.0, desc=f"In queue: position {position} of {waiting} · one clip runs at a time")

        with self.ctx.gate.admit(owner, self.label_for(request), on_wait=on_wait) as ticket:
            progress(0.0, desc=f"Starting {what} · the model loads on first use")

            def on_progress(report: Progress) -> None:
                ticket.progress = carry_preview(report, ticket.progress)
                progress(report.step / max(report.total, 1), desc=f"{what.capitalize()}: step {report.step} of "
                                                                   f"{report.total} · {fmt_seconds(report.elapsed_s)}")

            result = self.ctx.engine.generate(request, on_progress=on_progress, cancel=ticket.cancel,
                                              with_preview=True)
        return json.loads(Path(result.manifest_path).read_text(encoding="utf-8"))

    # -- results ----------------------------------------------------------------------------------
    @staticmethod
    def filmstrip(mp4_path: str) -> tuple[list[tuple[np.ndarray, str]], np.ndarray]:
        """Evenly spaced frames with captions, and a thumbnail (the middle frame) for the history."""
        frames = read_frames(Path(mp4_path))
        count = min(FILMSTRIP_FRAMES, len(frames))
        picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
        strip = [(frames[i], f"frame {i + 1}") for i in picks]
        middle = frames[len(frames) // 2]
        step = max(1, middle.shape[1] // THUMB_WIDTH)
        return strip, np.ascontiguousarray(middle[::step, ::step])

    @staticmethod
    def summary(result: dict) -> str:
        """The line under the clip: seed used, size, time, and what the engine adjusted."""
        frames, height, width = result["frames_shape"][:3]
        text = (f"**Seed {result['seed']}** · {frames} frames {width}×{height} at {result['fps']} fps · "
                f"{(result.get('timings') or {}).get('total_s', 0):.1f} s")
        changed = [a for a in result.get("adjustments") or [] if a["field"] != "image"]  # crop: shown left
        if changed:
            text += " · adjusted " + "; ".join(f"{a['field']} {a['requested']} → {a['used']}" for a in changed)
        return text

    def history_item(self, manifest: dict, request: GenerationRequest | None = None) -> HistoryEntry:
        label = self.label_for(request) if request else str(manifest["result"].get("prompt", ""))[:40]
        return history_entry(manifest, label)

    def crop_preview(self, first_frame: Any, model: str | None) -> tuple[Any, str]:
        """The frame as the selected model will receive it, and a line saying what was changed."""
        if not first_frame:
            return None, "Upload a first frame or pick a sample to see what the model receives."
        frame = load_first_frame(self.upload_path(first_frame))
        entry = self.ctx.registry().get((model or "").strip())
        if entry is None:
            return None, "The size is decided when this model folder loads (its own config sets the rules)."
        width, height = entry.defaults.width, entry.defaults.height
        fitted, adjustments = fit_to_size(frame.image, width, height)
        source_w, source_h = frame.original_size
        steps = [f"{'centre-crop' if 'crop' in a.reason else 'resize'} {a.used.replace('x', '×')}"
                 for a in adjustments]
        chain = " → ".join([f"{source_w}×{source_h} {frame.source_format}", *steps]) if steps else "used as it is"
        return fitted, f"**{width}×{height}** for {html.escape(entry.label)}: {chain}."

    def model_info(self, model: str | None) -> str:
        from core.model_versions import entry_rules
        from core.registry import availability

        entry = self.ctx.registry().get((model or "").strip())
        if entry is None:
            return "A model folder path: its family and rules are read when it loads."
        status = availability(entry)
        state = (f"<span class='ss-ok'>● installed</span> · runs on **{self.ctx.device.label}**" if status.available
                 else f"<span class='ss-bad'>○ not installed</span> — {html.escape(status.reason)}")
        return f"{state}<br>Defaults {entry.defaults.describe()}. Rules: {html.escape(entry_rules(entry))}."
