"""The Generate page: the scenario designer's loop (first frame → scenario → settings → clips).

Layout: a left control column, a large preview (the clip, up to three variants beside it, a filmstrip,
the manifest) and a compact status bar. The Generate action is the documented API endpoint
`generate`; everything else on the page is wiring around it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gradio as gr

from core.catalogue import Catalogue
from core.engine import MAX_SEED
from core.errors import GenerationCancelled, StudioError
from core.image_input import load_first_frame
from core.registry import availability
from core.request import GenerationRequest
from core.sample_frames import load_sample_frames
from core.studio_settings import push_history
from pages import generate_preview
from pages.common import StudioContext, navbar, page_header, raise_for_ui, ui_errors
from pages.generate_actions import Controls, GenerateActions
from pages.generate_session import HistoryItem, SessionActions, history_gallery, template_note
from pages.metrics_work import card_html

log = logging.getLogger("scenario_studio.web")

MAX_VARIANTS = 4
DUPLICATE_PICK_S = 2.0  # a second report of the same model pick within this many seconds is a duplicate
GUIDANCE_HELP = ("Classifier-free guidance w. 4 is the case study's recommendation for training data; "
                 "higher follows the prompt more closely but gives less diversity.")


def sample_frames(catalogue: Catalogue) -> list[tuple[Path, str]]:
    """Bundled sample first frames with captions ("Dust storm · Desert highway")."""
    out = []
    for sample in load_sample_frames():
        conditions, road = catalogue.conditions.get(sample.conditions), catalogue.roads.get(sample.road)
        caption = f"{conditions.label} · {road.label}" if conditions and road else sample.path.stem.replace("_", " ")
        out.append((sample.path, caption))
    return out


def sample_thumbnails(samples: list[tuple[Path, str]]) -> tuple[list[tuple[Path, str]], list[tuple[Any, str]]]:
    """The samples that decode, and their thumbnails; a broken sample is logged and left out."""
    usable, thumbnails = [], []
    for path, caption in samples:
        try:
            image = load_first_frame(path).image
        except StudioError as exc:
            log.warning("sample frame skipped: %s", exc)
            continue
        image.thumbnail((320, 180))
        usable.append((path, caption))
        thumbnails.append((image, caption))
    return usable, thumbnails


def default_model_id(ctx: StudioContext) -> str:
    """The embedded default when installed, else the first installed model, else the first entry."""
    registry = ctx.registry()
    installed = [m for m, entry in registry.items() if availability(entry).available]
    if "embedded-default" in installed:
        return "embedded-default"
    return installed[0] if installed else next(iter(registry), "embedded-default")


def build(ctx: StudioContext, demo: gr.Blocks) -> None:
    """Lay out the page inside the current Blocks/route context and wire its events."""
    actions = GenerateActions(ctx)
    session = SessionActions(ctx, actions)
    catalogue = ctx.catalogue
    model_id = default_model_id(ctx)
    entry = ctx.registry().get(model_id)
    defaults = entry.defaults if entry else None
    first_category = next(iter(catalogue.categories.values()))
    samples, thumbnails = sample_thumbnails(sample_frames(catalogue))

    navbar()
    page_header("Generate", "first frame → scenario → clips")
    history = gr.State([])
    last_seed = gr.State(None)
    frame_condition = gr.State(None)  # condition shown by the picked sample frame; None for uploads

    with gr.Row(elem_classes="ss-main", equal_height=False):
        with gr.Column(scale=4, min_width=380, elem_classes="ss-left"):
            # The settings scroll on their own; Generate and Cancel stay in view below them.
            with gr.Column(elem_classes="ss-controls"):
                with gr.Group(elem_classes="ss-card"):
                    with gr.Row(equal_height=True):
                        first_frame = gr.Image(label="First frame (drop an image)", type="filepath", format="png",
                                               sources=["upload", "clipboard"], height=160, elem_id="first-frame")
                        crop_view = gr.Image(label="What the model receives", interactive=False, format="png",
                                             height=160, elem_id="crop-preview", buttons=[])
                    crop_note = gr.Markdown("Upload a first frame or pick a sample.", elem_classes="ss-note")
                    sample_gallery = gr.Gallery(
                        value=thumbnails or None,
                        label="Sample frames · click to use", columns=4, rows=1, height=124, allow_preview=False,
                        object_fit="cover", interactive=False, elem_id="sample-gallery", visible=bool(samples))
                with gr.Group(elem_classes="ss-card"):
                    # No initial values here: Gradio makes a component's initial value the API's default, and
                    # the API must default to no scenario, no slots and no typed prompt. The page fills in the
                    # first category when it opens (on_open below).
                    scenario = gr.Dropdown([("Custom: the three slots below", "")] +
                                           [(c.label, c.id) for c in catalogue.categories.values()],
                                           value=None, label="Scenario", elem_id="scenario")
                    with gr.Row():
                        event = gr.Dropdown([(e.label, e.id) for e in catalogue.events.values()],
                                            value=None, label="Event", min_width=110)
                        conditions = gr.Dropdown([(e.label, e.id) for e in catalogue.conditions.values()],
                                                 value=None, label="Conditions", min_width=110)
                        road = gr.Dropdown([(e.label, e.id) for e in catalogue.roads.values()],
                                           value=None, label="Road", min_width=110)
                    prompt = gr.Textbox("", label="Prompt", lines=2, elem_id="prompt")
                    with gr.Row(elem_classes="ss-inline"):
                        prompt_note = gr.Markdown("", elem_classes="ss-note")
                        reset_prompt = gr.Button("Reset to template", size="sm", scale=0, min_width=140)
                    negative = gr.Textbox(label="Negative prompt", placeholder="e.g. blurry, static, flicker", lines=1)
                with gr.Group(elem_classes="ss-card"):
                    model = gr.Dropdown(ctx.model_choices(), value=model_id, label="Model", allow_custom_value=True,
                                        elem_id="model")
                    model_note = gr.Markdown(actions.model_info(model_id), elem_classes="ss-note",
                                             elem_id="model-note")
                    guidance = gr.Slider(1, 12, step=0.5, value=defaults.guidance_scale if defaults else 4.0,
                                         label="Guidance scale", info=GUIDANCE_HELP, elem_id="guidance")
                    with gr.Row():
                        steps = gr.Slider(1, 100, step=1, value=defaults.num_inference_steps if defaults else 25,
                                          label="Steps", elem_id="steps")
                        frames = gr.Number(defaults.num_frames if defaults else 16, label="Frames", precision=0,
                                           minimum=1, elem_id="frames", min_width=90)
                        fps = gr.Number(defaults.fps if defaults else 8, label="FPS", precision=0, minimum=1,
                                        elem_id="fps", min_width=80)
                    with gr.Row():
                        seed = gr.Textbox("", label="Seed", placeholder="empty = random", elem_id="seed", min_width=120,
                                          max_lines=1)
                        variants = gr.Slider(1, MAX_VARIANTS, step=1, value=1, label="Variants (seeds side by side)",
                                             elem_id="variants")
                with gr.Accordion("Share settings (JSON)", open=False, elem_classes="ss-card"):
                    with gr.Row():
                        export_btn = gr.Button("Export settings", size="sm", elem_id="export-btn")
                        import_btn = gr.UploadButton("Import settings or manifest…", file_types=[".json"], size="sm",
                                                     elem_id="import-btn")
                    export_file = gr.File(label="Settings file", visible=False, interactive=False,
                                          elem_id="export-file")
            with gr.Row(elem_classes="ss-actions"):
                generate_btn = gr.Button("Generate", variant="primary", elem_id="generate-btn", scale=3)
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="cancel-btn", scale=1)
            gr.HTML("<div class='ss-keys'><kbd>Ctrl</kbd>+<kbd>Enter</kbd> generate · <kbd>Esc</kbd> cancel</div>")

        with gr.Column(scale=8, elem_classes="ss-preview"):
            with gr.Row(elem_classes="ss-videos", equal_height=False):
                with gr.Column(min_width=260):
                    video = gr.Video(label="Preview", autoplay=True, loop=True, interactive=False, height=400,
                                     elem_id="main-video", buttons=["download"])
                    live_frame = generate_preview.preview_image()
                    card = gr.HTML(elem_id="quality-card", elem_classes="ss-q-wrap")
                variant_columns, variant_videos, variant_cards = [], [], []
                for index in range(MAX_VARIANTS - 1):
                    with gr.Column(min_width=260, visible=False) as column:
                        variant_videos.append(gr.Video(label=f"Variant {index + 2}", autoplay=True, loop=True,
                                                       interactive=False, height=400, buttons=["download"],
                                                       elem_classes="ss-variant"))
                        variant_cards.append(gr.HTML(elem_classes="ss-q-wrap"))
                    variant_columns.append(column)
            with gr.Row(elem_classes="ss-result-bar", equal_height=True):
                seed_used = gr.Markdown("No clip yet: pick a frame and press **Generate**.", elem_id="seed-used")
                reuse_btn = gr.Button("Reuse seed", size="sm", interactive=False, scale=0, min_width=110)
                manifest_dl = gr.DownloadButton("Manifest JSON", size="sm", visible=False, scale=0, min_width=140)
            filmstrip = gr.Gallery(label="Filmstrip", columns=8, rows=1, height=120, allow_preview=True,
                                   object_fit="cover", interactive=False, elem_id="filmstrip")
            with gr.Accordion("Manifest: full settings and provenance", open=False):
                manifest = gr.JSON(label="Result JSON", elem_id="manifest")
            history_view = gr.Gallery(label="Recent generations · click one to restore its settings", columns=6,
                                      rows=1, height=150, allow_preview=False, object_fit="cover", fit_columns=False,
                                      interactive=False, elem_id="history")
    status = gr.HTML(elem_id="status-bar", elem_classes="ss-status-wrap")
    timer = gr.Timer(1.0)

    controls = [first_frame, scenario, event, conditions, road, prompt, negative, guidance, steps, frames, fps,
                seed, model]
    restorable = [*controls, prompt_note, model_note]

    # -- scenario and prompt ----------------------------------------------------------------------
    @ui_errors("Scenario")
    def on_category(category_id: str):
        if not category_id:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        slots = catalogue.slots_for(category_id)
        text = catalogue.render(slots)
        return slots.event, slots.conditions, slots.road, text, template_note(text, text)

    @ui_errors("Scenario")
    def on_slot(event_id: str, conditions_id: str, road_id: str):
        _, slots = actions.slots(None, event_id, conditions_id, road_id)
        text = actions.template_prompt(None, slots)
        match = next((c.id for c in catalogue.categories.values()
                      if (c.event, c.conditions, c.road) == (slots.event, slots.conditions, slots.road)), "")
        return match, text, template_note(text, text)

    @ui_errors("Prompt")
    def on_prompt(text: str, category_id: str, event_id: str, conditions_id: str, road_id: str):
        scenario_id, slots = actions.slots(category_id, event_id, conditions_id, road_id)
        return template_note(text, actions.template_prompt(scenario_id, slots))

    @ui_errors("Prompt")
    def on_reset(category_id: str, event_id: str, conditions_id: str, road_id: str):
        scenario_id, slots = actions.slots(category_id, event_id, conditions_id, road_id)
        text = actions.template_prompt(scenario_id, slots)
        return text, template_note(text, text)

    # Page-only helpers, not part of the API. They are queued because only queued events deliver gr.Error
    # and gr.Info to the browser, and unlimited so that no tab waits behind another's generation.
    ui = dict(concurrency_limit=None, api_visibility="private")
    quiet = dict(queue=False, api_visibility="private")  # cannot fail: skip the queue round trip
    live = dict(show_progress="hidden", **ui)  # typing and picking should not flash a spinner
    scenario.input(on_category, [scenario], [event, conditions, road, prompt, prompt_note], **live)
    for slot in (event, conditions, road):
        slot.input(on_slot, [event, conditions, road], [scenario, prompt, prompt_note], **live)
    prompt.input(on_prompt, [prompt, scenario, event, conditions, road], [prompt_note], trigger_mode="always_last",
                 **live)
    reset_prompt.click(on_reset, [scenario, event, conditions, road], [prompt, prompt_note], **live)

    # -- first frame, model -----------------------------------------------------------------------
    @ui_errors("The first frame")
    def on_frame(frame: Any, model_value: str):
        return actions.crop_preview(frame, model_value)

    # The condition a picked sample frame shows (None after an upload: a user's frame has no known
    # condition). The quality card uses it to tell a requested condition change from colour drift.
    sample_conditions = {s.path: s.conditions for s in load_sample_frames()}

    @ui_errors("Sample frame")
    def on_sample(evt: gr.SelectData):
        path = samples[evt.index][0]
        return load_first_frame(path).image, sample_conditions.get(path)

    # Session hash -> (model, monotonic time) of its last pick. One pick can reach the server twice within
    # milliseconds (the typed filter text, then the option), and the late duplicate must not wipe settings
    # that the user edited in between; a gr.State cannot tell, since both reports carry the old state. A pick
    # of the same model within DUPLICATE_PICK_S is that duplicate; any other pick loads the model's defaults.
    last_pick: OrderedDict[str, tuple[str, float]] = OrderedDict()
    last_pick_lock = threading.Lock()

    @ui_errors("Model")
    def on_model(model_value: str, frame: Any, request: gr.Request):
        now = time.monotonic()
        with last_pick_lock:
            previous = last_pick.pop(request.session_hash, None)
            duplicate = previous is not None and previous[0] == model_value and now - previous[1] < DUPLICATE_PICK_S
            last_pick[request.session_hash] = (model_value, now)
            while len(last_pick) > 4096:  # forget the oldest sessions
                last_pick.popitem(last=False)
        chosen = ctx.registry().get(model_value)
        info = actions.model_info(model_value)
        try:
            preview, note = actions.crop_preview(frame, model_value)
        except StudioError:
            preview, note = None, "The current first frame cannot be used; upload another."
        if chosen is None or duplicate:
            return gr.update(), gr.update(), gr.update(), gr.update(), info, preview, note
        d = chosen.defaults
        return d.guidance_scale, d.num_inference_steps, d.num_frames, d.fps, info, preview, note

    # A bad upload gets its one-sentence message from on_frame, then the image is cleared.
    first_frame.change(on_frame, [first_frame, model], [crop_view, crop_note], preprocess=False, **ui).failure(
        lambda: None, None, [first_frame], **ui)
    sample_gallery.select(on_sample, None, [first_frame, frame_condition], **ui)
    first_frame.upload(lambda: None, None, [frame_condition], **ui)
    first_frame.clear(lambda: None, None, [frame_condition], **ui)
    model.input(on_model, [model, first_frame], [guidance, steps, frames, fps, model_note, crop_view, crop_note],
                preprocess=False, **ui)

    # -- generate ---------------------------------------------------------------------------------
    # Every parameter but the first frame defaults to None, which Gradio publishes as the API's default
    # where the component has no initial value (guidance, steps, frames, fps and model keep the page's).
    def generate(first_frame: Any, scenario: str | None = None, event: str | None = None,
                 conditions: str | None = None, road: str | None = None, prompt: str | None = None,
                 negative_prompt: str | None = None, guidance_scale: float | None = None, steps: int | None = None,
                 frames: int | None = None, fps: int | None = None, seed: int | str | None = None,
                 model: str | None = None, request: gr.Request = None, progress=gr.Progress()) -> tuple[str, dict]:
        """Generate one clip from a first frame and a scenario; one clip runs at a time, others wait in line.

        Parameters:
            first_frame: PNG, JPEG or WebP image (upload it with gradio_client.handle_file).
            scenario: a category id (see `scenario-studio scenarios`); empty to use the three slots.
            event: event slot id, used when scenario is empty.
            conditions: conditions slot id, used when scenario is empty.
            road: road slot id, used when scenario is empty.
            prompt: free text; empty (or the unedited template) uses the scenario template.
            negative_prompt: what to steer away from.
            guidance_scale: classifier-free guidance w; empty takes the model's default (4 for training data).
            steps: denoising steps; empty takes the model's default.
            frames: number of frames; empty takes the model's default.
            fps: frames per second of the MP4; empty takes the model's default.
            seed: empty for a random seed; the seed used is in the result.
            model: a registry id, or a pipeline folder inside the studio's models folder.
        Returns:
            The MP4 and the result JSON (the manifest written beside the clip: result and request).
        """
        try:
            values = Controls(first_frame, scenario, event, conditions, road, prompt, negative_prompt,
                              guidance_scale, steps, frames, fps, seed, model)
            clip_request = actions.build_request(values)
            manifest_json = actions.run(clip_request, request.session_hash or "api", progress)
            return manifest_json["result"]["mp4_path"], manifest_json
        except Exception as exc:  # noqa: BLE001 - the UI boundary: details are logged, not shown
            raise_for_ui(exc, "Generation")

    @ui_errors("Showing the result")
    def show_result(manifest_json: dict, items: list[HistoryItem], count: int):
        result = manifest_json["result"]
        strip, thumbnail = actions.filmstrip(result["mp4_path"])
        request_obj = GenerationRequest.from_json(manifest_json["request"])
        items = push_history(items, HistoryItem(actions.history_item(manifest_json, request_obj), thumbnail))
        text = actions.summary(result)
        columns = [gr.update(visible=i + 1 < int(count)) for i in range(MAX_VARIANTS - 1)]
        cleared = [None] * (2 * (MAX_VARIANTS - 1))  # the previous run's variant clips and cards
        return (strip, text, gr.update(interactive=True), result["seed"],
                gr.update(value=result["manifest_path"], visible=True), items, history_gallery(items),
                *columns, *cleared)

    @ui_errors("The quality card")
    def show_card(manifest_json: dict, shown_condition: str | None, request: gr.Request) -> str:
        return card_html(ctx, request.session_hash or "api", manifest_json, shown_condition)

    def generate_variants(first_frame: Any, scenario: str | None, event: str | None, conditions: str | None,
                          road: str | None, prompt: str | None, negative_prompt: str | None,
                          guidance_scale: float | None, steps: int | None, frames: int | None, fps: int | None,
                          seed: int | None, model: str | None, count: int, manifest_json: dict | None,
                          items: list[HistoryItem], shown_condition: str | None, request: gr.Request,
                          progress=gr.Progress()):
        """The other N-1 clips: the same settings with the next seeds, shown beside the first."""
        values = Controls(first_frame, scenario, event, conditions, road, prompt, negative_prompt,
                          guidance_scale, steps, frames, fps, seed, model)
        count = int(count or 1)
        updates = [gr.skip() for _ in range(2 * (MAX_VARIANTS - 1))]  # variant videos, then their cards
        if count <= 1 or not manifest_json:
            yield (*updates, gr.skip(), gr.skip())
            return
        base_seed = int(manifest_json["result"]["seed"])
        owner = request.session_hash or "api"
        epoch = ctx.gate.cancel_epoch(owner)
        try:
            for index in range(1, count):
                if ctx.gate.cancel_epoch(owner) != epoch:  # Cancel pressed between two variants
                    raise GenerationCancelled("variants cancelled; the clips already made are kept.")
                variant_seed = (base_seed + index) % (MAX_SEED + 1)
                clip_request = actions.build_request(values, seed_override=variant_seed)
                clip = actions.run(clip_request, owner, progress,
                                   what=f"variant {index + 1} of {count}")
                strip, thumbnail = actions.filmstrip(clip["result"]["mp4_path"])
                items = push_history(items, HistoryItem(actions.history_item(clip, clip_request), thumbnail))
                updates[index - 1] = gr.update(value=clip["result"]["mp4_path"],
                                               label=f"Variant {index + 1} · seed {variant_seed}")
                yield (*updates, items, history_gallery(items))
                updates[MAX_VARIANTS - 2 + index] = card_html(ctx, owner, clip, shown_condition)
                yield (*updates, items, history_gallery(items))
        except Exception as exc:  # noqa: BLE001 - the UI boundary: details are logged, not shown
            raise_for_ui(exc, "Generating variants")

    gen_event = generate_btn.click(
        generate, controls, [video, manifest], api_name="generate", concurrency_id="generation",
        concurrency_limit=ctx.config.max_waiting + 2, preprocess=False, show_progress_on=[video])
    shown = gen_event.success(show_result, [manifest, history, variants],
                              [filmstrip, seed_used, reuse_btn, last_seed, manifest_dl, history, history_view,
                               *variant_columns, *variant_videos, *variant_cards], **ui)
    # Metrics work has its own bounded group (and the metrics gate inside): never the generation group.
    shown.success(show_card, [manifest, frame_condition], [card], api_visibility="private",
                  concurrency_id="metrics", concurrency_limit=ctx.config.metrics_limit)
    shown.success(
        generate_variants, [*controls, variants, manifest, history, frame_condition],
        [*variant_videos, *variant_cards, history, history_view], api_visibility="private",
        concurrency_id="generation", concurrency_limit=ctx.config.max_waiting + 2, preprocess=False,
        show_progress_on=variant_videos)

    def cancel(request: gr.Request) -> None:
        """Cancel this session's running or waiting generation; it stops after the current step."""
        ctx.gate.cancel(request.session_hash or "api")

    # Not Gradio's `cancels=`: that would drop the event while its worker thread runs on. The engine's
    # CancelToken stops the run after the current step, and the generate call itself then reports
    # "cancelled" (one message, to the browser or the API client that made the request).
    cancel_btn.click(cancel, None, None, api_name="cancel", queue=False)
    variants.change(lambda n: [gr.update(visible=i + 1 < int(n)) for i in range(MAX_VARIANTS - 1)],
                    [variants], variant_columns, **quiet)

    # -- seeds, history, settings files, status ---------------------------------------------------
    reuse_btn.click(lambda used: "" if used is None else str(used), [last_seed], [seed], **quiet)
    history_view.select(ui_errors("Restoring settings")(session.restore), [history], restorable, **ui)
    export_btn.click(ui_errors("Exporting settings")(session.export_settings), controls, [export_file],
                     preprocess=False, **ui)
    import_btn.upload(ui_errors("Importing settings")(session.import_settings), [import_btn], restorable[1:],
                      preprocess=False, **ui)
    def on_load(model_value: str):
        # Models added on the Models page since start-up, and the device found after it.
        return gr.update(choices=ctx.model_choices()), actions.model_info(model_value)

    demo.load(on_load, [model], [model, model_note], show_progress="hidden", **ui)
    demo.load(lambda: (first_category.id, *on_category(first_category.id)), None,
              [scenario, event, conditions, road, prompt, prompt_note], **quiet)  # the page opens on it
    timer.tick(session.status_bar, [model, history], [status], show_progress="hidden", **quiet)
    generate_preview.attach(timer, live_frame, ctx.gate, **quiet)
