"""Finding the clips of an audit-existing run, and the reference clips of each condition.

Existing clips are video files under a folder (searched recursively, hidden files skipped). Each
clip's condition comes from, in order:

1. the labels CSV when one is given (columns `clip` and `condition`, or `clip` and `category`; clip
   paths relative to the clips folder, and they must stay inside it);
2. the JSON beside the clip: an engine manifest (`result.provenance.slots`, or the request's
   scenario or slots) or a procedural clip's labels (`core.synth.clip_labels`: `conditions`, ...).

A clip that neither names is skipped (`SkippedClip`, with its reason) and the audit goes on.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.audit.records import ClipIdentity, SkippedClip
from core.errors import ValidationError
from core.video_io import VIDEO_SUFFIXES, video_files


@dataclass(frozen=True, kw_only=True)
class ExistingClip(ClipIdentity):
    """A clip found on disk: its identity, where it is, and what its manifest or the labels CSV says about it."""

    path: Path
    manifest: Path | None = None
    model_id: str | None = None
    weights_sha256: str | None = None
    adapters: list[dict[str, Any]] = field(default_factory=list)


def _clip_id(path: Path, folder: Path) -> str:
    relative = path.relative_to(folder).with_suffix("")
    return "__".join(relative.parts)


def read_manifest(path: Path) -> dict[str, Any]:
    """What a clip's sidecar JSON says: slots, category, seed, prompt, image, model, weights hash."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ValidationError(f"manifest '{sidecar}' is not valid JSON.") from None
    if not isinstance(data, dict):
        return {}
    info: dict[str, Any] = {"manifest": sidecar}
    if "result" in data or "request" in data:  # an engine manifest
        result, request = data.get("result") or {}, data.get("request") or {}
        provenance = result.get("provenance") or {}
        slots = provenance.get("slots") or request.get("slots") or {}
        model = provenance.get("model") or {}
        info.update(event=slots.get("event"), condition=slots.get("conditions"), road=slots.get("road"),
                    category=request.get("scenario"), seed=result.get("seed"), prompt=result.get("prompt"),
                    image=request.get("image"), model_id=result.get("model_id") or model.get("id"),
                    weights_sha256=model.get("weights_sha256"), adapters=provenance.get("adapters") or [],
                    labels_source=provenance.get("labels_source"))
    elif "conditions" in data:  # procedural labels (core.synth.clip_labels)
        info.update(event=data.get("event"), condition=data.get("conditions"), road=data.get("road"),
                    seed=data.get("seed"), prompt=data.get("prompt"), model_id=data.get("generator"))
    return info


