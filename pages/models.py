"""The Models page: the registry, whether each model is installed here and where it loads from, and
adding a downloaded checkpoint folder by path.

Added folders must lie inside the studio's models folder (`--models-dir`) and pass the engine's own
safety checks before they are written to `<data-dir>/models.yaml`.
"""

from __future__ import annotations

import html

import gradio as gr

from core.model_versions import entry_rules
from core.registry import Availability, ModelEntry, availability
from core.user_models import add_user_model, user_registry_file
from pages.common import StudioContext, navbar, page_header, ui_errors

COLUMNS = ["Model id", "Name", "Family", "Status", "Loads from (or why not)", "Defaults", "Rules"]


def where_or_why(entry: ModelEntry, status: Availability) -> str:
    """Where an installed model loads from, or in a few words why it is not installed."""
    if status.available:
        return status.location
    if entry.source_kind == "hub" and "Hugging Face cache" in status.reason:
        return f"not in the local Hugging Face cache (hub id {entry.source}); add a downloaded copy →"
    if "does not exist" in status.reason:
        return f"folder not found: {entry.source}"
    return status.reason


def registry_rows(ctx: StudioContext, reload: bool = False) -> list[list[str]]:
    rows = []
    for entry in ctx.registry(reload=reload).values():
        status = availability(entry)
        rows.append([
            entry.id, entry.label, entry.family,
            "installed" if status.available else "not installed",
            where_or_why(entry, status),
            entry.defaults.describe(),
            entry_rules(entry),
        ])
    return rows


def device_line(ctx: StudioContext) -> str:
    return (f"Models run on **{html.escape(ctx.device.label)}** (chosen automatically: CUDA, then Apple MPS, "
            "then CPU). One model is held in memory at a time.")


def how_to_add(ctx: StudioContext) -> str:
    models_dir = html.escape(str(ctx.config.models_dir))
    return f"""
### Add a downloaded checkpoint
This machine never downloads weights. Fetch a diffusers image-to-video checkpoint on a machine with
internet access, copy the folder here, then register it:

1. Download it, for example `huggingface-cli download Lightricks/LTX-Video --local-dir ltx-video`.
2. Copy the folder (the one holding `model_index.json`) into the models folder: `{models_dir}`.
3. Enter its path below and press **Add model**.

The folder is checked as the engine checks it before loading: it must be inside the models folder,
hold `model_index.json` and **safetensors** weights only (pickled `.bin`/`.pt` files and any `.py`
file are refused), and use a supported pipeline class (CogVideoX, Wan, LTX-Video or Stable Video
Diffusion image-to-video). Defaults are copied from the built-in version its configs match; edit them in
`{html.escape(str(user_registry_file(ctx.config.data_dir)))}`.
"""


def build(ctx: StudioContext, demo: gr.Blocks) -> None:
    navbar()
    page_header("Models", "what is installed, where it loads from, and adding your own")
    with gr.Row(elem_classes="ss-main"):
        with gr.Column(scale=8):
            table = gr.Dataframe(registry_rows(ctx), headers=COLUMNS, interactive=False, wrap=True,
                                 elem_id="models-table", label="Model registry", max_height=760,
                                 elem_classes="ss-table",
                                 column_widths=["13%", "15%", "10%", "9%", "23%", "15%", "15%"])
            with gr.Row():
                refresh_btn = gr.Button("Refresh", size="sm", scale=0, min_width=100)
                device_note = gr.Markdown(device_line(ctx), elem_classes="ss-note")
        with gr.Column(scale=4, min_width=340, elem_classes="ss-controls"):
            with gr.Group(elem_classes="ss-card"):
                gr.Markdown(how_to_add(ctx), elem_classes="ss-help")
                folder = gr.Textbox(label="Checkpoint folder", placeholder=str(ctx.config.models_dir / "my-checkpoint"),
                                    elem_id="model-folder")
                with gr.Row():
                    model_id = gr.Textbox(label="Id (optional)", placeholder="from the folder name", elem_id="model-id")
                    label = gr.Textbox(label="Name (optional)", placeholder="shown in the model picker")
                add_btn = gr.Button("Add model", variant="primary", elem_id="add-model-btn")
                outcome = gr.Markdown(elem_id="add-model-outcome")

    @ui_errors("Adding the model")
    def add_model(folder: str, model_id: str, label: str) -> tuple[list[list[str]], str]:
        """Register a checkpoint folder that lies inside the studio's models folder.

        folder: path of the pipeline folder (the one holding model_index.json).
        model_id: registry id to use; empty derives one from the folder name.
        label: name shown in the model picker; empty derives one.
        Returns the refreshed registry table and a confirmation line.
        """
        entry = add_user_model(folder, ctx.config.models_dir, ctx.config.data_dir, model_id, label)
        rows = registry_rows(ctx, reload=True)
        gr.Info(f"Added '{html.escape(entry.id)}'; pick it in the Generate page's model list.")
        return rows, (f"Added **{html.escape(entry.id)}** ({html.escape(entry.family)}) from "
                      f"`{html.escape(entry.source)}`.")

    add_btn.click(add_model, [folder, model_id, label], [table, outcome], api_name="add_model",
                  concurrency_id="registry", concurrency_limit=1)
    def refresh() -> tuple[list[list[str]], str]:
        return registry_rows(ctx, reload=True), device_line(ctx)

    refresh_btn.click(refresh, None, [table, device_note], queue=False, api_visibility="private")
    # Folders may have been copied in since start-up, and the device probe finishes after it.
    demo.load(refresh, None, [table, device_note], queue=False, api_visibility="private")
