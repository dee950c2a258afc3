"""LoRA adapters for one generation, through diffusers' pipeline-level LoRA loader.

Accepted file layouts (safetensors only; diffusers converts the community ones on load):
- diffusers, as `save_lora_weights` writes it: `transformer.blocks.0.attn1.to_q.lora_A.weight`, with the
  LoRA config (rank, alpha) in the file's metadata — every transformer family;
- original Wan / musubi-tuner / ComfyUI: `diffusion_model.blocks.0.self_attn.q.lora_down.weight`,
  `.lora_up.weight`, `.alpha` — Wan;
- LTX-Video trainer: `diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight` — LTX;
- bare PEFT keys: `blocks.0.attn1.to_q.lora_A.weight` — any denoiser with diffusers' peft integration
  (also the embedded default model and SVD's UNet, whose pipelines have no LoRA loader).

The pipeline loader gets the file path, not a loaded dict, so the metadata is read. A denoiser the
pipeline loader did not reach (bare keys, or a pipeline without a loader) gets the file directly with
`load_lora_adapter(prefix=None)`. Wan 2.2 A14B's second expert (`transformer_2`) gets every adapter too.
Adapters are attached for one generation and deleted afterwards (and emptied LoRA layers unloaded), so
nothing leaks into the next request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ValidationError
from core.hash_cache import read_sha256
from core.paths import data_dir
from core.request import AdapterSpec

# What diffusers' loaders raise for a file that does not fit (conversion, peft injection, shape checks).
_LOAD_ERRORS = (ValueError, KeyError, RuntimeError, IndexError, TypeError, AttributeError)
_LAYOUT_PREFIXES = ("transformer.", "diffusion_model.")
_LORA_SUFFIX = re.compile(r"\.(lora_A|lora_B|lora_down|lora_up|lora)(\.[^.]+)*$|\.(alpha|diff|diff_b|dora_scale)$")


def adapters_dir() -> Path:
    """Where adapters are looked up by bare name: <data dir>/adapters/<name>.safetensors."""
    return data_dir() / "adapters"


@dataclass(frozen=True)
class ResolvedAdapter:
    name: str
    scale: float
    path: Path
    sha256: str


def resolve_adapter(spec: AdapterSpec, search_dirs: list[Path] | None = None) -> ResolvedAdapter:
    """Find an adapter file by name (in the adapters folders) or by explicit .safetensors path."""
    candidates: list[Path] = []
    as_path = Path(spec.name).expanduser()
    if as_path.suffix == ".safetensors" or as_path.is_dir():
        candidates.append(as_path / "adapter_model.safetensors" if as_path.is_dir() else as_path)
    for folder in search_dirs or [adapters_dir()]:
        candidates += [folder / f"{spec.name}.safetensors", folder / spec.name / "adapter_model.safetensors"]
    for path in candidates:
        if path.is_file():
            digest = read_sha256(path)  # streamed: a LoRA may be hundreds of MB
            stem = path.parent.name if path.name == "adapter_model.safetensors" else path.stem
            # peft uses the adapter name as a module-dict key, so keep it to identifier characters.
            safe_name = "".join(c if c.isalnum() else "_" for c in stem)
            return ResolvedAdapter(safe_name, float(spec.scale), path, digest)
    looked = ", ".join(str(p) for p in candidates)
    raise ValidationError(f"adapter '{spec.name}' not found; looked for {looked}. "
                          "Put LoRA weights (safetensors) there or pass the file path.")


def _file_modules(path: Path) -> set[str]:
    """The module paths a LoRA file holds down/A matrices for, layout prefixes dropped ('blocks.0.attn1.to_q')."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        keys = list(handle.keys())
    modules = set()
    for key in keys:
        if not re.search(r"\.(lora_A|lora_down)\.", key):
            continue
        for prefix in _LAYOUT_PREFIXES:
            key = key.removeprefix(prefix)
        modules.add(_LORA_SUFFIX.sub("", key))
    return modules


def target_modules(path: Path, limit: int = 6) -> str:
    """The modules a LoRA file targets, block numbers as `*` ('blocks.*.attn1.to_q')."""
    shown = sorted({re.sub(r"\.\d+(?=\.|$)", ".*", module) for module in _file_modules(path)})
    return ", ".join(shown[:limit]) + (f", ... ({len(shown)} in all)" if len(shown) > limit else "")


def _has(denoiser: Any, name: str) -> bool:
    return name in (getattr(denoiser, "peft_config", None) or {})


class _ExpectedLoadLogs(logging.Filter):
    """Drops diffusers' log lines this module answers itself, so a bad adapter prints one sentence only."""

    EXPECTED = ("No LoRA keys associated",  # the bare-key fallback below handles these files
                "was unsuccessful with the following error")  # re-raised as our ValidationError

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(text in record.getMessage() for text in self.EXPECTED)


@contextmanager
def _quiet_expected_logs() -> Iterator[None]:
    logger, expected = logging.getLogger("diffusers.loaders.peft"), _ExpectedLoadLogs()
    logger.addFilter(expected)
    try:
        yield
    finally:
        logger.removeFilter(expected)


