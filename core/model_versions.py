"""Which published version a checkpoint is, and the rules its configs imply, without loading weights.

The Models and Generate pages show a model's rules before it loads. They come from the same family
code the engine enforces (`family.constraints(pipe)`), run on a stand-in pipeline that carries only the
components' configs: the folder's own `config.json` files when the model is installed, else the
published checkpoint's config values that the registry entry records under `published:`. Rules are
never typed into the registry; only the configs the rules are computed from are.

A folder given by path takes the defaults of the registry version its configs match (`identify:` keys
such as `transformer.patch_size_t: 2`), not the first entry of its family.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from core.errors import ModelUnavailableError, ValidationError

if TYPE_CHECKING:
    from core.registry import ModelEntry

_CONFIG_FILES = ("config.json", "scheduler_config.json")
_MISSING = object()


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"'{path}' is unreadable or not valid JSON ({exc}).") from None


def folder_configs(folder: Path) -> dict[str, dict]:
    """{"model_index": model_index.json, component: its config.json} for every listed model/scheduler."""
    folder = Path(folder)
    configs = {"model_index": _json(folder / "model_index.json")}
    listed = [name for name, spec in configs["model_index"].items() if isinstance(spec, list) and spec[0]]
    for name in listed:
        for file_name in _CONFIG_FILES:
            if (folder / name / file_name).is_file():
                configs[name] = _json(folder / name / file_name)
                break
    return configs


def _with_class_defaults(config: dict) -> dict:
    """The config as `from_config` would see it: the class's init defaults under the saved values.

    Published config.json files were written by older diffusers releases and may lack arguments added
    since (e.g. Wan's `scale_factor_spatial`); the loaded model has them, so the stand-in must too.
    """
    import diffusers

    cls = getattr(diffusers, str(config.get("_class_name", "")), None)
    if cls is None:
        return dict(config)
    defaults = {name: parameter.default for name, parameter in inspect.signature(cls.__init__).parameters.items()
                if parameter.default is not inspect.Parameter.empty}
    return {**defaults, **config}


@dataclass(frozen=True)
class _Component:
    """A component reduced to its config, which is all a family's rule code reads."""

    config: Any


def stand_in(configs: dict[str, dict]) -> Any:
    """A pipeline-shaped object whose components carry only `.config` (attribute and `.get` access)."""
    from diffusers.configuration_utils import FrozenDict

    index = {k: v for k, v in configs.get("model_index", {}).items() if not k.startswith("_")
             and not isinstance(v, list)}
    parts = {name: _Component(FrozenDict(_with_class_defaults(config)))
             for name, config in configs.items() if name != "model_index"}
    return SimpleNamespace(config=FrozenDict(index), **parts)


def config_value(configs: dict[str, dict], key: str) -> Any:
    """`component.field` (e.g. "transformer.patch_size_t", "model_index.boundary_ratio") or _MISSING."""
    component, _, field = key.partition(".")
    return configs.get(component, {}).get(field, _MISSING)


def matches(identify: dict[str, Any], configs: dict[str, dict]) -> bool:
    """True when every identifying config value is present with that value (lists compare as lists)."""
    return bool(identify) and all(config_value(configs, key) == value for key, value in identify.items())


@dataclass(frozen=True)
class Identified:
    """The registry version a folder matches (None when unrecognised) and what to tell the user."""

    entry: "ModelEntry | None"
    note: str = ""


def identify_version(folder: Path, family: str, registry: dict[str, "ModelEntry"]) -> Identified:
    """The registry entry of `family` whose `identify:` values the folder's configs carry.

    Several equal matches (Wan 2.1 480p and 720p share every config) are told apart by the hub id in
    the folder's path, as the Hugging Face cache names it (`models--Wan-AI--Wan2.1-I2V-14B-720P-...`).
    """
    configs = folder_configs(folder)
    candidates = [e for e in registry.values() if e.family == family and matches(e.identify, configs)]
    if not candidates:
        return Identified(None, f"unrecognised {family} version: its rules are read from its own config, "
                                "and its defaults are those of the family's first registry entry")
    path_text = str(Path(folder).resolve()).lower()
    named = [e for e in candidates if e.source_kind == "hub" and
             (e.source.lower() in path_text or e.source.lower().replace("/", "--") in path_text)]
    chosen = (named or candidates)[0]
    if len(candidates) > 1 and not named:
        others = ", ".join(e.id for e in candidates[1:])
        return Identified(chosen, f"this folder's configs match {chosen.id} and {others} equally; "
                                  f"it takes {chosen.id}'s defaults")
    return Identified(chosen)


def entry_configs(entry: "ModelEntry") -> dict[str, dict]:
    """The configs an entry's rules come from: the installed folder's own, else the published ones."""
    from core.registry import entry_folder

    try:
        folder, _ = entry_folder(entry)
        return folder_configs(folder)
    except (ModelUnavailableError, ValidationError):
        return entry.published


def entry_rules(entry: "ModelEntry") -> str:
    """The rules the engine will enforce for this entry, in one line (Models page, Generate info, CLI)."""
    from core.families import get_family

    configs = entry_configs(entry)
    if not any(name != "model_index" for name in configs):
        return "rules are read from the checkpoint's configs when it loads"
    try:
        return get_family(entry.family).constraints(stand_in(configs)).describe()
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        return f"rules unavailable, because its configs lack a field the rules read ({exc})"
