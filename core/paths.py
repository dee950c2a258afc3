"""Where the studio's bundled files and its working folders live.

The package is installed editable from a checkout (see README), so bundled assets and configs are
found relative to this file rather than copied into site-packages.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ASSETS_DIR = PROJECT_ROOT / "assets"
CONFIGS_DIR = PROJECT_ROOT / "configs"
SAMPLE_FRAMES_DIR = ASSETS_DIR / "sample_frames"
DEFAULT_MODEL_DIR = ASSETS_DIR / "default_model"


def data_dir() -> Path:
    """Folder for generated clips and manifests; SCENARIO_STUDIO_DATA overrides the default."""
    return Path(os.environ.get("SCENARIO_STUDIO_DATA", Path.home() / ".scenario-studio")).expanduser()


def models_dir() -> Path:
    """Folder under which user checkpoint folders may be added; SCENARIO_STUDIO_MODELS overrides it."""
    return Path(os.environ.get("SCENARIO_STUDIO_MODELS", data_dir() / "models")).expanduser()


def ensure_inside(path: Path, allowed_roots: list[Path], what: str) -> Path:
    """Resolve `path` and refuse it unless it lies inside one of `allowed_roots`.

    Symlinks are resolved first, so a link pointing outside an allowed folder is refused too.
    """
    from core.errors import ValidationError

    resolved = Path(path).expanduser().resolve()
    for root in allowed_roots:
        root_resolved = Path(root).expanduser().resolve()
        if resolved == root_resolved or root_resolved in resolved.parents:
            return resolved
    allowed = ", ".join(str(Path(r).expanduser().resolve()) for r in allowed_roots)
    raise ValidationError(f"{what} '{path}' is outside the allowed folders ({allowed}).")
