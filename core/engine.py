"""The generation engine: request in, clip + manifest out.

One call validates the request, resolves and (lazily, once) loads the model, applies the family's
rules, runs the pipeline with per-step progress and cancellation, and writes an H.264 MP4 plus a
JSON manifest atomically. A cancelled or failed run writes nothing.
"""

from __future__ import annotations

import platform
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from core.adapters import ResolvedAdapter, applied_adapters, resolve_adapter
from core.atomic import write_json_atomic
from core.catalogue import Catalogue, default_catalogue
from core.errors import GenerationCancelled, ValidationError
from core.families import get_family
from core.image_input import fit_to_size, load_first_frame
from core.loading import PIPELINE_CACHE, LoadOptions, PipelineCache
from core.paths import data_dir
from core.previews import DEFAULT_EVERY, check_cadence, preview_due
from core.registry import ModelEntry, load_registry, resolve_model
from core.request import GenerationRequest, GenerationResult
from core.video_io import write_mp4

MAX_SEED = 2**63 - 1
LIBRARIES = ("scenario-studio", "torch", "diffusers", "transformers", "peft", "accelerate", "numpy", "opencv-contrib-python-headless")


@dataclass(frozen=True)
class Progress:
    """One progress report: denoising step `step` of `total`, seconds since the request started."""

    step: int
    total: int
    elapsed_s: float
    stage: str = "denoising"
    preview: np.ndarray | None = None  # uint8 h×w×3 latent-resolution frame on due steps (core/previews.py)


