"""Checkpoint folders a user adds to the registry (the studio's Models page).

User entries live in `<data-dir>/models.yaml`, in the same layout as `configs/models.yaml`, and are
merged into the built-in registry with `load_registry(extra_files=[...])`. A folder is accepted only
when it lies inside the models folder (so the web UI cannot point the engine at arbitrary paths) and
passes the same safety checks as loading (`check_model_folder`: safetensors only, no Python files,
components from allowed libraries only, and every file, links resolved, inside the folder).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

import yaml

from core.atomic import write_text_atomic
from core.errors import ValidationError
from core.loading import check_model_folder
from core.model_folder import containment_root
from core.paths import ensure_inside
from core.registry import ModelEntry, family_of_folder, load_registry, version_entry

USER_REGISTRY_NAME = "models.yaml"
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HEADER = ("# Models added through the studio's Models page. Same layout as configs/models.yaml;\n"
           "# `defaults` and `dtypes` were copied from the built-in version its configs match (edit to taste).\n")


def user_registry_file(data_dir: Path) -> Path:
    return Path(data_dir) / USER_REGISTRY_NAME


def studio_registry(data_dir: Path) -> dict[str, ModelEntry]:
    """The built-in registry plus the user's entries."""
    return load_registry(extra_files=[user_registry_file(data_dir)])


def suggest_id(folder: Path) -> str:
    """A registry id from a folder name: lower case, runs of other characters become '-'."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", Path(folder).name.lower()).strip("-._")
    return slug[:64] or "user-model"


def add_user_model(folder: str | Path, models_root: Path, data_dir: Path, model_id: str | None = None,
                   label: str | None = None) -> ModelEntry:
    """Validate `folder` and append it to `<data_dir>/models.yaml`; return the new entry."""
    if not str(folder).strip():
        raise ValidationError("give the path of a checkpoint folder inside the models folder.")
    resolved = ensure_inside(Path(str(folder).strip()), [Path(models_root)], "model folder")
    # A Hugging Face snapshot's files may resolve anywhere in its repo folder; that must be inside too.
    ensure_inside(containment_root(resolved), [Path(models_root)], "model folder")
    check_model_folder(resolved)
    family = family_of_folder(resolved)
    registry_file = user_registry_file(data_dir)
    registry = load_registry(extra_files=[registry_file])
    model_id = (model_id or "").strip() or suggest_id(resolved)
    if not _ID_PATTERN.match(model_id):
        raise ValidationError(f"model id '{model_id}' must be 1-64 characters of a-z, 0-9, '.', '_' or '-', "
                              "starting with a letter or digit.")
    if model_id in registry:
        raise ValidationError(f"model id '{model_id}' is already in the registry; choose another id.")
    for entry in registry.values():
        if entry.source_kind == "folder" and Path(entry.source).expanduser().resolve() == resolved:
            raise ValidationError(f"folder '{resolved}' is already registered as '{entry.id}'.")
    version, _, _ = version_entry(resolved, family, registry)
    item = {
        "id": model_id,
        "family": family,
        "label": (label or "").strip() or f"{resolved.name} (added)",
        "folder": str(resolved),
        "defaults": {k: v for k, v in asdict(version.defaults).items() if v is not None},
        "dtypes": dict(version.dtypes),
    }
    raw = {}
    if registry_file.exists():
        raw = yaml.safe_load(registry_file.read_text(encoding="utf-8")) or {}
    models = list(raw.get("models") or [])
    models.append(item)
    write_text_atomic(registry_file, _HEADER + yaml.safe_dump({"models": models}, sort_keys=False))
    return load_registry(extra_files=[registry_file])[model_id]
