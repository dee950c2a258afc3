"""The bundled sample first frames (assets/sample_frames) and what their index says about each.

index.json lists, per PNG, the scenario slots (catalogue ids) of the procedural clip whose frame 0 it
is. The studio shows them as clickable samples; audits rotate through them; and knowing a frame's
condition tells the metrics when a clip asks for a condition change (see the colour-drift detector).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from core.paths import SAMPLE_FRAMES_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleFrame:
    """One bundled frame: its PNG path and the slots (catalogue ids) of the scene it shows."""

    path: Path
    conditions: str
    event: str
    road: str


def load_sample_frames(folder: Path = SAMPLE_FRAMES_DIR) -> list[SampleFrame]:
    """The frames index.json lists whose file exists, in index order; [] without a readable index."""
    index = folder / "index.json"
    try:
        raw = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("no readable sample-frame index at %s", index)
        return []
    frames = []
    for item in raw.get("samples", []) if isinstance(raw, dict) else []:
        if not isinstance(item, dict) or not item.get("file"):
            continue
        # Only the file name counts: an index entry cannot point outside the samples folder.
        path = folder / Path(str(item["file"])).name
        if path.is_file() and not path.name.startswith("."):  # dot-files: half-written temporaries
            frames.append(SampleFrame(path, str(item.get("conditions")), str(item.get("event")), str(item.get("road"))))
    return frames


def sample_conditions_by_path(folder: Path = SAMPLE_FRAMES_DIR) -> dict[Path, str]:
    """Resolved PNG path -> the condition each bundled sample frame shows (one index read)."""
    return {s.path.resolve(): s.conditions for s in load_sample_frames(folder)}


def sample_frame_condition(image: str | Path | None, shown_by_path: dict[Path, str] | None = None) -> str | None:
    """The condition a bundled sample frame shows, or None for any other image (condition unknown).

    shown_by_path: a sample_conditions_by_path() table, for callers that look up many images."""
    if not image:
        return None
    table = sample_conditions_by_path() if shown_by_path is None else shown_by_path
    return table.get(Path(image).resolve())


def asks_condition_change(shown: str | None, requested: str | None) -> bool:
    """Whether a clip asks for another condition than its first frame shows; False when either is unknown."""
    return shown is not None and requested is not None and shown != requested
