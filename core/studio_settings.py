"""Settings files and the per-session list of recent generations.

A settings file lets another person reproduce a clip: it holds the request (scenario, prompt,
guidance, steps, frames, fps, seed, model) and the SHA-256 of the first frame it was made from, but
never a server path. Importing accepts a settings file, a clip's manifest (the seed actually used is
taken from its result, so a random-seed clip reproduces exactly) or a bare request object.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from core.errors import ValidationError
from core.request import GenerationRequest

SETTINGS_FORMAT = "scenario-studio-settings"
SETTINGS_VERSION = 1
MAX_SETTINGS_BYTES = 256 * 1024  # a request is ~1 KB; a manifest with provenance ~5 KB
HISTORY_LIMIT = 20  # recent generations kept per browser session

# Request fields that reproduce a clip; the image is exchanged as a hash, not a path.
REPRODUCIBLE_FIELDS = ("scenario", "slots", "prompt", "negative_prompt", "guidance_scale", "num_inference_steps",
                       "num_frames", "fps", "seed", "width", "height", "model", "adapters")
# Fields the engine fills from model defaults; a manifest records the values it actually used.
_SETTLED_FIELDS = ("guidance_scale", "num_inference_steps", "num_frames", "fps", "width", "height")


def export_settings(request: GenerationRequest, first_frame_sha256: str | None = None) -> dict[str, Any]:
    """The JSON object written by "Export settings"."""
    payload = request.to_json()
    return {
        "format": SETTINGS_FORMAT,
        "version": SETTINGS_VERSION,
        "exported_utc": datetime.now(timezone.utc).isoformat(),
        "first_frame_sha256": first_frame_sha256,
        "request": {key: payload[key] for key in REPRODUCIBLE_FIELDS},
    }


def parse_settings(data: bytes | str, name: str = "settings file") -> tuple[GenerationRequest, str | None]:
    """Read a settings file, manifest or request JSON; return the request and the first-frame hash."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_SETTINGS_BYTES:
        raise ValidationError(f"{name} is {len(data) // 1024} KB; a settings file is at most "
                              f"{MAX_SETTINGS_BYTES // 1024} KB.")
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(f"{name} is not a JSON file; export one from the Generate page or use a clip's "
                              "manifest.") from None
    if not isinstance(payload, dict):
        raise ValidationError(f"{name} must hold a JSON object with the generation settings.")
    image_hash = None
    if payload.get("format") == SETTINGS_FORMAT:
        raw_request, image_hash = payload.get("request"), payload.get("first_frame_sha256")
    elif isinstance(payload.get("request"), dict) and isinstance(payload.get("result"), dict):
        raw_request = dict(payload["request"])
        result = payload["result"]
        settled = (result.get("provenance") or {}).get("settings") or {}
        # Reproduce exactly: take the seed used and every value the engine settled from defaults.
        raw_request["seed"] = result.get("seed", raw_request.get("seed"))
        for key in _SETTLED_FIELDS:
            if raw_request.get(key) is None and settled.get(key) is not None:
                raw_request[key] = settled[key]
        image_hash = (result.get("provenance") or {}).get("input_image_sha256")
    else:
        raw_request = payload
    if not isinstance(raw_request, dict):
        raise ValidationError(f"{name} has no 'request' object with the generation settings.")
    raw_request = {key: raw_request[key] for key in REPRODUCIBLE_FIELDS if key in raw_request}
    try:
        request = GenerationRequest.from_json(raw_request)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValidationError(f"{name} has malformed settings ({exc}).") from None
    if not request.model:
        raise ValidationError(f"{name} does not name a model.")
    return request, image_hash


@dataclass(frozen=True)
class HistoryEntry:
    """One generation in this session's "recent generations" list."""

    created_utc: str
    label: str  # scenario label or the start of the prompt
    seed: int
    model_id: str
    mp4_path: str
    manifest_path: str
    total_s: float
    request: dict[str, Any]
    image_path: str | None  # the first frame as uploaded, so restoring can show it again

    def caption(self) -> str:
        return f"{self.label} · seed {self.seed}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def history_entry(manifest: dict[str, Any], label: str) -> HistoryEntry:
    """Build a history entry from a clip's manifest (as written by the engine)."""
    result, request = manifest["result"], manifest["request"]
    image = request.get("image")
    return HistoryEntry(
        created_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        label=label, seed=int(result["seed"]), model_id=str(result["model_id"]),
        mp4_path=str(result["mp4_path"]), manifest_path=str(result["manifest_path"]),
        total_s=float((result.get("timings") or {}).get("total_s", 0.0)),
        request=dict(request), image_path=image if isinstance(image, str) and not image.startswith("<") else None)


def push_history(entries: list[HistoryEntry], entry: HistoryEntry, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Newest first, at most `limit` entries; returns a new list (session state is replaced, not mutated)."""
    return [entry, *entries][:limit]
