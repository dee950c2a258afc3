"""The model registry (configs/models.yaml) and resolving `--model` to a local folder.

`--model` takes a registry id or a path to a local diffusers pipeline folder. Hub ids in the
registry resolve only to files already in the local Hugging Face cache; nothing is downloaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ModelUnavailableError, ValidationError
from core.families import FAMILIES, family_for_class_name
from core.families.base import ModelDefaults
from core.paths import CONFIGS_DIR, PROJECT_ROOT

REGISTRY_FILE = CONFIGS_DIR / "models.yaml"
COMPONENT_DTYPES = ("float32", "float16", "bfloat16")  # torch dtype names a registry entry may give


@dataclass(frozen=True)
class ModelEntry:
    """One registry entry. `source` is a folder (relative to the project root) or a hub id, per `source_kind`.

    published: the published checkpoint's config values that the family's rules read, by component
      (`transformer: {patch_size_t: 2}`); the Models page computes the rules from them before the
      weights are here (core.model_versions).
    identify: `component.field: value` pairs that tell this version's folder from its family's others.
    dtypes: torch dtype name per component with a "default" key (diffusers' dict `dtype`), used on a
      CUDA GPU when `--dtype auto`.
    """

    id: str
    family: str
    label: str
    source: str
    source_kind: str  # "folder" or "hub"
    defaults: ModelDefaults
    published: dict[str, dict[str, Any]] = field(default_factory=dict)
    identify: dict[str, Any] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: its id, family, local folder, defaults, and the registry version it is."""

    id: str
    family: str
    folder: Path
    defaults: ModelDefaults
    origin: str  # "registry folder", "hub cache" or "path"
    version: str | None = None  # the registry entry whose defaults it takes; None when unrecognised
    dtypes: tuple[tuple[str, str], ...] = ()  # (component, dtype name) pairs, "default" included
    notes: tuple[str, ...] = ()  # what the result should tell (e.g. an unrecognised version)


@dataclass(frozen=True)
class Availability:
    available: bool
    location: str
    reason: str = ""


def _parse_entry(item: dict, source: Path) -> ModelEntry:
    try:
        family = str(item["family"])
        if family not in FAMILIES:
            raise ValidationError(f"model '{item['id']}' in {source} has unknown family '{family}'; "
                                  f"allowed values: {', '.join(sorted(FAMILIES))}.")
        if ("folder" in item) == ("hub_id" in item):
            raise ValidationError(f"model '{item['id']}' in {source} needs exactly one of 'folder' or 'hub_id'.")
        kind = "folder" if "folder" in item else "hub"
        dtypes = {str(k): str(v) for k, v in (item.get("dtypes") or {}).items()}
        if bad := sorted(v for v in dtypes.values() if v not in COMPONENT_DTYPES):
            raise ValidationError(f"model '{item['id']}' in {source} has unknown dtype '{bad[0]}'; "
                                  f"allowed values: {', '.join(COMPONENT_DTYPES)}.")
        return ModelEntry(id=str(item["id"]), family=family, label=str(item.get("label", item["id"])),
                          source=str(item.get("folder") or item.get("hub_id")), source_kind=kind,
                          defaults=ModelDefaults(**item["defaults"]), published=dict(item.get("published") or {}),
                          identify=dict(item.get("identify") or {}),
                          dtypes=dtypes)
    except (KeyError, TypeError) as exc:
        raise ValidationError(f"a model entry in {source} is incomplete or malformed ({exc}).") from None


def load_registry(extra_files: list[Path] | None = None) -> dict[str, ModelEntry]:
    """Parse the built-in registry plus any user registry files; a duplicate id is an error."""
    entries: dict[str, ModelEntry] = {}
    for path in [REGISTRY_FILE, *(extra_files or [])]:
        path = Path(path)
        if not path.exists():
            continue
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in raw.get("models") or []:
            entry = _parse_entry(item, path)
            if entry.id in entries:
                raise ValidationError(f"duplicate model id '{entry.id}' in {path}; ids must be unique.")
            entries[entry.id] = entry
    return entries


def family_of_folder(folder: Path) -> str:
    """Read the pipeline family from a folder's model_index.json `_class_name`."""
    index = Path(folder) / "model_index.json"
    if not index.is_file():
        raise ModelUnavailableError(
            f"'{folder}' is not a diffusers pipeline folder: model_index.json is missing. "
            "Point --model at the folder that holds model_index.json (as written by save_pretrained).")
    try:
        class_name = json.loads(index.read_text(encoding="utf-8"))["_class_name"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelUnavailableError(f"model_index.json in '{folder}' is unreadable or has no _class_name ({exc}).") from None
    return family_for_class_name(class_name)


def _hub_cache_folder(repo_id: str) -> Path:
    """The cached snapshot folder of a hub id, without touching the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        raise ModelUnavailableError(
            f"weights for '{repo_id}' are not in the local Hugging Face cache and cannot be downloaded here; "
            f"download them elsewhere (huggingface-cli download {repo_id}), copy the folder into your models "
            "folder, and choose that folder as the model.") from None


def entry_folder(entry: ModelEntry) -> tuple[Path, str]:
    """Where a registry entry's weights live, and how they were found."""
    if entry.source_kind == "hub":
        return _hub_cache_folder(entry.source), "hub cache"
    candidate = Path(entry.source).expanduser()
    if not candidate.is_absolute():
        candidate = PROJECT_ROOT / candidate
    if candidate.exists():
        return candidate, "registry folder"
    raise ModelUnavailableError(f"model '{entry.id}' should be at '{candidate}', but that folder does not exist.")


def version_entry(folder: Path, family: str, registry: dict[str, ModelEntry]) -> tuple[ModelEntry, bool, str]:
    """The registry entry a bare folder takes its defaults from, whether its configs identified it as
    that version (else it is the family's first entry), and a note for the result ("" when certain)."""
    from core.model_versions import identify_version

    identified = identify_version(folder, family, registry)
    if identified.entry is not None:
        return identified.entry, True, identified.note
    for entry in registry.values():
        if entry.family == family:
            return entry, False, identified.note
    raise ValidationError(f"no registry entry of family '{family}' to take defaults from.")


def _resolved(entry: ModelEntry, model_id: str, folder: Path, origin: str, notes: tuple[str, ...] = (),
              version: str | None = None) -> ResolvedModel:
    return ResolvedModel(model_id, entry.family, folder, entry.defaults, origin, version=version,
                         dtypes=tuple(entry.dtypes.items()), notes=notes)


def resolve_model(model: str, registry: dict[str, ModelEntry] | None = None) -> ResolvedModel:
    """Turn a registry id or a folder path into a ResolvedModel, or raise one clear error."""
    registry = registry if registry is not None else load_registry()
    if model in registry:
        entry = registry[model]
        folder, origin = entry_folder(entry)
        return _resolved(entry, entry.id, folder, origin, version=entry.id)
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelUnavailableError(f"--model '{model}' is a file; give a diffusers pipeline folder or a registry id.")
        family = family_of_folder(path)
        entry, recognised, note = version_entry(path, family, registry)
        return _resolved(entry, str(path.resolve()), path.resolve(), "path", notes=(note,) if note else (),
                         version=entry.id if recognised else None)
    raise ValidationError(f"unknown model '{model}'; give a folder path or one of: {', '.join(sorted(registry))}.")


def availability(entry: ModelEntry) -> Availability:
    """Whether an entry's weights are present here, where they are, and why not when they are not."""
    try:
        folder, origin = entry_folder(entry)
        from core.loading import check_model_folder

        check_model_folder(folder)
        return Availability(True, f"{folder} ({origin})")
    except (ModelUnavailableError, ValidationError) as exc:
        return Availability(False, entry.source, str(exc))
