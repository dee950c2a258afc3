"""The Settings page: how this studio is configured and hardened, library versions, and the API.

Read-only apart from unloading the cached model (in turn, through the generation gate); the
configuration comes from the `serve` flags.
"""

from __future__ import annotations

import gradio as gr

from core.engine import library_versions
from core.generation_queue import unload_model
from core.user_models import user_registry_file
from pages.common import StudioContext, navbar, page_header, ui_errors


def configuration_rows(ctx: StudioContext) -> list[list[str]]:
    c = ctx.config
    return [
        ["Listening on", f"http://{c.host}:{c.port}", "--host / --port (127.0.0.1 keeps it on this machine)"],
        ["Sign-in", "required" if c.auth_enabled else "off", "--auth USER:PASS or --auth-file FILE"],
        ["Data folder", str(c.data_dir), "--data-dir; user model registry: " + str(user_registry_file(c.data_dir))],
        ["Models folder", str(c.models_dir), "--models-dir; checkpoints may only be added from here"],
        ["Clips and manifests", str(c.output_dir), "the only folder the browser may fetch files from"],
        ["Upload and cache folder", str(c.temp_dir), "Gradio's temporary files (GRADIO_TEMP_DIR)"],
        ["Largest upload", f"{c.max_upload_bytes / 2**20:.0f} MiB", "bigger files are refused before they are stored"],
        ["Generation queue", f"1 running + {c.max_waiting} waiting", "more requests get 'queue full' at once"],
        ["Metrics work", f"{c.metrics_limit} running + {c.metrics_max_waiting} waiting",
         "quality cards and audits of existing clips; they never wait for a generation"],
        ["Device", ctx.device.label, "CUDA, then Apple MPS, then CPU"],
    ]


HARDENING = """
### Protections that are always on
- **Local by default.** The studio binds to 127.0.0.1 and never opens a public share link.
- **Uploads.** Files over the size limit are refused by the server; first frames are checked by
  content (PNG, JPEG or WebP only), against decompression bombs, and for a minimum size.
- **Files served.** The browser can fetch only generated clips, manifests and its own uploads;
  model and settings paths must lie inside the allowed folders.
- **Models.** Safetensors weights only; folders holding Python code or pickled weights are refused.
- **Errors.** The browser gets one sentence; tracebacks go to the server log with a reference.
"""


CLIENT_EXAMPLE = '''from gradio_client import Client, handle_file

url = "http://127.0.0.1:7860/"  # Client(url, auth=("user", "pass")) with sign-in
frame = "assets/sample_frames/clear_day_four_lane_interstate.png"
client = Client(url)
video_path, result = client.predict(
    first_frame=handle_file(frame),
    scenario="dust_storm_debris",  # a category id; or event=, conditions=, road= (all three) instead
    # Every other parameter is optional: prompt (empty = the scenario's template), negative_prompt,
    # guidance_scale, steps, frames, fps, seed (empty = random) and model (default "embedded-default").
    steps=8, frames=9,  # a quick preview; leave both out for the model's defaults
    api_name="/generate")
print(video_path)  # the MP4 (a path string with gradio_client 2.x)
print(result["result"]["seed"], result["result"]["provenance"]["slots"])
'''  # the README's example, kept identical by tests/test_web_api_labels.py


def api_snippet(ctx: StudioContext) -> str:
    """The README's client example, pointed at this studio's address."""
    url = f"http://{ctx.config.host}:{ctx.config.port}/"
    return CLIENT_EXAMPLE.replace('url = "http://127.0.0.1:7860/"', f'url = "{url}"')


def build(ctx: StudioContext, demo: gr.Blocks) -> None:
    navbar()
    page_header("Settings", "how this studio is configured")
    with gr.Row(elem_classes="ss-main"):
        with gr.Column(scale=7):
            config_table = gr.Dataframe(configuration_rows(ctx), headers=["Setting", "Value", "How to change it"],
                                        interactive=False, wrap=True, label="This studio", elem_id="settings-table",
                                        elem_classes="ss-table", column_widths=["20%", "38%", "42%"])
            gr.Markdown(HARDENING, elem_classes="ss-help")
            with gr.Row():
                unload_btn = gr.Button("Unload the cached model (free memory)", size="sm", scale=0, min_width=280)
                unload_note = gr.Markdown(elem_classes="ss-note")
        with gr.Column(scale=5):
            gr.Code(api_snippet(ctx), language="python", label="Call the Generate API from Python", interactive=False)
            versions = library_versions()
            gr.Dataframe([[k, v] for k, v in versions.items()], headers=["Library", "Version"], interactive=False,
                         label="Versions (recorded in every manifest)", elem_classes="ss-table")

    @ui_errors("Unloading the model")
    def unload(request: gr.Request, progress=gr.Progress()) -> str:
        def on_wait(position: int, waiting: int) -> None:
            progress(0.0, desc=f"Waiting for the running generation: position {position} of {waiting}")

        if unload_model(ctx.gate, ctx.engine, request.session_hash or "api", on_wait=on_wait):
            return "The model was unloaded; the next generation loads it again."
        return "No model was loaded."

    # Its own Gradio group: a listener joining "generation" would lower that group's limit to its own
    # for good (gradio/queueing.py, create_event_queue_for_fn), and then requests would wait unseen in
    # Gradio's queue instead of the gate's line. The gate, not Gradio, orders the unload after a running
    # generation. Undocumented (not private) so an API client can unload too, as the button does.
    unload_btn.click(unload, None, [unload_note], api_name="unload", api_visibility="undocumented",
                     concurrency_id="unload", concurrency_limit=1)
    # The device is probed in the background after start-up; show what it found on each visit.
    demo.load(lambda: configuration_rows(ctx), None, [config_table], queue=False, api_visibility="private")
