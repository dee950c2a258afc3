"""The Generate page's live preview: the running clip's latest preview frame, polled by the page's 1 s timer.

The engine makes a preview every few steps (core/previews.py: a linear map of the latents, at latent
resolution); `carry_preview` keeps the latest one on the gate ticket between those steps, so a timer
tick that lands on any step still has a frame to show. Only the session that owns the running clip sees
its frames. A frame already on the page is not sent again (each send writes an image file).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import gradio as gr

from core.engine import Progress
from core.generation_queue import GateSnapshot

PREVIEW_HEIGHT = 200  # pixels on the page; the frame itself is at latent resolution and is scaled up


def preview_image() -> gr.Image:
    """The component, hidden until the first frame of a run arrives."""
    return gr.Image(label="Live preview · latent colours every few steps, not the final decode", type="numpy",
                    interactive=False, visible=False, height=PREVIEW_HEIGHT, elem_id="live-preview", buttons=[])


def carry_preview(report: Progress, previous: Progress | None) -> Progress:
    """The report to keep on the ticket: its own preview, else the last one this run made."""
    if report.preview is None and previous is not None and previous.preview is not None:
        return replace(report, preview=previous.preview)
    return report


def frame_key(frame: Any) -> str:
    """A short fingerprint of a preview frame (a few kB of pixels), to send each frame once."""
    return hashlib.blake2b(frame.tobytes(), digest_size=8).hexdigest()


def live_preview(snap: GateSnapshot, owner: str | None, shown: str | None) -> tuple[Any, str | None]:
    """(update for the gr.Image, key of the frame now shown) for one timer tick of session `owner`."""
    mine = owner is not None and snap.running_owner == owner
    report = snap.running_progress if mine else None
    if report is None or report.preview is None:
        # Between runs (or before a run's first preview) the clip itself is the preview: hide the frame.
        return (gr.update(visible=False), None) if shown is not None else (gr.update(), None)
    key = frame_key(report.preview)
    if key == shown:
        return gr.update(), shown
    return gr.update(value=report.preview, visible=True), key


def attach(timer: gr.Timer, image: gr.Image, gate: Any, **event_options: Any) -> None:
    """Poll the gate on every tick of the page's timer and update `image` (one gr.State per session)."""
    shown = gr.State(None)

    def tick(current: str | None, request: gr.Request):
        return live_preview(gate.snapshot(), request.session_hash if request else None, current)

    timer.tick(tick, [shown], [image, shown], show_progress="hidden", **event_options)