def _load_one(pipe: Any, denoisers: list[Any], adapter: ResolvedAdapter) -> None:
    """Attach one adapter file to every denoiser; raises what diffusers raises for a file that does not fit."""
    path, name = str(adapter.path), adapter.name
    options = {"adapter_name": name, "use_safetensors": True, "local_files_only": True}
    if hasattr(pipe, "load_lora_weights"):
        pipe.load_lora_weights(path, **options)
        if getattr(pipe, "transformer_2", None) is not None:  # Wan 2.2 A14B: the low-noise expert too
            pipe.load_lora_weights(path, load_into_transformer_2=True, **options)
    for denoiser in denoisers:
        # The pipeline loader skips keys without its component prefix (bare PEFT keys): load them directly.
        # `_pipeline` is what diffusers' own loaders pass, so CPU-offload hooks are lifted during the load.
        if not _has(denoiser, name):
            denoiser.load_lora_adapter(path, prefix=None, _pipeline=pipe, **options)
        if not _has(denoiser, name):
            raise ValueError("no LoRA weights for this denoiser")
        # peft skips target modules a model lacks with a warning only; a LoRA that lands partly is refused.
        expected = len(_file_modules(adapter.path))
        if (found := _injected(denoiser, name)) < expected:
            raise _PartialFit(found, expected)


class _PartialFit(ValueError):
    """Fewer LoRA layers landed in a denoiser than the file targets."""

    def __init__(self, found: int, expected: int) -> None:
        super().__init__(f"only {found} of its {expected} target modules are in this model")
        self.found, self.expected = found, expected


def _injected(denoiser: Any, name: str) -> int:
    """How many modules of `denoiser` carry LoRA layer `name` (peft's `lora_A` dict per wrapped layer)."""
    return sum(1 for module in denoiser.modules() if name in (getattr(module, "lora_A", None) or {}))


def _misfit(adapter: ResolvedAdapter, model_id: str, exc: Exception) -> ValidationError:
    """The one sentence for a LoRA file that does not fit the model."""
    try:
        targets = target_modules(adapter.path)
    except Exception:  # not a readable safetensors file at all  # noqa: BLE001
        return ValidationError(f"adapter '{adapter.name}' ({adapter.path}) is not a readable safetensors LoRA file.")
    if isinstance(exc, _PartialFit):
        return ValidationError(f"adapter '{adapter.name}' does not fit model '{model_id}': only {exc.found} of "
                               f"its {exc.expected} target modules ({targets}) are in this model.")
    if "size mismatch" in str(exc):
        return ValidationError(f"adapter '{adapter.name}' does not fit model '{model_id}': its target modules "
                               f"({targets}) have other shapes in this model (a LoRA for another model size?).")
    return ValidationError(f"adapter '{adapter.name}' does not fit model '{model_id}': its target modules "
                           f"({targets}) are not in this model.")


def _remove(pipe: Any, denoisers: list[Any], names: list[str]) -> None:
    """Delete `names` everywhere, then unload LoRA layers left empty so the next request runs the bare model."""
    if hasattr(pipe, "delete_adapters"):
        pipe.delete_adapters(names)
    for denoiser in denoisers:  # also denoisers outside the pipeline loader's components (no-op if gone)
        if hasattr(denoiser, "delete_adapters"):
            denoiser.delete_adapters(names)
        if getattr(denoiser, "_hf_peft_config_loaded", False) and not getattr(denoiser, "peft_config", None):
            denoiser.unload_lora()


@contextmanager
def applied_adapters(pipe: Any, denoisers: list[Any], model_id: str,
                     adapters: list[ResolvedAdapter]) -> Iterator[None]:
    """Attach `adapters` with their scales to every denoiser of `pipe` for the block, then remove them.

    `denoisers` are the family's denoising networks (both Wan 2.2 experts); `model_id` names the model in
    errors. Raises ValidationError (one sentence) for a repeated adapter, a model without LoRA support,
    or a file that does not fit the model.
    """
    if not adapters:
        yield
        return
    from safetensors import SafetensorError

    if missing := [type(d).__name__ for d in denoisers if not hasattr(d, "load_lora_adapter")]:
        raise ValidationError(f"model '{model_id}' does not support LoRA adapters: its denoiser "
                              f"({', '.join(missing)}) has no LoRA loader in this diffusers version.")
    names: list[str] = []
    try:
        for adapter in adapters:
            if adapter.name in names:
                raise ValidationError(f"adapter '{adapter.name}' is listed twice; give each adapter once.")
            names.append(adapter.name)  # before loading, so a half-loaded adapter is removed too
            try:
                with _quiet_expected_logs():
                    _load_one(pipe, denoisers, adapter)
            except _LOAD_ERRORS + (OSError, SafetensorError) as exc:
                raise _misfit(adapter, model_id, exc) from None
        scales = [a.scale for a in adapters]
        if hasattr(pipe, "set_adapters"):
            pipe.set_adapters(names, adapter_weights=scales)
        else:
            for denoiser in denoisers:
                denoiser.set_adapters(names, weights=scales)
        yield
    finally:
        if names:
            _remove(pipe, denoisers, names)
