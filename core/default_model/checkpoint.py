"""Training checkpoints as safetensors plus JSON: no pickle, so reading a checkpoint cannot run code.

A checkpoint is a nested structure of dicts, lists, numbers, strings and tensors (model and optimizer
state dicts, a random generator's state). `save_checkpoint(base, state)` writes every tensor to
`base.safetensors` under its path in the structure, and the rest to `base.json`, where each tensor
is a `{"__tensor__": key}` reference. Dicts keyed by integers (an optimizer's per-parameter state)
are marked, since JSON keys are strings.

The JSON file is written last and records the SHA-256 of the tensor file, so a run killed between
the two writes leaves a pair that `load_checkpoint` refuses rather than mixes. Both writes are atomic.
Pickled `.pt` checkpoints from earlier versions are never loaded: they are refused with a sentence.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from core.atomic import atomic_path, write_json_atomic
from core.errors import ValidationError

TENSOR_KEY = "__tensor__"
INT_KEYS = "__int_keys__"
FORMAT = "scenario-studio-checkpoint/1"


def _split(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """`value` with its tensors moved into `tensors` (cloned: safetensors refuses shared storage)."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().clone().contiguous()
        return {TENSOR_KEY: key}
    if isinstance(value, dict):
        items = {str(k): _split(v, f"{key}/{k}", tensors) for k, v in value.items()}
        if value and all(isinstance(k, int) for k in value):
            return {INT_KEYS: items}
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"checkpoint dict at '{key}' has keys that are neither all str nor all int.")
        return items
    if isinstance(value, (list, tuple)):  # a tuple comes back as a list (optimizer betas work either way)
        return [_split(v, f"{key}/{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"checkpoint value at '{key}' is a {type(value).__name__}; only tensors, numbers, "
                    "strings, lists and dicts are stored.")


def _join(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if set(value) == {TENSOR_KEY}:
            return tensors[value[TENSOR_KEY]]
        if set(value) == {INT_KEYS}:
            return {int(k): _join(v, tensors) for k, v in value[INT_KEYS].items()}
        return {k: _join(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_exists(base: Path) -> bool:
    """True when a checkpoint (or a refused old pickle) lies at `base`; `load_checkpoint` decides which."""
    base = Path(base)
    return base.with_suffix(".json").exists() or base.with_suffix(".pt").exists()


def save_checkpoint(base: Path, state: dict[str, Any]) -> None:
    """Write `state` to `base.safetensors` and `base.json` (atomically, JSON last)."""
    from safetensors.torch import save_file

    base = Path(base)
    tensors: dict[str, torch.Tensor] = {}
    structure = _split(state, "", tensors)
    tensor_path = base.with_suffix(".safetensors")
    with atomic_path(tensor_path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp))
    write_json_atomic(base.with_suffix(".json"), {"format": FORMAT, "tensors_sha256": _sha256(tensor_path),
                                                   "state": structure})


def load_checkpoint(base: Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; one sentence for an old pickle or a torn pair."""
    from safetensors.torch import load_file

    base = Path(base)
    json_path, tensor_path = base.with_suffix(".json"), base.with_suffix(".safetensors")
    if not json_path.exists() and base.with_suffix(".pt").exists():
        raise ValidationError(f"checkpoint '{base.with_suffix('.pt')}' is a pickle from an earlier version and "
                              "is never loaded (pickles can run code); delete it to train this stage afresh.")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"checkpoint '{json_path}' could not be read ({exc}).") from None
    if meta.get("format") != FORMAT or not tensor_path.is_file() or _sha256(tensor_path) != meta.get("tensors_sha256"):
        raise ValidationError(f"checkpoint '{json_path}' does not match its tensor file '{tensor_path.name}' "
                              "(a run stopped while saving); delete both to train this stage afresh.")
    return _join(meta["state"], load_file(str(tensor_path)))
