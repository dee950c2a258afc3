"""Safe pipeline loading, with one cache that holds one model at a time.

Security rules (a model folder is untrusted input):
- weights load as safetensors only (`use_safetensors=True`); pickled .bin/.pt files are never read;
- a folder holding any `.py` file is refused, and no `custom_pipeline` or remote code is ever used;
- every component in model_index.json must come from diffusers, transformers or this package, so a
  crafted model_index.json cannot make diffusers import an arbitrary module;
- every file is resolved through its links and must stay inside the folder (`core.model_folder`), and
  the `.py` check and the weights hash read that same resolved list, so nothing loads unseen; the hash
  covers the files the load opens (model_index.json, component configs, the chosen variant's weights).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelUnavailableError, ValidationError
from core.families import get_family
from core.model_folder import detect_variant, folder_files, pipeline_components, weights_hash
from core.registry import COMPONENT_DTYPES, ResolvedModel

log = logging.getLogger(__name__)

ALLOWED_COMPONENT_LIBRARIES = ("diffusers", "transformers", "core.default_model")
DTYPES = ("auto", *COMPONENT_DTYPES)
DEVICES = ("auto", "cuda", "mps", "cpu")


@dataclass(frozen=True)
class LoadOptions:
    """How to place the model. `auto` device is cuda, then mps, then cpu. `auto` dtype is, on cuda, the
    registry's per-component dtypes for the model (bf16 where it has none), and fp32 elsewhere."""

    device: str = "auto"
    dtype: str = "auto"
    cpu_offload: bool = False
    vae_tiling: bool = False
    vae_slicing: bool = False
    compile: bool = False

    def validate(self) -> None:
        if self.device not in DEVICES:
            raise ValidationError(f"unknown device '{self.device}'; allowed values: {', '.join(DEVICES)}.")
        if self.dtype not in DTYPES:
            raise ValidationError(f"unknown dtype '{self.dtype}'; allowed values: {', '.join(DTYPES)}.")


def pick_device(requested: str = "auto") -> str:
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise ValidationError("device 'cuda' was requested but no CUDA GPU is available; use --device cpu or auto.")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str, component_dtypes: tuple[tuple[str, str], ...] = ()):
    """A torch dtype, or diffusers' per-component dict ({"vae": torch.float32, "default": ...}).

    An explicit `--dtype` applies to every component. `auto` on a CPU (or MPS) is float32 throughout:
    half precision there is slow or unsupported for several video VAE ops.
    """
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device != "cuda":
        return torch.float32
    by_component = {name: getattr(torch, dtype) for name, dtype in component_dtypes}
    if set(by_component) - {"default"}:
        return {"default": torch.bfloat16, **by_component}
    return by_component.get("default", torch.bfloat16)


def dtype_label(dtype) -> str:
    """'bfloat16', or 'bfloat16 (vae: float32, image_encoder: float32)' for a per-component dict."""
    if not isinstance(dtype, dict):
        return str(dtype).replace("torch.", "")
    default = str(dtype["default"]).replace("torch.", "")
    others = ", ".join(f"{name}: {str(d).replace('torch.', '')}" for name, d in dtype.items() if name != "default")
    return f"{default} ({others})"


