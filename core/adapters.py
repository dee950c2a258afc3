"""LoRA adapters on a pipeline's denoiser, through diffusers' peft integration.

Adapters are safetensors files in PEFT layout (keys like `blocks.0.attn.to_q.lora_A.weight`). They
are attached for one generation and removed afterwards, so nothing leaks into the next request.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from core.errors import ValidationError
from core.paths import data_dir
from core.request import AdapterSpec


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
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            stem = path.parent.name if path.name == "adapter_model.safetensors" else path.stem
            # peft uses the adapter name as a module-dict key, so keep it to identifier characters.
            safe_name = "".join(c if c.isalnum() else "_" for c in stem)
            return ResolvedAdapter(safe_name, float(spec.scale), path, digest)
    looked = ", ".join(str(p) for p in candidates)
    raise ValidationError(f"adapter '{spec.name}' not found; looked for {looked}. "
                          "Put LoRA weights (safetensors) there or pass the file path.")


@contextmanager
def applied_adapters(denoiser: Any, adapters: list[ResolvedAdapter]) -> Iterator[None]:
    """Attach `adapters` to `denoiser` with their scales for the duration of the block, then remove them."""
    if not adapters:
        yield
        return
    if not hasattr(denoiser, "load_lora_adapter"):
        raise ValidationError(f"this model's denoiser ({type(denoiser).__name__}) does not support LoRA adapters.")
    from safetensors.torch import load_file

    names = []
    try:
        for adapter in adapters:
            if adapter.name in names:
                raise ValidationError(f"adapter '{adapter.name}' is listed twice; give each adapter once.")
            try:
                denoiser.load_lora_adapter(load_file(str(adapter.path)), prefix=None, adapter_name=adapter.name)
            except (ValueError, KeyError, RuntimeError) as exc:
                raise ValidationError(f"adapter '{adapter.name}' does not fit this model: {exc}") from None
            names.append(adapter.name)
        denoiser.set_adapters(names, weights=[a.scale for a in adapters])
        yield
    finally:
        if names:
            denoiser.delete_adapters(names)
