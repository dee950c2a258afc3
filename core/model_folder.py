"""What a model folder holds, with every link resolved: the one view the safety checks and the hash read.

A model folder is untrusted input. diffusers opens its files by path and follows symbolic links, so a
link can make weights load from anywhere on disk. `folder_files` walks the folder *following* links,
resolves every entry, and refuses any entry that resolves outside the folder, naming the component.

Links that stay inside are allowed, because the Hugging Face cache is built of them: a snapshot
(`models--org--name/snapshots/<rev>/...`) links every file to `models--org--name/blobs/<sha>`. For a
snapshot, "inside" therefore means inside its `models--org--name` folder (`containment_root`); for
every other folder it means the folder itself.

Because the `.py` check and `weights_hash` read the same resolved list that diffusers then opens, no
file is loaded that the check did not see or the hash did not cover. The hash takes from that list only
the files a load opens (`loaded_files`: model_index.json, each listed component's configs and the
safetensors of the chosen variant), so other variants and stray checkpoints beside the pipeline cost
nothing; file digests come from the persistent cache in `core.hash_cache`.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelUnavailableError, ValidationError
from core.hash_cache import FileHashCache

MAX_DEPTH = 16  # a pipeline folder is two levels deep; more means a link chain nobody needs


@dataclass(frozen=True)
class FolderFile:
    """One file of a model folder: its name as diffusers opens it, and the file actually read."""

    relative: Path
    resolved: Path


def containment_root(folder: Path) -> Path:
    """The folder every file of `folder` must resolve into (see the module docstring)."""
    folder = Path(folder).resolve()
    repo = folder.parent.parent
    if folder.parent.name == "snapshots" and repo.name.startswith("models--") and (repo / "blobs").is_dir():
        return repo
    return folder


def _resolve_inside(folder: Path, relative: Path, root: Path) -> Path:
    """Resolve one entry, or raise one sentence naming its component."""
    component = relative.parts[0] if relative.parts else "."
    try:
        resolved = (folder / relative).resolve(strict=True)
    except FileNotFoundError:
        raise ValidationError(f"component '{component}' in model folder '{folder}' has a link to a missing "
                              f"file ({relative}).") from None
    except (RuntimeError, OSError) as exc:  # Python raises RuntimeError on a symlink loop
        raise ValidationError(f"component '{component}' in model folder '{folder}' could not be resolved "
                              f"({relative}: {exc}).") from None
    if not resolved.is_relative_to(root):
        raise ValidationError(f"component '{component}' in model folder '{folder}' leads outside it "
                              f"({relative} -> {resolved}); links must stay inside the model folder.")
    return resolved


def folder_files(folder: Path) -> list[FolderFile]:
    """Every file under `folder`, links followed and resolved, sorted by relative path.

    Raises ValidationError for an entry that resolves outside `containment_root(folder)`, a dangling
    link, a link loop, or anything that is neither a file nor a folder.
    """
    folder = Path(folder)
    root = containment_root(folder)
    files: list[FolderFile] = []
    # Each pending folder carries the resolved folders above it, so a link back up is a loop, not a hang.
    pending: list[tuple[Path, tuple[Path, ...]]] = [(Path(), ())]
    while pending:
        relative_dir, ancestors = pending.pop()
        real_dir = _resolve_inside(folder, relative_dir, root)
        if real_dir in ancestors or len(ancestors) > MAX_DEPTH:
            raise ValidationError(f"model folder '{folder}' has a link loop at '{relative_dir}'.")
        for child in sorted((folder / relative_dir).iterdir()):
            relative = relative_dir / child.name
            resolved = _resolve_inside(folder, relative, root)
            if resolved.is_dir():
                pending.append((relative, ancestors + (real_dir,)))
            elif resolved.is_file():
                files.append(FolderFile(relative, resolved))
            else:
                raise ValidationError(f"'{relative}' in model folder '{folder}' is not a regular file.")
    return sorted(files, key=lambda f: f.relative.parts)  # the order Path sorts in, as the hash always used


def pipeline_components(index: dict) -> list[str]:
    """The components diffusers loads from a model_index.json: every `name: [library, class]` entry whose
    library is set (a `[null, null]` entry is an optional component left out; `_` keys are metadata)."""
    return [name for name, spec in index.items()
            if not name.startswith("_") and isinstance(spec, list) and spec and spec[0] is not None]


# ----- which files a load opens -----

OTHER_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".msgpack", ".h5", ".onnx", ".onnx_data", ".gguf", ".pb")
_SHARD_TAG = re.compile(r"-\d{5}-of-\d{5}$")


def _is_index(name: str) -> bool:
    parts = name.split(".")
    return name.endswith(".json") and "index" in parts[1:]


def weights_variant(name: str) -> str | None:
    """The variant a safetensors weights or index file belongs to, by the names diffusers and transformers
    write: `model.safetensors` and `diffusion_pytorch_model-00001-of-00002.safetensors` -> None;
    `model.fp16.safetensors`, `model.fp16-00001-of-00002.safetensors` (and the legacy
    `...-00001-of-00002.fp16.safetensors`), `*.safetensors.index.fp16.json` (and the legacy
    `*.safetensors.fp16.index.json`) -> "fp16"."""
    tags = [_SHARD_TAG.sub("", part) for part in name.split(".")[1:]]
    tags = [tag for tag in tags if tag not in ("safetensors", "index", "json", "")]
    return ".".join(tags) or None


def _selected_weights(component: str, files: dict[str, FolderFile], variant: str | None) -> set[str]:
    """Names (relative to the folder) of the safetensors files and index a load of `component` may open:
    the shards each index names, and every single file, of `variant`. Both, because diffusers prefers the
    index and transformers the single file when a folder holds the two."""
    chosen: set[str] = set()
    for name, entry in files.items():
        base = entry.relative.name
        if entry.relative.parent.as_posix() != component or weights_variant(base) != variant:
            continue
        if base.endswith(".safetensors"):
            chosen.add(name)
        elif _is_index(base) and ".safetensors" in base:
            chosen.add(name)
            chosen.update(_shards(component, entry, files))
    return chosen


def _shards(component: str, index: FolderFile, files: dict[str, FolderFile]) -> set[str]:
    """The shard files a `*.safetensors.index*.json` names; each must be a file of this folder."""
    try:
        weight_map = json.loads(index.resolved.read_text(encoding="utf-8"))["weight_map"]
        shard_names = {str(shard) for shard in weight_map.values()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelUnavailableError(f"component '{component}': the shard index '{index.relative}' is not a "
                                    f"valid safetensors index ({exc}).") from None
    names = {posixpath.normpath(f"{component}/{shard}") for shard in shard_names}
    missing = sorted(name for name in names if name not in files)
    if missing:
        raise ModelUnavailableError(f"component '{component}': the shard index '{index.relative}' names "
                                    f"'{missing[0]}', which is not a file of the model folder.")
    return names


def _is_component_file(name: str) -> bool:
    """Config, scheduler, tokenizer and preprocessor files: everything but weights and weight indexes."""
    return not (name.endswith(".safetensors") or _is_index(name) or name.endswith(OTHER_WEIGHT_SUFFIXES))


def loaded_files(folder: Path, variant: str | None = None) -> list[FolderFile]:
    """The files loading the pipeline in `folder` opens, from the resolved list of `folder_files`, sorted:
    model_index.json; for each component, the files directly in its folder that are not weights, and its
    safetensors weights of `variant` (or the plain ones where a component has none of that variant, as
    diffusers falls back). Other variants, pickled weights, stray files and folders not in model_index.json
    are left out. Raises ValidationError as `folder_files` does, ModelUnavailableError for a missing or
    invalid model_index.json or shard index."""
    files = {entry.relative.as_posix(): entry for entry in folder_files(folder)}
    index_entry = files.get("model_index.json")
    if index_entry is None:
        raise ModelUnavailableError(f"'{folder}' is not a diffusers pipeline folder: model_index.json is missing.")
    try:
        index = json.loads(index_entry.resolved.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelUnavailableError(f"model_index.json in '{folder}' is not valid JSON ({exc}).") from None
    chosen = {"model_index.json"}
    for component in pipeline_components(index if isinstance(index, dict) else {}):
        chosen.update(name for name, entry in files.items()
                      if entry.relative.parent.as_posix() == component and _is_component_file(entry.relative.name))
        weights = _selected_weights(component, files, variant) if variant is not None else set()
        chosen.update(weights or _selected_weights(component, files, None))
    return [files[name] for name in sorted(chosen, key=lambda name: Path(name).parts)]


def weights_hash(folder: Path, variant: str | None = None) -> str:
    """SHA-256 over every file a load of `folder` opens (`loaded_files`): each one's name in the folder and
    the SHA-256 of the bytes it resolves to, in sorted order. File digests come from the persistent
    `core.hash_cache`, so a folder hashed before costs a stat per file."""
    digest = hashlib.sha256()
    with FileHashCache() as cache:
        for entry in loaded_files(folder, variant):
            digest.update(entry.relative.as_posix().encode() + b"\0")
            digest.update(cache.sha256(entry.resolved).encode() + b"\0")
    return digest.hexdigest()


_WEIGHT_STEMS = ("diffusion_pytorch_model", "model")  # the names diffusers and transformers save weights as


def weight_variants(folder: Path) -> dict[str, set[str | None]]:
    """Per component folder, the weight variants it holds (None for plain files), e.g. {"unet": {"fp16"}}.

    Only files named as `save_pretrained` names weights count (a LoRA or other file beside them does not);
    the variant is read from the name by `weights_variant`, the rule the hash uses too."""
    variants: dict[str, set[str | None]] = {}
    for entry in folder_files(folder):
        name = entry.relative.name
        stem = _SHARD_TAG.sub("", name.split(".")[0])
        if len(entry.relative.parts) == 2 and name.endswith(".safetensors") and stem in _WEIGHT_STEMS:
            variants.setdefault(entry.relative.parts[0], set()).add(weights_variant(name))
    return variants


def detect_variant(folder: Path, preferred: str | None = None) -> str | None:
    """The weights `variant=` to load `folder` with, read from the files present.

    `huggingface-cli download` with a card's `variant="fp16"` filter leaves only `*.fp16.safetensors`
    files, which diffusers finds only when told the variant. Plain files win when every component has
    them, unless `preferred` is given and every component has that variant. Raises ValidationError when
    no single variant covers every component (each component must load the same way).
    """
    variants = weight_variants(folder)
    if not variants:
        return None
    if preferred is not None and all(preferred in held for held in variants.values()):
        return preferred
    if all(None in held for held in variants.values()):
        return None
    common = set.intersection(*variants.values()) - {None}
    if len(common) == 1:
        return common.pop()
    if common:  # several variants in every component, no plain files: a stable, documented choice
        return min(common)
    listing = "; ".join(f"{name}: {', '.join(sorted(v or 'plain' for v in held))}"
                        for name, held in sorted(variants.items()))
    raise ValidationError(f"model folder '{folder}' has no weights variant shared by every component ({listing}); "
                          "download the same variant of every component.")