class CancelToken:
    """Set from another thread (the UI's Cancel button); the run stops at the end of the current step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Installed versions of the libraries that shape a clip (plus `extra` ones), for provenance."""
    versions = {"python": platform.python_version()}
    for name in (*LIBRARIES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


class Engine:
    """Generates clips. One generation runs at a time per pipeline cache (one GPU or CPU), under its run lock."""

    def __init__(self, output_dir: Path | None = None, load_options: LoadOptions | None = None,
                 cache: PipelineCache = PIPELINE_CACHE, registry: dict[str, ModelEntry] | None = None,
                 catalogue: Catalogue | None = None) -> None:
        self.output_dir = Path(output_dir) if output_dir else data_dir() / "clips"
        self.load_options = load_options or LoadOptions()
        self.cache = cache
        self.registry = registry
        self.catalogue = catalogue or default_catalogue()
        self._lock = cache.run_lock  # one lock per cache, shared by every engine that uses it

    def generate(self, request: GenerationRequest, on_progress: Callable[[Progress], None] | None = None,
                 cancel: CancelToken | None = None, out_path: Path | None = None,
                 with_preview: bool = False, preview_every: int = DEFAULT_EVERY) -> GenerationResult:
        """Make one clip. Raises ValidationError / ModelUnavailableError / GenerationCancelled.

        `with_preview` asks for a preview frame (core/previews.py) on the progress reports of steps
        preview_every, 2·preview_every, … and the last; other reports carry None. A family or checkpoint
        without published latent-to-RGB factors gets a note saying so instead.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        check_cadence(preview_every)
        slots, prompt = self.catalogue.resolve_prompt(request.scenario, request.slots, request.prompt)
        if request.image is None:
            raise ValidationError("a first-frame image is required (PNG, JPEG or WebP).")
        first_frame = load_first_frame(request.image)
        seed = request.seed if request.seed is not None else secrets.randbelow(2**31)
        if not 0 <= int(seed) <= MAX_SEED:
            raise ValidationError(f"seed must be between 0 and {MAX_SEED}, got {seed}.")
        registry = self.registry if self.registry is not None else load_registry()
        model = resolve_model(request.model, registry)
        adapters = [resolve_adapter(spec) for spec in request.adapters]
        family = get_family(model.family)

        with self._lock:
            stage_start = time.perf_counter()
            loaded = self.cache.get(model, self.load_options)
            timings["load_s"] = time.perf_counter() - stage_start
            settings = family.resolve(
                loaded.pipe, model.defaults, prompt=prompt, negative_prompt=request.negative_prompt or "",
                width=request.width, height=request.height, num_frames=request.num_frames, fps=request.fps,
                num_inference_steps=request.num_inference_steps, guidance_scale=request.guidance_scale)
            notes: list[str] = [*model.notes, *loaded.notes, *settings.notes]
            reads_prompt = family.constraints(loaded.pipe).uses_prompt
            if not reads_prompt:
                notes.append(f"prompt ignored: the {family.label or family.name} family is image-only")
            slots, labels_source = self._labels(family, loaded.pipe, prompt, slots, settings, notes, reads_prompt)
            image, image_adjustments = fit_to_size(first_frame.image, settings.width, settings.height)
            adjustments = settings.adjustments + image_adjustments

            previewing = with_preview and on_progress is not None and self._preview_note(family, loaded.pipe, notes)

            def on_step(step: int, total: int, latents) -> None:
                # Raising here aborts the pipeline inside its loop: cancellation lands within one step.
                if cancel is not None and cancel.cancelled:
                    raise GenerationCancelled("generation cancelled; no clip was written.")
                if on_progress is not None:
                    due = previewing and preview_due(step, total, preview_every)
                    preview = family.preview_frame(loaded.pipe, latents, settings) if due else None
                    on_progress(Progress(step, total, time.perf_counter() - started, preview=preview))

            import torch

            # A CPU generator gives the same noise on every device, so a seed reproduces anywhere.
            generator = torch.Generator(device="cpu").manual_seed(int(seed))
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled("generation cancelled; no clip was written.")
            stage_start = time.perf_counter()
            with applied_adapters(loaded.pipe, family.denoisers(loaded.pipe), model.id, adapters):
                frames = family(loaded.pipe, image, settings, generator, on_step)
            timings["denoise_and_decode_s"] = time.perf_counter() - stage_start

        result = GenerationResult(frames=frames, fps=settings.fps, seed=int(seed), prompt=prompt,
                                  model_id=model.id, family=model.family, adjustments=adjustments, notes=notes)
        stage_start = time.perf_counter()
        mp4_path = Path(out_path) if out_path else self._default_path(model.id, int(seed))
        write_mp4(frames, mp4_path, fps=settings.fps)
        timings["encode_s"] = time.perf_counter() - stage_start
        timings["total_s"] = time.perf_counter() - started
        result.mp4_path = mp4_path
        result.manifest_path = mp4_path.with_suffix(".json")
        result.timings = timings
        result.provenance = self._provenance(request, slots, labels_source, settings, loaded, first_frame.sha256,
                                             adapters)
        write_json_atomic(result.manifest_path, {"result": result.to_json(), "request": request.to_json()})
        return result

    def _labels(self, family, pipe, prompt: str, slots, settings, notes: list[str], reads_prompt: bool) -> tuple:
        """The slots to record and where they come from (see Catalogue.labels_source).

        A family conditioned on slots gets them in `settings.slots`, so the recorded labels are exactly
        its conditioning; a typed prompt that names other phrases is then noted, never silently obeyed.
        """
        conditioned = family.conditioning_slots(pipe, prompt, slots)
        if conditioned is not None:
            if slots is not None and prompt.strip() != self.catalogue.render(slots):
                notes.append("this model is conditioned on the slots, not on the wording: the edited prompt "
                             "does not change the clip")
            settings.slots = slots = conditioned
        return slots, self.catalogue.labels_source(slots, prompt, conditioned is not None, reads_prompt)

    @staticmethod
    def _preview_note(family, pipe, notes: list[str]) -> bool:
        """True when this checkpoint can be previewed; otherwise add the note saying why not."""
        spec, note = family.preview_spec(pipe)
        if note:
            notes.append(note)
        return spec is not None

    def unload(self) -> bool:
        """Drop this engine's cached model after any generation in progress; True when one was held.

        Waiting for the engine's lock means the model is never dropped under a running generation
        (which would keep its reference, so the next load would hold a second copy in memory)."""
        with self._lock:
            return self.cache.clear()

    def _default_path(self, model_id: str, seed: int) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        safe_model = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(model_id).name)
        return self.output_dir / f"{stamp}_{safe_model}_seed{seed}.mp4"

    @staticmethod
    def _provenance(request, slots, labels_source: str, settings, loaded, image_sha256: str,
                    adapters: list[ResolvedAdapter]) -> dict:
        return {
            "synthetic": True,  # every clip is tagged synthetic, per the compliance rules
            "created_utc": datetime.now(timezone.utc).isoformat(),
            "slots": asdict(slots) if slots else None,
            # "template" / "conditioning": the labels say what conditioned the model; "user_asserted": a
            # typed prompt conditioned it and the labels are the user's word (see Catalogue.labels_source).
            "labels_source": labels_source,
            "settings": {k: v for k, v in asdict(settings).items() if k not in ("adjustments", "slots", "notes")},
            "model": {"id": loaded.model.id, "family": loaded.model.family, "version": loaded.model.version,
                      "folder": str(loaded.model.folder),
                      "origin": loaded.model.origin, "weights_sha256": loaded.weights_hash},
            "adapters": [{"name": a.name, "scale": a.scale, "path": str(a.path), "sha256": a.sha256} for a in adapters],
            "input_image_sha256": image_sha256,
            "device": loaded.device,
            "dtype": loaded.dtype,
            "libraries": library_versions(),
        }


def frames_fingerprint(frames: np.ndarray) -> str:
    """SHA-256 of a clip's pixels, for determinism checks and audit records."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest()
