"""The studio web app: the pages assembled into one multipage Gradio app, launched hardened.

Start-up stays light: building the app parses the catalogue and the registry only. The engine loads
a model on the first generation; the device (which needs torch) is probed in a background thread
after launch.

Hardening (see also the Settings page): bind 127.0.0.1, never a share link, a maximum upload size,
`allowed_paths` limited to the clips and audits folders (and narrowed by app.serving: media inline, reports
as downloads, nothing else; `nosniff` on every response), Gradio's temporary files in a folder of their own under
the data folder, optional sign-in, and `show_error=False` so that only the one-sentence messages the
pages raise as gr.Error reach the browser (everything else is logged with a reference).
"""

from __future__ import annotations

import os

# Before gradio is imported: no usage analytics or version check (the studio works offline).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
import yaml  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from app.serving import FileServingGuard, ServingPolicy  # noqa: E402
from core.catalogue import default_catalogue  # noqa: E402
from core.engine import Engine  # noqa: E402
from core.generation_queue import GenerationGate  # noqa: E402
from core.loading import LoadOptions  # noqa: E402
from core.paths import ASSETS_DIR  # noqa: E402
from pages import audit, generate, models, present, settings  # noqa: E402
from pages.common import DeviceProbe, StudioConfig, StudioContext  # noqa: E402

STYLESHEET = ASSETS_DIR / "studio.css"
THEME_FILE = ASSETS_DIR / "theme.yaml"
QUEUE_BACKSTOP = 64  # all queued events together; generations are bounded much lower by the gate

# Ctrl+Enter (Cmd+Enter on a Mac) generates and Esc cancels, wherever the focus is on the page.
KEYBOARD_SCRIPT = """
<script>
document.addEventListener("keydown", (event) => {
  const click = (id) => { const el = document.getElementById(id); if (el) { el.click(); return true; } return false; };
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
    if (click("generate-btn")) { event.preventDefault(); }
  } else if (event.key === "Escape") {
    click("cancel-btn");
  }
});
</script>
"""


def make_config(data_dir: Path, models_dir: Path | None = None, host: str = "127.0.0.1", port: int | None = 7860,
                auth_enabled: bool = False, max_waiting: int = 4, device: str = "auto") -> StudioConfig:
    """Folders for one studio: clips and Gradio's temporary files live under the data folder."""
    data_dir = Path(data_dir).expanduser().resolve()
    models_dir = Path(models_dir).expanduser().resolve() if models_dir else data_dir / "models"
    return StudioConfig(data_dir=data_dir, models_dir=models_dir, output_dir=data_dir / "clips",
                        temp_dir=data_dir / "gradio-tmp", host=host, port=port or 0, auth_enabled=auth_enabled,
                        max_waiting=max_waiting, device=device)


def load_theme(path: Path = THEME_FILE) -> gr.themes.Base:
    """The studio theme from assets/theme.yaml (hues, sizes, bundled fonts, variable overrides)."""
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    theme = gr.themes.Base(
        primary_hue=spec["primary_hue"], secondary_hue=spec["secondary_hue"], neutral_hue=spec["neutral_hue"],
        text_size=spec["text_size"], spacing_size=spec["spacing_size"], radius_size=spec["radius_size"],
        font=(gr.themes.LocalFont(spec["font"]), "ui-sans-serif", "system-ui", "sans-serif"),
        font_mono=(gr.themes.LocalFont(spec["font_mono"]), "ui-monospace", "monospace"))
    return theme.set(**spec.get("overrides", {}))


def build_studio(config: StudioConfig) -> tuple[gr.Blocks, StudioContext]:
    """Build the multipage app; nothing heavy (no torch, no model) is loaded here."""
    for folder in (config.data_dir, config.models_dir, config.output_dir, config.temp_dir, config.data_dir / "audits"):
        folder.mkdir(parents=True, exist_ok=True)
    # Components remember the cache folder when they are created, so this comes first.
    os.environ["GRADIO_TEMP_DIR"] = str(config.temp_dir)
    ctx = StudioContext(config=config,
                        engine=Engine(output_dir=config.output_dir, load_options=LoadOptions(device=config.device)),
                        gate=GenerationGate(max_waiting=config.max_waiting), catalogue=default_catalogue(),
                        device=DeviceProbe(config.device))
    ctx.registry(reload=True)
    with gr.Blocks(title="Scenario Studio", fill_width=True) as demo:
        generate.build(ctx, demo)
    with demo.route("Audit", "/audit"):
        audit.build(ctx, demo)
    with demo.route("Present", "/present"):
        present.build(ctx, demo)
    with demo.route("Models", "/models"):
        models.build(ctx, demo)
    with demo.route("Settings", "/settings"):
        settings.build(ctx, demo)
    demo.queue(max_size=QUEUE_BACKSTOP, default_concurrency_limit=1)
    return demo, ctx


def launch_studio(demo: gr.Blocks, ctx: StudioContext, auth: list[tuple[str, str]] | None = None,
                  prevent_thread_lock: bool = False, quiet: bool = False) -> str:
    """Serve the app with the hardening settings; returns the local URL."""
    config = ctx.config
    ctx.device.start()
    audits_dir = config.data_dir / "audits"
    guard = Middleware(FileServingGuard, policy=ServingPolicy(clips_dir=config.output_dir, audits_dir=audits_dir))
    _, url, _ = demo.launch(
        server_name=config.host, server_port=config.port or None, share=False, auth=auth,
        auth_message="Scenario Studio: sign in with the account given to `scenario-studio serve`." if auth else None,
        prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False,
        max_file_size=config.max_upload_bytes, allowed_paths=[str(config.output_dir), str(audits_dir)],
        theme=load_theme(), css_paths=[STYLESHEET], head=KEYBOARD_SCRIPT,
        footer_links=["api"], enable_monitoring=False, mcp_server=False, ssr_mode=False, pwa=False,
        run_history=False, strict_cors=True,
        # The guard sees every file request: no static-file worker processes serve files around it.
        num_workers=0, app_kwargs={"middleware": [guard]})
    if not config.port:
        ctx.config = replace(config, port=demo.server_port)
    return url