def read_labels(csv_path: Path, folder: Path) -> dict[Path, dict[str, str]]:
    """clip path -> {"condition": id} or {"category": id} from a labels CSV."""
    from core.paths import ensure_inside

    if not csv_path.is_file():
        raise ValidationError(f"labels file '{csv_path}' does not exist.")
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error):
        raise ValidationError(f"labels file '{csv_path}' is not a readable UTF-8 CSV.") from None
    columns = {c.strip().lower() for c in (rows[0].keys() if rows else [])}
    kind = "condition" if "condition" in columns else "category" if "category" in columns else None
    if "clip" not in columns or kind is None:
        raise ValidationError(f"labels file '{csv_path}' needs a header with columns 'clip' and 'condition' "
                              f"(or 'clip' and 'category').")
    labels: dict[Path, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not row.get("clip"):
            raise ValidationError(f"labels file '{csv_path}' line {line}: the 'clip' cell is empty.")
        path = ensure_inside(folder / row["clip"], [folder], f"labels file line {line}: clip")
        if not path.is_file():
            raise ValidationError(f"labels file '{csv_path}' line {line}: clip '{row['clip']}' does not exist.")
        labels[path] = {kind: row.get(kind, "")}
    if not labels:
        raise ValidationError(f"labels file '{csv_path}' lists no clips.")
    return labels


def existing_clips(folder: str | Path, labels_csv: str | Path | None, group_by: str = "conditions",
                   groups: list[str] | None = None) -> list[ExistingClip]:
    """The clips to audit under `folder` (see scan_existing_clips; the skipped ones are left out)."""
    return scan_existing_clips(folder, labels_csv, group_by, groups)[0]


def scan_existing_clips(folder: str | Path, labels_csv: str | Path | None, group_by: str = "conditions",
                        groups: list[str] | None = None) -> tuple[list[ExistingClip], list[SkippedClip]]:
    """The clips to audit under `folder`, each with its condition (and category when grouping by categories),
    and the clips that cannot be audited, each with the one sentence that says why.

    A clip whose own files do not say what it shows (no manifest, an unreadable one, or one naming no
    known condition) is skipped, so that one stray file does not stop the audit of the others. A wrong
    labels CSV is the user's own input and is refused as a whole. `groups`, when given, keeps only
    clips of those condition (or category) ids.
    """
    from core.catalogue import default_catalogue

    catalogue = default_catalogue()
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise ValidationError(f"clips folder '{folder}' does not exist or is not a folder.")
    labels = read_labels(Path(labels_csv).expanduser(), folder) if labels_csv else None
    if labels is not None:
        _check_labels(labels, Path(labels_csv), catalogue)
    paths = sorted(labels) if labels is not None else video_files(folder)
    if not paths:
        raise ValidationError(f"clips folder '{folder}' holds no video files ({', '.join(VIDEO_SUFFIXES)}).")
    found: list[ExistingClip] = []
    skipped: list[SkippedClip] = []
    for path in paths:
        try:
            found.append(_existing_clip(path, folder, labels[path] if labels is not None else None, group_by,
                                        catalogue))
        except ValidationError as exc:
            skipped.append(SkippedClip(clip_id=_clip_id(path, folder), path=str(path), reason=str(exc)))
    if not found:
        raise ValidationError(f"no clip under '{folder}' can be audited: {skipped[0].reason}")
    clips = [clip for clip in found if groups is None or clip.group in groups]
    if not clips:
        raise ValidationError(f"no clip under '{folder}' belongs to the audited {group_by}: {', '.join(groups or [])}.")
    return clips, skipped


def _check_labels(labels: dict[Path, dict[str, str]], csv_path: Path, catalogue: Any) -> None:
    """Every label names a known condition or category (raises for the first that does not)."""
    for path, label in labels.items():
        ((kind, value),) = label.items()
        if not value:
            raise ValidationError(f"labels file '{csv_path}': the '{kind}' cell of clip '{path.name}' is empty.")
        if kind == "category":
            catalogue.slots_for(value)
        else:
            catalogue.condition(value)


def _existing_clip(path: Path, folder: Path, label: dict[str, str] | None, group_by: str,
                   catalogue: Any) -> ExistingClip:
    """One clip with its labels; raises ValidationError (one sentence) when it cannot be audited."""
    info = read_manifest(path)
    if label is not None:
        if "category" in label:
            info["category"] = label["category"]
            info["condition"] = None
        else:
            info["condition"] = label["condition"]
    category = info.get("category")
    if category:
        slots = catalogue.slots_for(category)  # validates the id
        info["condition"] = info.get("condition") or slots.conditions
        info["event"], info["road"] = info.get("event") or slots.event, info.get("road") or slots.road
    condition = info.get("condition")
    if not condition:
        raise ValidationError(f"clip '{path.name}' has no manifest naming its condition; give a labels CSV "
                              f"with columns clip,condition.")
    catalogue.condition(condition)
    if group_by == "categories" and not category:
        raise ValidationError(f"clip '{path.name}' has no category (scenario id) in its manifest or the "
                              f"labels CSV, so it cannot be audited by category.")
    return ExistingClip(
        clip_id=_clip_id(path, folder), path=path, group=category if group_by == "categories" else condition,
        condition=condition, event=info.get("event"), road=info.get("road"), category=category,
        manifest=info.get("manifest"), seed=info.get("seed"), prompt=info.get("prompt"), image=info.get("image"),
        model_id=info.get("model_id"), weights_sha256=info.get("weights_sha256"),
        adapters=list(info.get("adapters") or []))


def reference_folder(reference: str | Path | None, group: str, condition: str) -> Path | None:
    """The reference folder of a group: reference/<group id>/, else reference/<condition id>/, if it has clips."""
    if not reference:
        return None
    root = Path(reference).expanduser()
    for name in (group, condition):
        candidate = root / name
        if candidate.is_dir() and video_files(candidate):
            return candidate
    return None