def check_model_folder(folder: Path) -> dict:
    """Refuse unsafe or incomplete pipeline folders before diffusers sees them; return model_index.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelUnavailableError(f"model folder '{folder}' does not exist.")
    # Both names count: the one diffusers sees in the folder and the file a link resolves to.
    python_files = [f.relative for f in folder_files(folder) if ".py" in (f.relative.suffix, f.resolved.suffix)]
    if python_files:
        raise ValidationError(f"model folder '{folder}' holds Python code ({python_files[0]}); "
                              "folders with .py files are refused because model code is never executed.")
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        raise ModelUnavailableError(f"'{folder}' is not a diffusers pipeline folder: model_index.json is missing.")
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelUnavailableError(f"model_index.json in '{folder}' is not valid JSON ({exc}).") from None
    for name in pipeline_components(index):
        spec = index[name]
        library = str(spec[0])
        if not any(library == allowed or library.startswith(allowed + ".") for allowed in ALLOWED_COMPONENT_LIBRARIES):
            raise ValidationError(f"component '{name}' in '{folder}' comes from library '{library}'; "
                                  f"only {', '.join(ALLOWED_COMPONENT_LIBRARIES)} are allowed.")
        component_dir = folder / name
        has_config = any((component_dir / f).is_file() for f in ("config.json", "scheduler_config.json",
                                                                 "tokenizer.json", "tokenizer_config.json",
                                                                 "preprocessor_config.json"))
        if not component_dir.is_dir() or not has_config:
            raise ModelUnavailableError(f"component '{name}' is missing from '{folder}' (looked for {component_dir}).")
        if (component_dir / "config.json").is_file() and "Scheduler" not in str(spec[1]) \
                and "Processor" not in str(spec[1]) and not list(component_dir.glob("*.safetensors")):
            if list(component_dir.glob("*.bin")) or list(component_dir.glob("*.pt")):
                raise ValidationError(f"component '{name}' in '{folder}' has only pickled weights (.bin/.pt); "
                                      "convert them to safetensors, since pickles can execute code.")
            raise ModelUnavailableError(f"weights for component '{name}' are missing: no .safetensors file in {component_dir}.")
    return index


@dataclass
class LoadedModel:
    model: ResolvedModel
    pipe: Any
    device: str
    dtype: str
    weights_hash: str
    options: LoadOptions
    notes: list[str]  # options that were asked for but skipped on this family/device


class PipelineCache:
    """Holds one loaded pipeline. Asking for another model frees the previous one first.

    `run_lock` is held by whoever runs the held pipeline (Engine.generate, Engine.unload): every engine
    sharing this cache shares it, so one engine can never evict the model under another's run.
    """

    def __init__(self) -> None:
        self.run_lock = threading.Lock()
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._key: tuple | None = None

    def get(self, model: ResolvedModel, options: LoadOptions) -> LoadedModel:
        key = (str(model.folder), options)
        with self._lock:
            if self._key == key and self._loaded is not None:
                return self._loaded
            self.clear_locked()
            self._loaded = _load(model, options)
            self._key = key
            return self._loaded

    @property
    def loaded_model_id(self) -> str | None:
        """The id of the model held now, or None (the Settings page and tests read it)."""
        loaded = self._loaded
        return loaded.model.id if loaded is not None else None

    def clear(self) -> bool:
        """Drop the held model; True when one was held. Callers that share the cache with running
        generations go through Engine.unload (and the studio through its gate), never here directly."""
        with self._lock:
            return self.clear_locked()

    def clear_locked(self) -> bool:
        if self._loaded is None:
            return False
        self._loaded = None
        self._key = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
        return True


def _quiet_library_progress_bars() -> None:
    """diffusers/transformers print loading bars on stderr; the studio reports its own progress."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def _load(model: ResolvedModel, options: LoadOptions) -> LoadedModel:
    """Check, hash, load and place `model`, with the weights variant its files hold (`detect_variant`)."""
    options.validate()
    check_model_folder(model.folder)
    variant = detect_variant(model.folder)  # e.g. an SVD folder holding only *.fp16.safetensors
    # Both hashes read file digests from the persistent cache (core.hash_cache): the first reads each file
    # once on a model's first load ever, the second is then a stat per file. Only the loaded files count.
    hash_before = weights_hash(model.folder, variant)
    family = get_family(model.family)
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device, model.dtypes)
    log.info("loading %s (%s) from %s on %s/%s", model.id, model.family, model.folder, device, dtype_label(dtype))
    _quiet_library_progress_bars()
    try:
        pipe = family.pipeline_class().from_pretrained(str(model.folder), use_safetensors=True, dtype=dtype,
                                                       local_files_only=True, variant=variant)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelUnavailableError(f"model '{model.id}' could not be loaded from '{model.folder}': {exc}") from None
    notes = family.apply_runtime_options(pipe, device, cpu_offload=options.cpu_offload,
                                         vae_tiling=options.vae_tiling, vae_slicing=options.vae_slicing,
                                         compile=options.compile)
    pipe.set_progress_bar_config(disable=True)
    # Hashing before and after brackets the load: a file swapped meanwhile would make the recorded
    # hash describe bytes that were not the ones loaded.
    if weights_hash(model.folder, variant) != hash_before:
        raise ModelUnavailableError(f"model '{model.id}' changed on disk while it loaded; load it again.")
    return LoadedModel(model=model, pipe=pipe, device=device, dtype=dtype_label(dtype),
                       weights_hash=hash_before, options=options, notes=notes)


# The process-wide cache used by the engine, the CLI and the studio.
PIPELINE_CACHE = PipelineCache()
